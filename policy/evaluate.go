package policy

import (
	"fmt"
	"slices"
	"strings"

	"mlsbridge/identity"
)

// ConversationType is the group's immutable conversation type
// (GroupMetadataV1.conversation_type, xmtp-groups §2.2), with the protobuf
// numbers. The zero value is UNSPECIFIED, which groups never have.
type ConversationType uint8

const (
	ConversationGroup   ConversationType = 1
	ConversationDM      ConversationType = 2
	ConversationSync    ConversationType = 3
	ConversationOneshot ConversationType = 4
)

// DMMembers are the two members of a DM, from its immutable metadata
// (dm_members, xmtp-groups §2.2), in either order.
type DMMembers struct {
	One, Two identity.InboxID
}

// Has reports whether id is one of the two.
func (m DMMembers) Has(id identity.InboxID) bool { return id == m.One || id == m.Two }

// GroupState is what the rules read of a group before a change.
type GroupState struct {
	// Type is the conversation type. Only the sender-side checks
	// ([EvaluateIntent], [CheckLeave], [CheckDMWelcome]) read it.
	Type ConversationType
	// DM holds the DM members; nil when the immutable metadata has none.
	// Commit validation reads this, not Type (xmtp-groups §4 step 14).
	DM *DMMembers
	// Members are the member inboxes. Only [CheckLeave] reads them.
	Members []identity.InboxID
	// Metadata is the pre-commit mutable metadata: admins and super admins
	// come from here.
	Metadata Metadata
	// Policies is the pre-commit policy set.
	Policies PolicySet
}

// MemberChange is one inbox a commit adds or removes.
type MemberChange struct {
	Inbox identity.InboxID
	// Proposer is the member whose proposal adds or removes Inbox when
	// that is not the committer (proposals by reference, xmtp-groups §4
	// step 10); empty means the committer. Its role comes from the
	// pre-commit lists.
	Proposer identity.InboxID
}

// Change is what a commit changes, seen at inbox level (xmtp-groups §4
// steps 3, 5 and 10). The zero value (with an Actor) is a commit that
// changes nothing a policy guards.
type Change struct {
	// Actor is the committer's inbox.
	Actor          identity.InboxID
	AddedMembers   []MemberChange
	RemovedMembers []MemberChange
	// Metadata is the mutable-metadata change; see [DiffMetadata].
	Metadata MetadataChange
	// Permissions is the policy set the commit carries in extension 0xFF02,
	// or nil when it carries the same bytes. A non-nil set equal to the
	// current one is no change.
	Permissions *PolicySet
}

// Evaluate applies libxmtp's commit-validation rules to c, as every member
// does for every commit before merging it (ValidatedCommit, xmtp-groups §4
// steps 4 and 14, with the hard-coded rules of §3.4), in libxmtp's order:
//
//  1. each new value of group_name, description, group_image_url_square
//     and app_data is within its byte limit;
//  2. each added inbox passes add_member for its proposer, or is the other
//     member of a DM being added alone by the one already in it;
//  3. each removed inbox passes remove_member for its proposer and is not a
//     super admin;
//  4. each changed attribute passes its policy (or its fallback) for the
//     actor;
//  5. added admins pass add_admin and removed admins remove_admin for the
//     actor;
//  6. only a super admin adds or removes super admins, and at least one
//     super admin remains;
//  7. only a super admin changes the permissions.
//
// Roles come from g's pre-commit lists. The Decision allows only if every
// check allows. Evaluate does not check the minimum version (see
// [CheckMinVersion]), identity state, installations or MLS framing.
func Evaluate(g GroupState, c Change) Decision {
	cs := &checks{actor: g.Metadata.Participant(c.Actor)}
	evaluateCommit(cs, g, c)
	return cs.decision()
}

func evaluateCommit(cs *checks, g GroupState, c Change) {
	checkLengths(cs, c.Metadata.Fields)
	checkAdded(cs, g, c)
	checkRemoved(cs, g, c)
	checkFields(cs, g, c.Metadata.Fields)
	checkAdmins(cs, g, c.Metadata)
	checkPermissions(cs, g, c.Permissions)
}

// checkLengths records only violations: a value within its limit is not a
// rule that allowed anything.
func checkLengths(cs *checks, fields []FieldChange) {
	for _, fc := range fields {
		limit, ok := fc.Field.MaxLength()
		if !ok || fc.New == nil {
			continue
		}
		if n := len(*fc.New); n > limit {
			cs.add(false, RuleLengthLimit, SectionLengthLimits, "", fc.Field,
				"%s is %d bytes, over its limit of %d", fc.Field, n, limit)
		}
	}
}

// proposer returns who proposed m: its Proposer, else the actor.
func proposer(g GroupState, actor Participant, m MemberChange) (Participant, string) {
	if m.Proposer == "" || m.Proposer == actor.Inbox {
		return actor, "actor"
	}
	return g.Metadata.Participant(m.Proposer), "proposer"
}

func checkAdded(cs *checks, g GroupState, c Change) {
	p := rule(g.Policies.AddMember)
	// libxmtp's DM exception: exactly one inbox added, one of the DM
	// members, not the committer itself.
	dmException := g.DM != nil && len(c.AddedMembers) == 1 &&
		g.DM.Has(c.AddedMembers[0].Inbox) && c.AddedMembers[0].Inbox != c.Actor
	for _, m := range c.AddedMembers {
		who, word := proposer(g, cs.actor, m)
		ok := p.eval(who, m.Inbox)
		text := policyText("add_member policy", p, word, who.Role) + selfNote(p, who, m.Inbox, word, "adding")
		if !ok && dmException {
			cs.add(true, RuleDMAddMember, SectionPolicies, m.Inbox, "",
				"%s, but adding the other member of a DM is always allowed", text)
			continue
		}
		cs.add(ok, RuleAddMember, SectionPolicies, m.Inbox, "", "%s", text)
	}
}

func checkRemoved(cs *checks, g GroupState, c Change) {
	p := rule(g.Policies.RemoveMember)
	for _, m := range c.RemovedMembers {
		who, word := proposer(g, cs.actor, m)
		ok := p.eval(who, m.Inbox)
		text := policyText("remove_member policy", p, word, who.Role) + selfNote(p, who, m.Inbox, word, "removing")
		cs.add(ok, RuleRemoveMember, SectionPolicies, m.Inbox, "", "%s", text)
		if g.Metadata.IsSuperAdmin(m.Inbox) {
			cs.add(false, RuleSuperAdminNotRemovable, SectionHardCoded, m.Inbox, "",
				"a super admin cannot be removed from the group; their super admin status must be removed first")
		}
	}
}

// selfNote adds whether the subject is the acting member, for policies
// that depend on it.
func selfNote(r rule, who Participant, subject identity.InboxID, word, verb string) string {
	if !r.usesSubject() {
		return ""
	}
	if subject == who.Inbox {
		return fmt.Sprintf(", and the %s is %s itself", word, verb)
	}
	return fmt.Sprintf(", and the %s is %s someone else", word, verb)
}

func checkFields(cs *checks, g GroupState, fields []FieldChange) {
	for _, fc := range fields {
		p, explicit := g.Policies.MetadataPolicyFor(fc.Field)
		ok := p.Allows(cs.actor)
		if explicit {
			cs.add(ok, RuleUpdateMetadata, SectionPolicies, "", fc.Field, "%s",
				policyText("update_metadata policy for "+string(fc.Field), rule(p), "actor", cs.actor.Role))
			continue
		}
		why := ""
		if strings.HasPrefix(string(fc.Field), SuperAdminPrefix) {
			why = fmt.Sprintf(" and starts with %q", SuperAdminPrefix)
		}
		cs.add(ok, RuleMetadataFallback, SectionHardCoded, "", fc.Field,
			"%s has no policy of its own%s, so it is %s, and the actor is %s",
			fc.Field, why, rule(p).describe(), cs.actor.Role.withArticle())
	}
}

func checkAdmins(cs *checks, g GroupState, m MetadataChange) {
	actor := cs.actor
	if len(m.AdminsAdded) > 0 {
		p := rule(g.Policies.AddAdmin)
		cs.add(p.eval(actor, ""), RuleAddAdmin, SectionPolicies, m.AdminsAdded[0], "", "%s",
			policyText("add_admin policy", p, "actor", actor.Role))
	}
	if len(m.AdminsRemoved) > 0 {
		p := rule(g.Policies.RemoveAdmin)
		cs.add(p.eval(actor, ""), RuleRemoveAdmin, SectionPolicies, m.AdminsRemoved[0], "", "%s",
			policyText("remove_admin policy", p, "actor", actor.Role))
	}
	super := actor.Role == RoleSuperAdmin
	if len(m.SuperAdminsAdded) > 0 {
		cs.add(super, RuleAddSuperAdmin, SectionHardCoded, m.SuperAdminsAdded[0], "",
			"only super admins may add super admins, and the actor is %s", actor.Role.withArticle())
	}
	if len(m.SuperAdminsRemoved) > 0 {
		cs.add(super, RuleRemoveSuperAdmin, SectionHardCoded, m.SuperAdminsRemoved[0], "",
			"only super admins may remove super admins, and the actor is %s", actor.Role.withArticle())
		if n := len(m.superAdminsAfter(g.Metadata.SuperAdmins)); n == 0 {
			cs.add(false, RuleLastSuperAdmin, SectionHardCoded, m.SuperAdminsRemoved[0], "",
				"the group would be left without a super admin")
		} else {
			cs.add(true, RuleLastSuperAdmin, SectionHardCoded, m.SuperAdminsRemoved[0], "",
				"the group keeps %d super admin(s)", n)
		}
	}
}

func checkPermissions(cs *checks, g GroupState, next *PolicySet) {
	if next == nil || next.Equal(g.Policies) {
		return
	}
	cs.add(cs.actor.Role == RoleSuperAdmin, RuleUpdatePermissions, SectionHardCoded, "", "",
		"only super admins may change the group's permissions, and the actor is %s", cs.actor.Role.withArticle())
}

// dmMutableFields are the attributes libxmtp's sender lets DM members
// change (xmtp-groups §4, "DM immutability").
var dmMutableFields = []MetadataField{
	FieldMessageDisappearFromNS,
	FieldMessageDisappearInNS,
	FieldMinimumSupportedProtocolVersion,
}

// EvaluateIntent checks a change this client wants to commit: libxmtp's
// sender-side refusals first, then every rule of [Evaluate] (which the
// commit must pass anyway). Sender-side rules (xmtp-groups §3.3, §4.2):
//
//   - the committer never removes itself: members leave with a leave
//     request ([CheckLeave]);
//   - in a DM (g.Type is [ConversationDM]) no admin, permission or
//     attribute changes, except the disappearing-message settings and the
//     minimum version. Receivers do not enforce this: a DM's metadata
//     policy is ALLOW.
func EvaluateIntent(g GroupState, c Change) Decision {
	cs := &checks{actor: g.Metadata.Participant(c.Actor)}
	for _, m := range c.RemovedMembers {
		if m.Inbox == c.Actor {
			cs.add(false, RuleSelfRemoval, SectionSelfRemoval, m.Inbox, "",
				"members leave by sending a leave request, not by removing themselves")
		}
	}
	if g.Type == ConversationDM {
		checkDMIntent(cs, g, c)
	}
	evaluateCommit(cs, g, c)
	return cs.decision()
}

func checkDMIntent(cs *checks, g GroupState, c Change) {
	for _, fc := range c.Metadata.Fields {
		if !slices.Contains(dmMutableFields, fc.Field) {
			cs.add(false, RuleDMImmutable, SectionSenderDM, "", fc.Field,
				"%s cannot be changed in a DM", fc.Field)
		}
	}
	m := c.Metadata
	if len(m.AdminsAdded)+len(m.AdminsRemoved)+len(m.SuperAdminsAdded)+len(m.SuperAdminsRemoved) > 0 {
		cs.add(false, RuleDMImmutable, SectionSenderDM, "", "", "a DM has no admins to change")
	}
	if c.Permissions != nil && !c.Permissions.Equal(g.Policies) {
		cs.add(false, RuleDMImmutable, SectionSenderDM, "", "", "a DM's permissions cannot be changed")
	}
}

// CheckLeave applies libxmtp's leave_group preconditions, in order
// (xmtp-groups §7): actor is a member, the group has another member, it is
// not a DM, and actor is not a super admin (super admins cannot be
// removed, so they must be demoted first). When allowed, the client sends
// a leave request; a super admin then removes the member with an ordinary
// remove commit, which [Evaluate] checks like any other.
func CheckLeave(g GroupState, actor identity.InboxID) Decision {
	cs := &checks{actor: g.Metadata.Participant(actor)}
	switch {
	case !slices.Contains(g.Members, actor):
		cs.add(false, RuleLeaveNotMember, SectionLeave, "", "", "only a member can leave the group")
	case len(g.Members) == 1:
		cs.add(false, RuleLeaveOnlyMember, SectionLeave, "", "", "the only member of a group cannot leave it")
	case g.Type == ConversationDM:
		cs.add(false, RuleLeaveDM, SectionLeave, "", "", "a DM cannot be left")
	case g.Metadata.IsSuperAdmin(actor):
		cs.add(false, RuleLeaveSuperAdmin, SectionLeave, "", "",
			"a super admin cannot leave; their super admin status must be removed first")
	default:
		cs.add(true, RuleLeave, SectionLeave, "", "",
			"the member may leave: a leave request asks the super admins to remove them")
	}
	return cs.decision()
}

// CheckDMWelcome applies libxmtp's checks on a welcome into a DM
// (validate_dm_group, xmtp-groups §6) for self, added by addedBy:
//
//  1. the conversation type is DM and the DM members are set;
//  2. if addedBy is self (another of our installations), self is one of the
//     DM members, and nothing more is checked (as libxmtp);
//  3. otherwise the DM members are exactly {addedBy, self}, both admin lists
//     are empty, and the membership and admin policies are the DM preset's.
//
// Step 3's policy check is stricter than libxmtp's, which rejects only when
// all five non-metadata policies differ; every libxmtp-created DM passes
// both.
func CheckDMWelcome(g GroupState, self, addedBy identity.InboxID) Decision {
	cs := &checks{actor: g.Metadata.Participant(addedBy)}
	switch {
	case g.Type != ConversationDM:
		cs.add(false, RuleDMWelcomeType, SectionDMWelcome, "", "", "the conversation is not a DM")
	case g.DM == nil:
		cs.add(false, RuleDMWelcomeMembers, SectionDMWelcome, "", "", "the DM does not name its two members")
	case addedBy == self && !g.DM.Has(self):
		cs.add(false, RuleDMWelcomeMembers, SectionDMWelcome, "", "", "we are not one of the DM's members")
	case addedBy == self:
		cs.add(true, RuleDMWelcome, SectionDMWelcome, "", "", "another of our installations added us to our own DM")
	case *g.DM != DMMembers{One: addedBy, Two: self} && *g.DM != DMMembers{One: self, Two: addedBy}:
		cs.add(false, RuleDMWelcomeMembers, SectionDMWelcome, "", "", "the DM's members are not us and the member who added us")
	case len(g.Metadata.Admins) > 0 || len(g.Metadata.SuperAdmins) > 0:
		cs.add(false, RuleDMWelcomeAdmins, SectionDMWelcome, "", "", "a DM must have no admins and no super admins")
	case !dmPoliciesMatch(g.Policies):
		cs.add(false, RuleDMWelcomePolicies, SectionDMWelcome, "", "",
			"the DM's permissions would let someone add or remove members or admins")
	default:
		cs.add(true, RuleDMWelcome, SectionDMWelcome, "", "", "the DM is between us and the member who added us")
	}
	return cs.decision()
}

func dmPoliciesMatch(s PolicySet) bool {
	dm := DM()
	return s.AddMember.Equal(dm.AddMember) && s.RemoveMember.Equal(dm.RemoveMember) &&
		s.AddAdmin.Equal(dm.AddAdmin) && s.RemoveAdmin.Equal(dm.RemoveAdmin) &&
		s.UpdatePermissions.Equal(dm.UpdatePermissions)
}
