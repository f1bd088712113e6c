package policy

import (
	"fmt"
	"maps"
)

// PolicySet is a group's permissions: the content of GroupContext
// extension 0xFF02 (xmtp-groups §3.1). There is no field for adding or
// removing super admins: those rules are hard-coded (xmtp-groups §3.4).
//
// A PolicySet is a value, but UpdateMetadata is a map: use [PolicySet.Clone]
// before changing a set someone else holds. A nil map means no attribute
// has an explicit policy.
type PolicySet struct {
	AddMember    MembershipPolicy
	RemoveMember MembershipPolicy
	// UpdateMetadata maps attribute keys to their policies. Keys without an
	// entry fall back to [MetadataField.FallbackPolicy].
	UpdateMetadata map[MetadataField]MetadataPolicy
	AddAdmin       PermissionsPolicy
	RemoveAdmin    PermissionsPolicy
	// UpdatePermissions is stored and carried but never consulted: libxmtp
	// lets exactly the super admins change permissions, whatever it says
	// (xmtp-groups §3.4). It can be set only when a group is created.
	UpdatePermissions PermissionsPolicy
}

// Validate returns an error wrapping [ErrInvalidPolicy] naming the first
// invalid policy. A valid set whose policies avoid [AllowSameMember] can be
// encoded with [Marshal].
func (s PolicySet) Validate() error {
	check := func(name string, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	if err := check("add_member_policy", s.AddMember.Validate()); err != nil {
		return err
	}
	if err := check("remove_member_policy", s.RemoveMember.Validate()); err != nil {
		return err
	}
	for _, f := range sortedFields(s.UpdateMetadata) {
		if err := check("update_metadata_policy["+string(f)+"]", s.UpdateMetadata[f].Validate()); err != nil {
			return err
		}
	}
	if err := check("add_admin_policy", s.AddAdmin.Validate()); err != nil {
		return err
	}
	if err := check("remove_admin_policy", s.RemoveAdmin.Validate()); err != nil {
		return err
	}
	return check("update_permissions_policy", s.UpdatePermissions.Validate())
}

// Equal reports whether s and t are the same policy set, as libxmtp
// compares them to decide whether a commit changed permissions: metadata
// entries in any order, combinator children in order. A nil map equals an
// empty one.
func (s PolicySet) Equal(t PolicySet) bool {
	return s.AddMember.Equal(t.AddMember) &&
		s.RemoveMember.Equal(t.RemoveMember) &&
		s.AddAdmin.Equal(t.AddAdmin) &&
		s.RemoveAdmin.Equal(t.RemoveAdmin) &&
		s.UpdatePermissions.Equal(t.UpdatePermissions) &&
		maps.EqualFunc(s.UpdateMetadata, t.UpdateMetadata, MetadataPolicy.Equal)
}

// Clone returns a copy of s with its own UpdateMetadata map.
func (s PolicySet) Clone() PolicySet {
	s.UpdateMetadata = maps.Clone(s.UpdateMetadata)
	return s
}

// MetadataPolicyFor returns the policy that guards f, and whether s names
// it explicitly; when it does not, the result is f's fallback
// ([MetadataField.FallbackPolicy]).
func (s PolicySet) MetadataPolicyFor(f MetadataField) (MetadataPolicy, bool) {
	if p, ok := s.UpdateMetadata[f]; ok {
		return p, true
	}
	return f.FallbackPolicy(), false
}

// Preset names a preconfigured policy set. The zero value is [PresetCustom].
type Preset uint8

const (
	// PresetCustom is any set that is not recognised as a preset.
	PresetCustom Preset = iota
	// PresetDefault is libxmtp's "all members" preset
	// (PreconfiguredPolicies::Default), used when a group is created
	// without a policy.
	PresetDefault
	// PresetAdminsOnly is libxmtp's "admins only" preset.
	PresetAdminsOnly
	// PresetDM is the policy set of every DM (PolicySet::new_dm). Like
	// libxmtp, [PolicySet.Preset] reports a DM's set as [PresetCustom].
	PresetDM
)

// String returns "custom", "default", "admins_only" or "dm".
func (p Preset) String() string {
	switch p {
	case PresetCustom:
		return "custom"
	case PresetDefault:
		return "default"
	case PresetAdminsOnly:
		return "admins_only"
	case PresetDM:
		return "dm"
	}
	return fmt.Sprintf("Preset(%d)", uint8(p))
}

// ParsePreset parses "default" (or "all_members"), "admins_only" or "dm",
// for configuration (STYLE.md §8: presets are parsed while loading). Other
// names, "custom" included, give an error wrapping [ErrInvalidPolicy].
func ParsePreset(s string) (Preset, error) {
	switch s {
	case "default", "all_members":
		return PresetDefault, nil
	case "admins_only":
		return PresetAdminsOnly, nil
	case "dm":
		return PresetDM, nil
	}
	return PresetCustom, fmt.Errorf("%w: unknown preset %q (want default, all_members, admins_only or dm)", ErrInvalidPolicy, s)
}

// PolicySet returns a fresh copy of the preset's policy set, and false for
// [PresetCustom] or an unknown preset.
func (p Preset) PolicySet() (PolicySet, bool) {
	switch p {
	case PresetDefault:
		return Default(), true
	case PresetAdminsOnly:
		return AdminsOnly(), true
	case PresetDM:
		return DM(), true
	}
	return PolicySet{}, false
}

// Default returns libxmtp's "all members" preset (xmtp-groups §3.2): anyone
// adds members; admins remove them; anyone edits name, description, image
// and app data; admins change the disappearing-message settings; super
// admins change the minimum protocol version, the admin lists and the
// permissions.
func Default() PolicySet {
	return PolicySet{
		AddMember:         NewMembershipPolicy(Allow),
		RemoveMember:      NewMembershipPolicy(AllowIfAdmin),
		UpdateMetadata:    presetMetadata(Allow),
		AddAdmin:          NewPermissionsPolicy(AllowIfSuperAdmin),
		RemoveAdmin:       NewPermissionsPolicy(AllowIfSuperAdmin),
		UpdatePermissions: NewPermissionsPolicy(AllowIfSuperAdmin),
	}
}

// AdminsOnly returns libxmtp's "admins only" preset (xmtp-groups §3.2):
// admins add and remove members and edit every supported attribute but the
// minimum protocol version, which, like the admin lists and the
// permissions, is super-admin-only.
func AdminsOnly() PolicySet {
	return PolicySet{
		AddMember:         NewMembershipPolicy(AllowIfAdmin),
		RemoveMember:      NewMembershipPolicy(AllowIfAdmin),
		UpdateMetadata:    presetMetadata(AllowIfAdmin),
		AddAdmin:          NewPermissionsPolicy(AllowIfSuperAdmin),
		RemoveAdmin:       NewPermissionsPolicy(AllowIfSuperAdmin),
		UpdatePermissions: NewPermissionsPolicy(AllowIfSuperAdmin),
	}
}

// DM returns the policy set of a DM (xmtp-groups §3.2): no one adds or
// removes members or changes admins or permissions; either member may
// change every supported attribute.
func DM() PolicySet {
	md := make(map[MetadataField]MetadataPolicy, 7)
	for _, f := range SupportedFields() {
		md[f] = NewMetadataPolicy(Allow)
	}
	return PolicySet{
		AddMember:         NewMembershipPolicy(Deny),
		RemoveMember:      NewMembershipPolicy(Deny),
		UpdateMetadata:    md,
		AddAdmin:          NewPermissionsPolicy(Deny),
		RemoveAdmin:       NewPermissionsPolicy(Deny),
		UpdatePermissions: NewPermissionsPolicy(Deny),
	}
}

// presetMetadata gives the supported fields the group presets' policies:
// others for name, description, image and app data, admin-only for the
// disappearing settings and super-admin-only for the minimum version.
func presetMetadata(others BasePolicy) map[MetadataField]MetadataPolicy {
	md := make(map[MetadataField]MetadataPolicy, 7)
	for _, f := range SupportedFields() {
		md[f] = NewMetadataPolicy(presetFieldBase(f, others))
	}
	return md
}

func presetFieldBase(f MetadataField, others BasePolicy) BasePolicy {
	switch f {
	case FieldMessageDisappearFromNS, FieldMessageDisappearInNS:
		return AllowIfAdmin
	case FieldMinimumSupportedProtocolVersion:
		return AllowIfSuperAdmin
	}
	return others
}

// Preset recognises s as libxmtp does for display (xmtp-groups §3.2):
// [PresetDefault] or [PresetAdminsOnly] when the membership and permissions
// policies match and every metadata entry present matches the preset
// (missing entries are tolerated, as older groups have fewer), else
// [PresetCustom]. A DM's set is reported as [PresetCustom], as libxmtp does.
func (s PolicySet) Preset() Preset {
	super := NewPermissionsPolicy(AllowIfSuperAdmin)
	if !s.AddAdmin.Equal(super) || !s.RemoveAdmin.Equal(super) || !s.UpdatePermissions.Equal(super) ||
		!s.RemoveMember.Equal(NewMembershipPolicy(AllowIfAdmin)) {
		return PresetCustom
	}
	matches := func(others BasePolicy) bool {
		for f, p := range s.UpdateMetadata {
			if !p.Equal(NewMetadataPolicy(presetFieldBase(f, others))) {
				return false
			}
		}
		return true
	}
	switch {
	case s.AddMember.Equal(NewMembershipPolicy(Allow)) && matches(Allow):
		return PresetDefault
	case s.AddMember.Equal(NewMembershipPolicy(AllowIfAdmin)) && matches(AllowIfAdmin):
		return PresetAdminsOnly
	}
	return PresetCustom
}

// PermissionUpdateType names the policy [UpdatePermissionPolicy] replaces.
// The numbers are libxmtp's (xmtp-groups §3.3). There is deliberately no
// type for update_permissions_policy: it is set only at creation.
type PermissionUpdateType uint8

const (
	UpdateAddMember PermissionUpdateType = iota + 1
	UpdateRemoveMember
	UpdateAddAdmin
	UpdateRemoveAdmin
	// UpdateMetadataField replaces the policy of one attribute.
	UpdateMetadataField
)

// String returns libxmtp's name: "add_member", "remove_member",
// "add_admin", "remove_admin" or "update_metadata".
func (t PermissionUpdateType) String() string {
	switch t {
	case UpdateAddMember:
		return "add_member"
	case UpdateRemoveMember:
		return "remove_member"
	case UpdateAddAdmin:
		return "add_admin"
	case UpdateRemoveAdmin:
		return "remove_admin"
	case UpdateMetadataField:
		return "update_metadata"
	}
	return fmt.Sprintf("PermissionUpdateType(%d)", uint8(t))
}

// UpdatePermissionPolicy returns a copy of s with one policy replaced by
// the base policy b, as libxmtp's update_permission_policy builds the new
// 0xFF02 extension (xmtp-groups §3.3); every other policy is copied
// unchanged. It does not check who may make the change: evaluate the
// resulting commit with [Evaluate] (only super admins may).
//
// Validity, each failure an error wrapping [ErrInvalidPermissionUpdate]:
//   - t is one of the five types; field is non-empty exactly when t is
//     [UpdateMetadataField] (only that entry is inserted or replaced);
//   - b is [Allow], [Deny], [AllowIfAdmin] or [AllowIfSuperAdmin] (libxmtp's
//     PermissionPolicyOption has no same-member option);
//   - b is not [Allow] for [UpdateAddAdmin] or [UpdateRemoveAdmin]:
//     permissions policies have no ALLOW. libxmtp silently stores
//     super-admin-only instead; we refuse, so the caller can say so.
//
// DMs refuse every permission update on the sender side; [EvaluateIntent]
// enforces that.
func UpdatePermissionPolicy(s PolicySet, t PermissionUpdateType, b BasePolicy, field MetadataField) (PolicySet, error) {
	if b < Allow || b > AllowIfSuperAdmin {
		return PolicySet{}, fmt.Errorf("%w: %s is not a permission policy option (want allow, deny, admin or super_admin)", ErrInvalidPermissionUpdate, b)
	}
	if (t == UpdateMetadataField) != (field != "") {
		if field == "" {
			return PolicySet{}, fmt.Errorf("%w: update_metadata needs a metadata field", ErrInvalidPermissionUpdate)
		}
		return PolicySet{}, fmt.Errorf("%w: a metadata field goes only with update_metadata, not %s", ErrInvalidPermissionUpdate, t)
	}
	out := s.Clone()
	switch t {
	case UpdateAddMember:
		out.AddMember = NewMembershipPolicy(b)
	case UpdateRemoveMember:
		out.RemoveMember = NewMembershipPolicy(b)
	case UpdateAddAdmin, UpdateRemoveAdmin:
		if b == Allow {
			return PolicySet{}, fmt.Errorf("%w: %s cannot be allow: admin policies have no allow (use admin or super_admin)", ErrInvalidPermissionUpdate, t)
		}
		if t == UpdateAddAdmin {
			out.AddAdmin = NewPermissionsPolicy(b)
		} else {
			out.RemoveAdmin = NewPermissionsPolicy(b)
		}
	case UpdateMetadataField:
		if out.UpdateMetadata == nil {
			out.UpdateMetadata = make(map[MetadataField]MetadataPolicy, 1)
		}
		out.UpdateMetadata[field] = NewMetadataPolicy(b)
	default:
		return PolicySet{}, fmt.Errorf("%w: unknown permission update type %d", ErrInvalidPermissionUpdate, uint8(t))
	}
	return out, nil
}

// CustomPolicies is the custom policy set the libxmtp bindings accept when
// a group is created with custom permissions (their PermissionPolicySet).
// Every field is required.
type CustomPolicies struct {
	AddMember, RemoveMember BasePolicy
	AddAdmin, RemoveAdmin   BasePolicy
	GroupName               BasePolicy
	Description             BasePolicy
	GroupImageURLSquare     BasePolicy
	// MessageDisappearing becomes the policy of message_disappear_in_ns
	// only. Like the bindings, no entry is written for
	// message_disappear_from_ns, which therefore falls back to admin-only.
	MessageDisappearing BasePolicy
	AppData             BasePolicy
}

// PolicySet builds the set the bindings build from c: the five listed
// attributes get entries (minimum_supported_protocol_version none, so it
// falls back to admin-only) and update_permissions is super-admin-only. An
// option the bindings reject ([AllowSameMember] anywhere, [Allow] for the
// admin policies) gives an error wrapping [ErrInvalidPolicy].
func (c CustomPolicies) PolicySet() (PolicySet, error) {
	s := PolicySet{
		AddMember:    NewMembershipPolicy(c.AddMember),
		RemoveMember: NewMembershipPolicy(c.RemoveMember),
		UpdateMetadata: map[MetadataField]MetadataPolicy{
			FieldGroupName:            NewMetadataPolicy(c.GroupName),
			FieldDescription:          NewMetadataPolicy(c.Description),
			FieldGroupImageURLSquare:  NewMetadataPolicy(c.GroupImageURLSquare),
			FieldMessageDisappearInNS: NewMetadataPolicy(c.MessageDisappearing),
			FieldAppData:              NewMetadataPolicy(c.AppData),
		},
		AddAdmin:          NewPermissionsPolicy(c.AddAdmin),
		RemoveAdmin:       NewPermissionsPolicy(c.RemoveAdmin),
		UpdatePermissions: NewPermissionsPolicy(AllowIfSuperAdmin),
	}
	if c.AddMember == AllowSameMember || c.RemoveMember == AllowSameMember {
		return PolicySet{}, fmt.Errorf("%w: same_member is not a custom policy option", ErrInvalidPolicy)
	}
	if err := s.Validate(); err != nil {
		return PolicySet{}, err
	}
	return s, nil
}
