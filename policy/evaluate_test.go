package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"mlsbridge/identity"
)

// The cast: a member, an admin, two super admins, and outsiders.
var (
	member  = inbox(1)
	admin   = inbox(2)
	super1  = inbox(3)
	super2  = inbox(4)
	member2 = inbox(5)
	newbie  = inbox(6)
	newbie2 = inbox(7)
)

func roleName(id identity.InboxID) string {
	switch id {
	case member:
		return "member"
	case admin:
		return "admin"
	case super1:
		return "super admin"
	}
	return string(id)
}

// group returns a group whose lists give the cast their roles, with
// policies s.
func group(s PolicySet) GroupState {
	return GroupState{
		Type:    ConversationGroup,
		Members: []identity.InboxID{member, admin, super1, super2, member2},
		Metadata: Metadata{
			Attributes:  map[MetadataField]string{FieldGroupName: "g"},
			Admins:      []identity.InboxID{admin},
			SuperAdmins: []identity.InboxID{super1, super2},
		},
		Policies: s,
	}
}

func with(s PolicySet, edit func(*PolicySet)) PolicySet {
	s = s.Clone()
	edit(&s)
	return s
}

func adds(ids ...identity.InboxID) []MemberChange {
	var out []MemberChange
	for _, id := range ids {
		out = append(out, MemberChange{Inbox: id})
	}
	return out
}

func setField(f MetadataField, v string) MetadataChange {
	return MetadataChange{Fields: []FieldChange{{Field: f, Old: nil, New: &v}}}
}

// TestEvaluateMatrix runs every base policy, in every policy slot, for
// every role: role × action × policy gives a decision and its rule.
func TestEvaluateMatrix(t *testing.T) {
	type slot struct {
		name   string
		rule   RuleID
		set    func(BasePolicy) PolicySet
		change func(actor identity.InboxID) Change
	}
	slots := []slot{
		{"add_member", RuleAddMember,
			func(b BasePolicy) PolicySet {
				return with(Default(), func(s *PolicySet) { s.AddMember = NewMembershipPolicy(b) })
			},
			func(a identity.InboxID) Change { return Change{Actor: a, AddedMembers: adds(newbie)} }},
		{"remove_member", RuleRemoveMember,
			func(b BasePolicy) PolicySet {
				return with(Default(), func(s *PolicySet) { s.RemoveMember = NewMembershipPolicy(b) })
			},
			func(a identity.InboxID) Change { return Change{Actor: a, RemovedMembers: adds(member2)} }},
		{"update_metadata", RuleUpdateMetadata,
			func(b BasePolicy) PolicySet {
				return with(Default(), func(s *PolicySet) { s.UpdateMetadata[FieldDescription] = NewMetadataPolicy(b) })
			},
			func(a identity.InboxID) Change {
				return Change{Actor: a, Metadata: setField(FieldDescription, "about")}
			}},
		{"add_admin", RuleAddAdmin,
			func(b BasePolicy) PolicySet {
				return with(Default(), func(s *PolicySet) { s.AddAdmin = NewPermissionsPolicy(b) })
			},
			func(a identity.InboxID) Change {
				return Change{Actor: a, Metadata: MetadataChange{AdminsAdded: []identity.InboxID{member2}}}
			}},
		{"remove_admin", RuleRemoveAdmin,
			func(b BasePolicy) PolicySet {
				return with(Default(), func(s *PolicySet) { s.RemoveAdmin = NewPermissionsPolicy(b) })
			},
			func(a identity.InboxID) Change {
				return Change{Actor: a, Metadata: MetadataChange{AdminsRemoved: []identity.InboxID{admin}}}
			}},
	}
	allowedFor := map[BasePolicy][]identity.InboxID{
		Allow:             {member, admin, super1},
		Deny:              {},
		AllowIfAdmin:      {admin, super1},
		AllowIfSuperAdmin: {super1},
	}
	for _, sl := range slots {
		for _, b := range []BasePolicy{Allow, Deny, AllowIfAdmin, AllowIfSuperAdmin} {
			if b == Allow && (sl.name == "add_admin" || sl.name == "remove_admin") {
				continue // permissions policies have no allow
			}
			for _, actor := range []identity.InboxID{member, admin, super1} {
				t.Run(fmt.Sprintf("%s/%s/%s", sl.name, b, roleName(actor)), func(t *testing.T) {
					want := false
					for _, id := range allowedFor[b] {
						want = want || id == actor
					}
					d := Evaluate(group(sl.set(b)), sl.change(actor))
					if d.Allowed != want || d.Rule.ID != sl.rule {
						t.Errorf("Evaluate() = %v by %s (%q), want %v by %s", d.Allowed, d.Rule.ID, d.Rule.Text, want, sl.rule)
					}
					if d.Rule.Section != SectionPolicies {
						t.Errorf("section = %q, want %q", d.Rule.Section, SectionPolicies)
					}
					if (d.Err() == nil) != want {
						t.Errorf("Err() = %v, want error %v", d.Err(), !want)
					}
				})
			}
		}
	}
}

// TestEvaluate covers the hard-coded rules and libxmtp's special cases.
func TestEvaluate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	oneSuper := group(Default())
	oneSuper.Metadata.SuperAdmins = []identity.InboxID{super1}
	dm := GroupState{
		Type:     ConversationDM,
		DM:       &DMMembers{One: member, Two: member2},
		Members:  []identity.InboxID{member},
		Metadata: Metadata{},
		Policies: DM(),
	}
	oldGroup := group(with(Default(), func(s *PolicySet) { delete(s.UpdateMetadata, FieldAppData) }))
	selfRemoval := group(with(Default(), func(s *PolicySet) {
		s.RemoveMember = Any(NewMembershipPolicy(AllowIfAdmin), NewMembershipPolicy(AllowSameMember))
	}))
	adminsMayManage := group(with(Default(), func(s *PolicySet) {
		s.AddAdmin = NewPermissionsPolicy(AllowIfAdmin)
		s.RemoveAdmin = NewPermissionsPolicy(AllowIfAdmin)
		s.UpdatePermissions = NewPermissionsPolicy(AllowIfAdmin)
	}))
	noOneManages := group(with(Default(), func(s *PolicySet) { s.UpdatePermissions = NewPermissionsPolicy(Deny) }))
	adminsOnlyPerms := AdminsOnly()
	same := Default()

	tests := []struct {
		name    string
		group   GroupState
		change  Change
		allowed bool
		rule    RuleID
		text    string // checked when set
	}{
		// Membership.
		{"member adds in an admins-only group", group(AdminsOnly()), Change{Actor: member, AddedMembers: adds(newbie)},
			false, RuleAddMember, "add_member policy is admin-only and the actor is a member"},
		{"admin adds in an admins-only group", group(AdminsOnly()), Change{Actor: admin, AddedMembers: adds(newbie)},
			true, RuleAddMember, "add_member policy is admin-only and the actor is an admin"},
		{"member adds in an all-members group", group(Default()), Change{Actor: member, AddedMembers: adds(newbie, newbie2)},
			true, RuleAddMember, "add_member policy allows everyone"},
		{"proposer's role counts, not the committer's", group(AdminsOnly()),
			Change{Actor: super1, AddedMembers: []MemberChange{{Inbox: newbie, Proposer: member}}},
			false, RuleAddMember, "add_member policy is admin-only and the proposer is a member"},
		{"member removes in an all-members group", group(Default()), Change{Actor: member, RemovedMembers: adds(member2)},
			false, RuleRemoveMember, "remove_member policy is admin-only and the actor is a member"},
		{"member removing itself gets no exception", group(Default()), Change{Actor: member, RemovedMembers: adds(member)},
			false, RuleRemoveMember, ""},
		{"same-member policy lets a member remove itself", selfRemoval, Change{Actor: member, RemovedMembers: adds(member)},
			true, RuleRemoveMember, "remove_member policy is any of (admin-only, self-only) and the actor is a member, and the actor is removing itself"},
		{"same-member policy does not let a member remove another", selfRemoval, Change{Actor: member, RemovedMembers: adds(member2)},
			false, RuleRemoveMember, "remove_member policy is any of (admin-only, self-only) and the actor is a member, and the actor is removing someone else"},
		{"admin removes a super admin", group(Default()), Change{Actor: admin, RemovedMembers: adds(super2)},
			false, RuleSuperAdminNotRemovable, ""},
		{"super admin removes a super admin", group(Default()), Change{Actor: super1, RemovedMembers: adds(super2)},
			false, RuleSuperAdminNotRemovable, ""},
		{"super admin removes itself", group(Default()), Change{Actor: super1, RemovedMembers: adds(super1)},
			false, RuleSuperAdminNotRemovable, ""},
		{"super admin removes an admin", group(Default()), Change{Actor: super1, RemovedMembers: adds(admin)},
			true, RuleRemoveMember, ""},

		// DMs.
		{"dm: a member adds the other member", dm, Change{Actor: member, AddedMembers: adds(member2)},
			true, RuleDMAddMember, ""},
		{"dm: adding a third inbox", dm, Change{Actor: member, AddedMembers: adds(newbie)},
			false, RuleAddMember, "add_member policy denies everyone"},
		{"dm: adding the other member and a third", dm, Change{Actor: member, AddedMembers: adds(member2, newbie)},
			false, RuleAddMember, ""},
		{"dm: a member adds itself", dm, Change{Actor: member, AddedMembers: adds(member)},
			false, RuleAddMember, ""},
		{"dm: removing the other member", dm, Change{Actor: member, RemovedMembers: adds(member2)},
			false, RuleRemoveMember, "remove_member policy denies everyone"},
		{"dm: any member may rename on the wire", dm, Change{Actor: member2, Metadata: setField(FieldGroupName, "x")},
			true, RuleUpdateMetadata, "update_metadata policy for group_name allows everyone"},
		{"dm: admins cannot be added", dm, Change{Actor: member, Metadata: MetadataChange{AdminsAdded: []identity.InboxID{member2}}},
			false, RuleAddAdmin, "add_admin policy denies everyone"},

		// Metadata.
		{"member changes disappearing settings", group(Default()), Change{Actor: member, Metadata: setField(FieldMessageDisappearInNS, "1")},
			false, RuleUpdateMetadata, "update_metadata policy for message_disappear_in_ns is admin-only and the actor is a member"},
		{"admin changes the minimum version", group(Default()), Change{Actor: admin, Metadata: setField(FieldMinimumSupportedProtocolVersion, "1.6.0")},
			false, RuleUpdateMetadata, ""},
		{"super admin changes the minimum version", group(Default()), Change{Actor: super1, Metadata: setField(FieldMinimumSupportedProtocolVersion, "1.6.0")},
			true, RuleUpdateMetadata, ""},
		{"member sets a custom key", group(Default()), Change{Actor: member, Metadata: setField("topic", "x")},
			false, RuleMetadataFallback, "topic has no policy of its own, so it is admin-only, and the actor is a member"},
		{"admin sets a custom key", group(Default()), Change{Actor: admin, Metadata: setField("topic", "x")},
			true, RuleMetadataFallback, ""},
		{"admin rotates the commit log signer", group(Default()), Change{Actor: admin, Metadata: setField(FieldCommitLogSigner, "ab")},
			false, RuleMetadataFallback, `_commit_log_signer has no policy of its own and starts with "_", so it is super-admin-only, and the actor is an admin`},
		{"super admin rotates the commit log signer", group(Default()), Change{Actor: super1, Metadata: setField(FieldCommitLogSigner, "ab")},
			true, RuleMetadataFallback, ""},
		{"explicit policy beats the _ prefix", group(with(Default(), func(s *PolicySet) { s.UpdateMetadata["_x"] = NewMetadataPolicy(Allow) })),
			Change{Actor: member, Metadata: setField("_x", "1")}, true, RuleUpdateMetadata, ""},
		{"old group without an app_data policy: member denied", oldGroup, Change{Actor: member, Metadata: setField(FieldAppData, "x")},
			false, RuleMetadataFallback, ""},
		{"removing an attribute needs its policy", group(AdminsOnly()),
			Change{Actor: member, Metadata: MetadataChange{Fields: []FieldChange{{Field: FieldGroupName, Old: ptr("g")}}}},
			false, RuleUpdateMetadata, ""},

		// Length limits (checked before policies, whoever the actor).
		{"name of 100 bytes", group(Default()), Change{Actor: super1, Metadata: setField(FieldGroupName, long(100))},
			true, RuleUpdateMetadata, ""},
		{"name of 101 bytes", group(Default()), Change{Actor: super1, Metadata: setField(FieldGroupName, long(101))},
			false, RuleLengthLimit, "group_name is 101 bytes, over its limit of 100"},
		{"name of 34 euro signs is 102 bytes", group(Default()), Change{Actor: super1, Metadata: setField(FieldGroupName, strings.Repeat("€", 34))},
			false, RuleLengthLimit, ""},
		{"description of 1001 bytes", group(Default()), Change{Actor: super1, Metadata: setField(FieldDescription, long(1001))},
			false, RuleLengthLimit, ""},
		{"image url of 2049 bytes", group(Default()), Change{Actor: super1, Metadata: setField(FieldGroupImageURLSquare, long(2049))},
			false, RuleLengthLimit, ""},
		{"app data of 8193 bytes", group(Default()), Change{Actor: super1, Metadata: setField(FieldAppData, long(8193))},
			false, RuleLengthLimit, ""},
		{"app data of 8192 bytes", group(Default()), Change{Actor: member, Metadata: setField(FieldAppData, long(8192))},
			true, RuleUpdateMetadata, ""},
		{"custom key has no limit", group(Default()), Change{Actor: admin, Metadata: setField("topic", long(10000))},
			true, RuleMetadataFallback, ""},
		{"length beats permission: member, long name, admins-only", group(AdminsOnly()),
			Change{Actor: member, Metadata: setField(FieldGroupName, long(101))}, false, RuleLengthLimit, ""},

		// Admin lists.
		{"admin adds an admin where admins may", adminsMayManage,
			Change{Actor: admin, Metadata: MetadataChange{AdminsAdded: []identity.InboxID{member}}}, true, RuleAddAdmin, ""},
		{"admin adds a super admin even where admins manage admins", adminsMayManage,
			Change{Actor: admin, Metadata: MetadataChange{SuperAdminsAdded: []identity.InboxID{member}}},
			false, RuleAddSuperAdmin, "only super admins may add super admins, and the actor is an admin"},
		{"super admin adds a super admin", group(Default()),
			Change{Actor: super1, Metadata: MetadataChange{SuperAdminsAdded: []identity.InboxID{member}}}, true, RuleAddSuperAdmin, ""},
		{"admin removes a super admin", adminsMayManage,
			Change{Actor: admin, Metadata: MetadataChange{SuperAdminsRemoved: []identity.InboxID{super2}}}, false, RuleRemoveSuperAdmin, ""},
		{"super admin demotes another", group(Default()),
			Change{Actor: super1, Metadata: MetadataChange{SuperAdminsRemoved: []identity.InboxID{super2}}}, true, RuleRemoveSuperAdmin, ""},
		{"super admin demotes itself, another remains", group(Default()),
			Change{Actor: super1, Metadata: MetadataChange{SuperAdminsRemoved: []identity.InboxID{super1}}}, true, RuleRemoveSuperAdmin, ""},
		{"the last super admin demotes itself", oneSuper,
			Change{Actor: super1, Metadata: MetadataChange{SuperAdminsRemoved: []identity.InboxID{super1}}},
			false, RuleLastSuperAdmin, "the group would be left without a super admin"},
		{"the last super admin hands over", oneSuper,
			Change{Actor: super1, Metadata: MetadataChange{SuperAdminsAdded: []identity.InboxID{admin}, SuperAdminsRemoved: []identity.InboxID{super1}}},
			true, RuleAddSuperAdmin, ""},
		{"promote a member to super admin and admin", group(Default()),
			Change{Actor: super1, Metadata: MetadataChange{AdminsAdded: []identity.InboxID{member}, SuperAdminsAdded: []identity.InboxID{member}}},
			true, RuleAddAdmin, ""},

		// Permissions.
		{"admin changes permissions though update_permissions says admins", adminsMayManage,
			Change{Actor: admin, Permissions: &adminsOnlyPerms},
			false, RuleUpdatePermissions, "only super admins may change the group's permissions, and the actor is an admin"},
		{"super admin changes permissions though update_permissions says deny", noOneManages,
			Change{Actor: super1, Permissions: &adminsOnlyPerms}, true, RuleUpdatePermissions, ""},
		{"member changes permissions", group(Default()), Change{Actor: member, Permissions: &adminsOnlyPerms}, false, RuleUpdatePermissions, ""},
		{"an identical permissions extension is no change", group(Default()), Change{Actor: member, Permissions: &same}, true, RuleNoPolicy, ""},

		// Nothing guarded.
		{"key update by a member", group(AdminsOnly()), Change{Actor: member}, true, RuleNoPolicy, ""},
		{"commit by a non-member inbox changing nothing", group(AdminsOnly()), Change{Actor: newbie}, true, RuleNoPolicy, ""},

		// Several changes: the first denial decides.
		{"super admin adds and renames in an admins-only group", group(AdminsOnly()),
			Change{Actor: super1, AddedMembers: adds(newbie), Metadata: setField(FieldGroupName, "n")}, true, RuleAddMember, ""},
		{"member adds (allowed) and sets min version (denied)", group(Default()),
			Change{Actor: member, AddedMembers: adds(newbie), Metadata: setField(FieldMinimumSupportedProtocolVersion, "9.0.0")},
			false, RuleUpdateMetadata, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(tt.group, tt.change)
			if d.Allowed != tt.allowed || d.Rule.ID != tt.rule {
				t.Fatalf("Evaluate() = %v by %s (%q), want %v by %s", d.Allowed, d.Rule.ID, d.Rule.Text, tt.allowed, tt.rule)
			}
			if tt.text != "" && d.Rule.Text != tt.text {
				t.Errorf("Rule.Text = %q, want %q", d.Rule.Text, tt.text)
			}
			if d.Rule.Section == "" || d.Rule.Text == "" {
				t.Errorf("rule %+v lacks a section or text", d.Rule)
			}
			allowed := true
			for _, c := range d.Checks {
				allowed = allowed && c.Allowed
			}
			if allowed != d.Allowed {
				t.Errorf("Allowed = %v but the checks say %v: %+v", d.Allowed, allowed, d.Checks)
			}
		})
	}
}

func TestDecisionError(t *testing.T) {
	d := Evaluate(group(AdminsOnly()), Change{Actor: member, AddedMembers: adds(newbie)})
	err := d.Err()
	var de *DeniedError
	if !errors.As(err, &de) {
		t.Fatalf("Err() = %v, want *DeniedError", err)
	}
	if got, want := de.UserMessage(), "add_member policy is admin-only and the actor is a member"; got != want {
		t.Errorf("UserMessage() = %q, want %q", got, want)
	}
	for _, part := range []string{"policy: add_member_policy denied", string(member), string(newbie), SectionPolicies} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("Error() = %q, lacks %q", err.Error(), part)
		}
	}
	if d.Subject != newbie || d.Actor != (Participant{Inbox: member, Role: RoleMember}) {
		t.Errorf("Subject, Actor = %v, %+v", d.Subject, d.Actor)
	}
	if got := d.String(); got != "denied: add_member policy is admin-only and the actor is a member" {
		t.Errorf("String() = %q", got)
	}
}

func TestEvaluateIntent(t *testing.T) {
	dm := GroupState{Type: ConversationDM, DM: &DMMembers{One: member, Two: member2}, Members: []identity.InboxID{member, member2}, Policies: DM()}
	dmPerms := with(DM(), func(s *PolicySet) { s.AddMember = NewMembershipPolicy(Allow) })
	tests := []struct {
		name    string
		group   GroupState
		change  Change
		allowed bool
		rule    RuleID
	}{
		{"dm rename", dm, Change{Actor: member, Metadata: setField(FieldGroupName, "x")}, false, RuleDMImmutable},
		{"dm description", dm, Change{Actor: member, Metadata: setField(FieldDescription, "x")}, false, RuleDMImmutable},
		{"dm app data", dm, Change{Actor: member, Metadata: setField(FieldAppData, "x")}, false, RuleDMImmutable},
		{"dm commit log signer", dm, Change{Actor: member, Metadata: setField(FieldCommitLogSigner, "ab")}, false, RuleDMImmutable},
		{"dm disappearing from", dm, Change{Actor: member, Metadata: setField(FieldMessageDisappearFromNS, "5")}, true, RuleUpdateMetadata},
		{"dm disappearing in", dm, Change{Actor: member2, Metadata: setField(FieldMessageDisappearInNS, "5")}, true, RuleUpdateMetadata},
		{"dm min version", dm, Change{Actor: member, Metadata: setField(FieldMinimumSupportedProtocolVersion, "1.6.0")}, true, RuleUpdateMetadata},
		{"dm admins", dm, Change{Actor: member, Metadata: MetadataChange{AdminsAdded: []identity.InboxID{member2}}}, false, RuleDMImmutable},
		{"dm permissions", dm, Change{Actor: member, Permissions: &dmPerms}, false, RuleDMImmutable},
		{"dm adding the peer", dm, Change{Actor: member, AddedMembers: adds(member2)}, true, RuleDMAddMember},
		{"group: removing oneself", group(Default()), Change{Actor: admin, RemovedMembers: adds(admin)}, false, RuleSelfRemoval},
		{"group: removing another", group(Default()), Change{Actor: admin, RemovedMembers: adds(member)}, true, RuleRemoveMember},
		{"group: rename", group(Default()), Change{Actor: member, Metadata: setField(FieldGroupName, "x")}, true, RuleUpdateMetadata},
		{"group: receiver rules still apply", group(AdminsOnly()), Change{Actor: member, AddedMembers: adds(newbie)}, false, RuleAddMember},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := EvaluateIntent(tt.group, tt.change)
			if d.Allowed != tt.allowed || d.Rule.ID != tt.rule {
				t.Errorf("EvaluateIntent() = %v by %s (%q), want %v by %s", d.Allowed, d.Rule.ID, d.Rule.Text, tt.allowed, tt.rule)
			}
		})
	}
}

func TestCheckLeave(t *testing.T) {
	alone := group(Default())
	alone.Members = []identity.InboxID{member}
	dm := GroupState{Type: ConversationDM, Members: []identity.InboxID{member, member2}, Policies: DM()}
	tests := []struct {
		name    string
		group   GroupState
		actor   identity.InboxID
		allowed bool
		rule    RuleID
	}{
		{"member leaves", group(Default()), member, true, RuleLeave},
		{"admin leaves", group(Default()), admin, true, RuleLeave},
		{"super admin must be demoted first", group(Default()), super1, false, RuleLeaveSuperAdmin},
		{"non-member", group(Default()), newbie, false, RuleLeaveNotMember},
		{"only member", alone, member, false, RuleLeaveOnlyMember},
		{"dm", dm, member, false, RuleLeaveDM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := CheckLeave(tt.group, tt.actor)
			if d.Allowed != tt.allowed || d.Rule.ID != tt.rule || d.Rule.Section != SectionLeave {
				t.Errorf("CheckLeave() = %v by %s [%s], want %v by %s", d.Allowed, d.Rule.ID, d.Rule.Section, tt.allowed, tt.rule)
			}
		})
	}
}

func TestCheckDMWelcome(t *testing.T) {
	self, peer := member, member2
	good := GroupState{Type: ConversationDM, DM: &DMMembers{One: peer, Two: self}, Policies: DM()}
	mod := func(edit func(*GroupState)) GroupState {
		g := good
		g.Policies = good.Policies.Clone()
		dm := *good.DM
		g.DM = &dm
		edit(&g)
		return g
	}
	tests := []struct {
		name    string
		group   GroupState
		addedBy identity.InboxID
		allowed bool
		rule    RuleID
	}{
		{"peer adds us", good, peer, true, RuleDMWelcome},
		{"members in the other order", mod(func(g *GroupState) { g.DM = &DMMembers{One: self, Two: peer} }), peer, true, RuleDMWelcome},
		{"a group, not a DM", mod(func(g *GroupState) { g.Type = ConversationGroup }), peer, false, RuleDMWelcomeType},
		{"no dm members", mod(func(g *GroupState) { g.DM = nil }), peer, false, RuleDMWelcomeMembers},
		{"added by a third inbox", good, newbie, false, RuleDMWelcomeMembers},
		{"a DM between others", mod(func(g *GroupState) { g.DM = &DMMembers{One: peer, Two: newbie} }), peer, false, RuleDMWelcomeMembers},
		{"our own installation adds us", mod(func(g *GroupState) { g.Metadata.SuperAdmins = []identity.InboxID{self} }), self, true, RuleDMWelcome},
		{"our own installation, a DM without us", mod(func(g *GroupState) { g.DM = &DMMembers{One: peer, Two: newbie} }), self, false, RuleDMWelcomeMembers},
		{"a DM with a super admin", mod(func(g *GroupState) { g.Metadata.SuperAdmins = []identity.InboxID{peer} }), peer, false, RuleDMWelcomeAdmins},
		{"a DM with an admin", mod(func(g *GroupState) { g.Metadata.Admins = []identity.InboxID{peer} }), peer, false, RuleDMWelcomeAdmins},
		{"a DM where anyone may add", mod(func(g *GroupState) { g.Policies.AddMember = NewMembershipPolicy(Allow) }), peer, false, RuleDMWelcomePolicies},
		{"a DM with group metadata policies", mod(func(g *GroupState) { g.Policies.UpdateMetadata = Default().UpdateMetadata }), peer, true, RuleDMWelcome},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := CheckDMWelcome(tt.group, self, tt.addedBy)
			if d.Allowed != tt.allowed || d.Rule.ID != tt.rule {
				t.Errorf("CheckDMWelcome() = %v by %s (%q), want %v by %s", d.Allowed, d.Rule.ID, d.Rule.Text, tt.allowed, tt.rule)
			}
		})
	}
}

func TestDiffMetadata(t *testing.T) {
	before := Metadata{
		Attributes:  map[MetadataField]string{FieldGroupName: "a", FieldDescription: "d", "gone": "x", "same": "s"},
		Admins:      []identity.InboxID{admin, member},
		SuperAdmins: []identity.InboxID{super1, super2},
	}
	after := Metadata{
		Attributes:  map[MetadataField]string{FieldGroupName: "b", FieldDescription: "d", "new": "", "same": "s"},
		Admins:      []identity.InboxID{member, member2, member2},
		SuperAdmins: []identity.InboxID{super2, super1, admin},
	}
	c := DiffMetadata(before, after)
	var got []string
	for _, f := range c.Fields {
		o, n := "<absent>", "<absent>"
		if f.Old != nil {
			o = *f.Old
		}
		if f.New != nil {
			n = *f.New
		}
		got = append(got, fmt.Sprintf("%s:%s→%s", f.Field, o, n))
	}
	if want := "gone:x→<absent> group_name:a→b new:<absent>→"; strings.Join(got, " ") != want {
		t.Errorf("Fields = %s, want %s", strings.Join(got, " "), want)
	}
	eq := func(name string, got, want []identity.InboxID) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	eq("AdminsAdded", c.AdminsAdded, []identity.InboxID{member2})
	eq("AdminsRemoved", c.AdminsRemoved, []identity.InboxID{admin})
	eq("SuperAdminsAdded", c.SuperAdminsAdded, []identity.InboxID{admin})
	eq("SuperAdminsRemoved", c.SuperAdminsRemoved, nil)
	if DiffMetadata(before, before).IsEmpty() != true {
		t.Error("DiffMetadata(x, x) is not empty")
	}
	if c.IsEmpty() {
		t.Error("IsEmpty() = true for a change")
	}
}

func TestRoles(t *testing.T) {
	m := Metadata{Admins: []identity.InboxID{admin, super1}, SuperAdmins: []identity.InboxID{super1}}
	for id, want := range map[identity.InboxID]Role{member: RoleMember, admin: RoleAdmin, super1: RoleSuperAdmin} {
		if got := m.RoleOf(id); got != want {
			t.Errorf("RoleOf(%s) = %v, want %v", roleName(id), got, want)
		}
	}
	if !m.IsAdmin(super1) || m.IsAdmin(super2) || !m.IsSuperAdmin(super1) {
		t.Error("IsAdmin/IsSuperAdmin disagree with the lists")
	}
}
