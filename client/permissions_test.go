package client

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"mlsbridge/wire/content"
)

// defaultPolicySet returns libxmtp's "all members" preset
// (PreconfiguredPolicies::Default, xmtp-groups.md §3.2), the permissions of
// a group created without a policy: anyone adds, admins remove, anyone
// edits name/description/image/app data, admins change disappearing
// settings, super admins change the minimum version, admins and
// permissions.
// It is written here from xmtp-groups.md §3.2 with the wire types, as an
// oracle for the bytes policy.Default gives a new group.
func defaultPolicySet() *content.PolicySet {
	member := func(b content.MembershipPolicy_BasePolicy) *content.MembershipPolicy {
		return &content.MembershipPolicy{Kind: &content.MembershipPolicy_Base{Base: b}}
	}
	meta := func(b content.MetadataPolicy_MetadataBasePolicy) *content.MetadataPolicy {
		return &content.MetadataPolicy{Kind: &content.MetadataPolicy_Base{Base: b}}
	}
	perm := func(b content.PermissionsUpdatePolicy_PermissionsBasePolicy) *content.PermissionsUpdatePolicy {
		return &content.PermissionsUpdatePolicy{Kind: &content.PermissionsUpdatePolicy_Base{Base: b}}
	}
	allow := content.MetadataPolicy_METADATA_BASE_POLICY_ALLOW
	admin := content.MetadataPolicy_METADATA_BASE_POLICY_ALLOW_IF_ADMIN
	super := content.MetadataPolicy_METADATA_BASE_POLICY_ALLOW_IF_SUPER_ADMIN
	superOnly := content.PermissionsUpdatePolicy_PERMISSIONS_BASE_POLICY_ALLOW_IF_SUPER_ADMIN
	return &content.PolicySet{
		AddMemberPolicy:    member(content.MembershipPolicy_BASE_POLICY_ALLOW),
		RemoveMemberPolicy: member(content.MembershipPolicy_BASE_POLICY_ALLOW_IF_ADMIN_OR_SUPER_ADMIN),
		UpdateMetadataPolicy: map[string]*content.MetadataPolicy{
			AttrGroupName:       meta(allow),
			AttrDescription:     meta(allow),
			AttrImageURLSquare:  meta(allow),
			AttrAppData:         meta(allow),
			AttrDisappearFromNs: meta(admin),
			AttrDisappearInNs:   meta(admin),
			AttrMinVersion:      meta(super),
		},
		AddAdminPolicy:          perm(superOnly),
		RemoveAdminPolicy:       perm(superOnly),
		UpdatePermissionsPolicy: perm(superOnly),
	}
}

// TestNewGroupPermissionsAreDefaultPreset checks the 0xFF02 extension of a
// new group against the spec's "all members" preset.
func TestNewGroupPermissionsAreDefaultPreset(t *testing.T) {
	exts, err := newGroupExtensions(testRand(20), testInbox, &GroupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := findExt(exts, ExtensionGroupPermissions)
	if !ok {
		t.Fatal("no permissions extension")
	}
	var got content.GroupMutablePermissionsV1
	if err := proto.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := &content.GroupMutablePermissionsV1{Policies: defaultPolicySet()}
	if !proto.Equal(&got, want) {
		t.Fatalf("permissions = %v, want %v", &got, want)
	}
}
