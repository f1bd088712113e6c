package policy

import (
	"fmt"

	"mlsbridge/identity"
)

// Spec sections the rules cite, as [Rule.Section] and error texts give
// them.
const (
	SectionPolicies     = "xmtp-groups §4 step 14"
	SectionHardCoded    = "xmtp-groups §3.4"
	SectionLengthLimits = "xmtp-groups §4 step 4"
	SectionMinVersion   = "xmtp-groups §4 step 15"
	SectionNotChecked   = "xmtp-groups §4"
	SectionSenderDM     = "xmtp-groups §3.3"
	SectionSelfRemoval  = "xmtp-groups §4.2"
	SectionLeave        = "xmtp-groups §7"
	SectionDMWelcome    = "xmtp-groups §6"
)

// RuleID names a rule. The values are stable: log them, store them, branch
// on them.
type RuleID string

// Rules of commit validation (xmtp-groups §3.4 and §4), applied by
// [Evaluate] to every commit.
const (
	// RuleNoPolicy: the change adds or removes no inbox and changes no
	// attribute, admin or permission (key updates, installation-only
	// updates), so no policy applies.
	RuleNoPolicy RuleID = "no_policy"
	// RuleLengthLimit: group_name, description, group_image_url_square and
	// app_data have byte limits.
	RuleLengthLimit RuleID = "length_limit"
	// RuleAddMember: each added inbox passes add_member_policy for its
	// proposer (the committer unless proposed by reference).
	RuleAddMember RuleID = "add_member_policy"
	// RuleDMAddMember: adding the one other DM member is allowed whatever
	// add_member_policy says.
	RuleDMAddMember RuleID = "dm_add_member"
	// RuleRemoveMember: each removed inbox passes remove_member_policy for
	// its proposer.
	RuleRemoveMember RuleID = "remove_member_policy"
	// RuleSuperAdminNotRemovable: no one may remove an inbox that is a
	// super admin before the commit.
	RuleSuperAdminNotRemovable RuleID = "super_admin_not_removable"
	// RuleUpdateMetadata: each changed attribute passes its own policy for
	// the committer.
	RuleUpdateMetadata RuleID = "update_metadata_policy"
	// RuleMetadataFallback: an attribute without its own policy is
	// super-admin-only if its key starts with "_", else admin-only.
	RuleMetadataFallback RuleID = "metadata_fallback"
	// RuleAddAdmin: adding admins passes add_admin_policy for the
	// committer.
	RuleAddAdmin RuleID = "add_admin_policy"
	// RuleRemoveAdmin: removing admins passes remove_admin_policy.
	RuleRemoveAdmin RuleID = "remove_admin_policy"
	// RuleAddSuperAdmin: only super admins add super admins.
	RuleAddSuperAdmin RuleID = "add_super_admin"
	// RuleRemoveSuperAdmin: only super admins remove super admins.
	RuleRemoveSuperAdmin RuleID = "remove_super_admin"
	// RuleLastSuperAdmin: the super-admin list may never become empty.
	RuleLastSuperAdmin RuleID = "last_super_admin"
	// RuleUpdatePermissions: only super admins change the permissions,
	// whatever update_permissions_policy says.
	RuleUpdatePermissions RuleID = "update_permissions"
)

// Rules libxmtp applies only when sending ([EvaluateIntent]).
const (
	// RuleDMImmutable: in a DM, only the disappearing-message settings and
	// the minimum version may be changed.
	RuleDMImmutable RuleID = "dm_immutable"
	// RuleSelfRemoval: a member leaves with a leave request, never by
	// removing itself.
	RuleSelfRemoval RuleID = "self_removal"
)

// Rules of leaving ([CheckLeave], xmtp-groups §7). RuleLeave is the one
// that allows.
const (
	RuleLeave           RuleID = "leave"
	RuleLeaveNotMember  RuleID = "leave_not_member"
	RuleLeaveOnlyMember RuleID = "leave_only_member"
	RuleLeaveDM         RuleID = "leave_dm"
	RuleLeaveSuperAdmin RuleID = "leave_super_admin"
)

// Rules of joining a DM by welcome ([CheckDMWelcome], xmtp-groups §6).
// RuleDMWelcome is the one that allows.
const (
	RuleDMWelcome         RuleID = "dm_welcome"
	RuleDMWelcomeType     RuleID = "dm_welcome_type"
	RuleDMWelcomeMembers  RuleID = "dm_welcome_members"
	RuleDMWelcomeAdmins   RuleID = "dm_welcome_admins"
	RuleDMWelcomePolicies RuleID = "dm_welcome_policies"
)

// Rule is one rule as it applied to one change: which rule, where the spec
// states it, and a sentence a person understands, such as "add_member
// policy is admin-only and the actor is a member".
type Rule struct {
	ID      RuleID
	Section string
	Text    string
}

// Check is one rule applied to one part of a change.
type Check struct {
	Rule    Rule
	Allowed bool
	// Subject is the inbox the checked part is about (the member added or
	// removed, the admin added or removed); empty when none.
	Subject identity.InboxID
	// Field is the attribute the checked part is about; empty when none.
	Field MetadataField
}

// Decision is the verdict on a change. Its embedded Check is the deciding
// one: the first check that denied, or, when every check allowed, the
// first check made (a [RuleNoPolicy] check when no rule applied). Checks
// lists every check in the order libxmtp makes them.
type Decision struct {
	Check
	// Actor is the committer (or the member asking), with the role the
	// pre-change admin lists give it.
	Actor  Participant
	Checks []Check
}

// Err returns nil when d allows, else a *[DeniedError] carrying d.
func (d Decision) Err() error {
	if d.Allowed {
		return nil
	}
	return &DeniedError{Decision: d}
}

// String returns "allowed: <text>" or "denied: <text>".
func (d Decision) String() string {
	verdict := "denied"
	if d.Allowed {
		verdict = "allowed"
	}
	return verdict + ": " + d.Rule.Text
}

// checks accumulates the checks of one evaluation.
type checks struct {
	actor Participant
	list  []Check
}

func (cs *checks) add(allowed bool, id RuleID, section string, subject identity.InboxID, field MetadataField, format string, args ...any) {
	cs.list = append(cs.list, Check{
		Rule:    Rule{ID: id, Section: section, Text: fmt.Sprintf(format, args...)},
		Allowed: allowed,
		Subject: subject,
		Field:   field,
	})
}

func (cs *checks) decision() Decision {
	d := Decision{Actor: cs.actor, Checks: cs.list}
	if len(cs.list) == 0 {
		d.Check = Check{Allowed: true, Rule: Rule{
			ID:      RuleNoPolicy,
			Section: SectionNotChecked,
			Text:    "the change adds or removes no member and changes no metadata, admin or permission, so no policy applies",
		}}
		d.Checks = []Check{d.Check}
		return d
	}
	d.Check = cs.list[0]
	for _, c := range cs.list {
		if !c.Allowed {
			d.Check = c
			break
		}
	}
	return d
}

// policyText explains a policy, named by label ("add_member policy"),
// applied to who ("actor" or "proposer").
func policyText(label string, r rule, who string, role Role) string {
	if r.op == opBase {
		switch r.base {
		case Allow:
			return label + " allows everyone"
		case Deny:
			return label + " denies everyone"
		}
	}
	return fmt.Sprintf("%s is %s and the %s is %s", label, r.describe(), who, role.withArticle())
}
