package policy

import (
	"fmt"
	"strings"

	"mlsbridge/identity"
)

// BasePolicy is a leaf permission rule (xmtp-groups §3.1). The zero value
// is invalid. The numbers 1–4 are libxmtp's PermissionPolicyOption (Allow 1,
// Deny 2, AdminOnly 3, SuperAdminOnly 4, xmtp-groups §3.3); they are NOT the
// protobuf enum numbers, which differ per policy kind and are handled only
// by [Marshal] and [Unmarshal].
type BasePolicy uint8

const (
	// Allow lets everyone. Not valid in a [PermissionsPolicy].
	Allow BasePolicy = iota + 1
	// Deny lets no one.
	Deny
	// AllowIfAdmin lets admins and super admins.
	AllowIfAdmin
	// AllowIfSuperAdmin lets super admins.
	AllowIfSuperAdmin
	// AllowSameMember lets a member add or remove only itself (subject ==
	// actor). It exists only in a [MembershipPolicy], and, as in libxmtp,
	// cannot be encoded: [Marshal] rejects it.
	AllowSameMember
)

var basePolicyNames = [...]string{
	Allow:             "allow",
	Deny:              "deny",
	AllowIfAdmin:      "admin",
	AllowIfSuperAdmin: "super_admin",
	AllowSameMember:   "same_member",
}

// String returns "allow", "deny", "admin", "super_admin" or "same_member",
// the names [ParseBasePolicy] accepts.
func (b BasePolicy) String() string {
	if b >= Allow && b <= AllowSameMember {
		return basePolicyNames[b]
	}
	return fmt.Sprintf("BasePolicy(%d)", uint8(b))
}

// ParseBasePolicy parses the names [BasePolicy.String] returns. It is meant
// for configuration and command arguments; an unknown name gives an error
// wrapping [ErrInvalidPolicy].
func ParseBasePolicy(s string) (BasePolicy, error) {
	for b := Allow; b <= AllowSameMember; b++ {
		if basePolicyNames[b] == s {
			return b, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown base policy %q (want allow, deny, admin, super_admin or same_member)", ErrInvalidPolicy, s)
}

// describe returns the base policy as an adjective for explanations.
func (b BasePolicy) describe() string {
	switch b {
	case Allow:
		return "open to everyone"
	case Deny:
		return "closed to everyone"
	case AllowIfAdmin:
		return "admin-only"
	case AllowIfSuperAdmin:
		return "super-admin-only"
	case AllowSameMember:
		return "self-only"
	}
	return "invalid"
}

// kind is one of the three policy kinds; each allows different bases.
type kind uint8

const (
	kindMembership kind = iota
	kindMetadata
	kindPermissions
)

func (k kind) String() string {
	return [...]string{"membership", "metadata", "permissions"}[k]
}

// allows reports whether base policy b may appear in a policy of kind k.
func (k kind) allows(b BasePolicy) bool {
	switch k {
	case kindMembership:
		return b >= Allow && b <= AllowSameMember
	case kindMetadata:
		return b >= Allow && b <= AllowIfSuperAdmin
	case kindPermissions:
		return b >= Deny && b <= AllowIfSuperAdmin
	}
	return false
}

type op uint8

const (
	opBase op = iota
	opAnd
	opAny
)

// rule is the shared shape of the three policy kinds: a base policy, or an
// AND or ANY of rules. Rules are never mutated after construction, so
// sharing subs between values is safe.
type rule struct {
	op   op
	base BasePolicy // when op == opBase
	subs []rule     // when op is opAnd or opAny
}

// eval applies r to actor; subject is the inbox being added or removed
// (empty for metadata and permissions policies). An empty AND is true and
// an empty ANY false, as in libxmtp; invalid bases deny.
func (r rule) eval(actor Participant, subject identity.InboxID) bool {
	switch r.op {
	case opAnd:
		for _, s := range r.subs {
			if !s.eval(actor, subject) {
				return false
			}
		}
		return true
	case opAny:
		for _, s := range r.subs {
			if s.eval(actor, subject) {
				return true
			}
		}
		return false
	}
	switch r.base {
	case Allow:
		return true
	case AllowIfAdmin:
		return actor.Role.atLeastAdmin()
	case AllowIfSuperAdmin:
		return actor.Role == RoleSuperAdmin
	case AllowSameMember:
		return subject != "" && subject == actor.Inbox
	}
	return false
}

func (r rule) validate(k kind) error {
	switch r.op {
	case opBase:
		if !k.allows(r.base) {
			return fmt.Errorf("%w: base policy %s is not allowed in a %s policy", ErrInvalidPolicy, r.base, k)
		}
		return nil
	case opAnd, opAny:
		if len(r.subs) == 0 {
			return fmt.Errorf("%w: empty %s condition in a %s policy", ErrInvalidPolicy, r.opName(), k)
		}
		for _, s := range r.subs {
			if err := s.validate(k); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%w: unknown combinator %d", ErrInvalidPolicy, r.op)
}

func (r rule) opName() string {
	if r.op == opAnd {
		return "and"
	}
	return "any"
}

func (r rule) equal(s rule) bool {
	if r.op != s.op || r.base != s.base || len(r.subs) != len(s.subs) {
		return false
	}
	for i := range r.subs {
		if !r.subs[i].equal(s.subs[i]) {
			return false
		}
	}
	return true
}

// usesSubject reports whether r contains AllowSameMember.
func (r rule) usesSubject() bool {
	if r.op == opBase {
		return r.base == AllowSameMember
	}
	for _, s := range r.subs {
		if s.usesSubject() {
			return true
		}
	}
	return false
}

func (r rule) String() string {
	if r.op == opBase {
		return r.base.String()
	}
	parts := make([]string, len(r.subs))
	for i, s := range r.subs {
		parts[i] = s.String()
	}
	return r.opName() + "(" + strings.Join(parts, ", ") + ")"
}

// describe returns r as an adjective phrase for explanations.
func (r rule) describe() string {
	if r.op == opBase {
		return r.base.describe()
	}
	parts := make([]string, len(r.subs))
	for i, s := range r.subs {
		parts[i] = s.describe()
	}
	word := "all of"
	if r.op == opAny {
		word = "any of"
	}
	return word + " (" + strings.Join(parts, ", ") + ")"
}

func and(ps []rule) rule { return rule{op: opAnd, subs: ps} }
func anyOf(ps []rule) rule {
	return rule{op: opAny, subs: ps}
}

// MembershipPolicy decides who may add members (add_member) or remove
// them (remove_member). Build one with [NewMembershipPolicy], [And] and
// [Any]. The zero value is invalid and denies.
type MembershipPolicy rule

// MetadataPolicy decides who may change one mutable-metadata attribute.
// Build one with [NewMetadataPolicy], [And] and [Any]. The zero value is
// invalid and denies.
type MetadataPolicy rule

// PermissionsPolicy decides who may add admins, remove admins, or (stored
// but never consulted, xmtp-groups §3.4) change permissions. Build one with
// [NewPermissionsPolicy], [And] and [Any]. The zero value is invalid and
// denies.
type PermissionsPolicy rule

// NewMembershipPolicy returns the membership policy made of b alone. Any
// base policy is valid here.
func NewMembershipPolicy(b BasePolicy) MembershipPolicy { return MembershipPolicy{base: b} }

// NewMetadataPolicy returns the metadata policy made of b alone.
// [AllowSameMember] is invalid here.
func NewMetadataPolicy(b BasePolicy) MetadataPolicy { return MetadataPolicy{base: b} }

// NewPermissionsPolicy returns the permissions policy made of b alone.
// [Allow] and [AllowSameMember] are invalid here: libxmtp's permissions
// policies have no ALLOW.
func NewPermissionsPolicy(b BasePolicy) PermissionsPolicy { return PermissionsPolicy{base: b} }

// Policy is any of the three policy kinds, for [And] and [Any].
type Policy interface {
	MembershipPolicy | MetadataPolicy | PermissionsPolicy
}

// And returns the policy that allows when every one of ps allows. With no
// arguments the result is invalid (libxmtp rejects an empty condition).
func And[P Policy](ps ...P) P { return P(and(rules(ps))) }

// Any returns the policy that allows when at least one of ps allows. With
// no arguments the result is invalid.
func Any[P Policy](ps ...P) P { return P(anyOf(rules(ps))) }

func rules[P Policy](ps []P) []rule {
	out := make([]rule, len(ps))
	for i, p := range ps {
		out[i] = rule(p)
	}
	return out
}

// Base returns the base policy when p is a single base policy, and false
// when it is a combination.
func (p MembershipPolicy) Base() (BasePolicy, bool) { return rule(p).base, p.op == opBase }

// Validate returns an error wrapping [ErrInvalidPolicy] when p is the zero
// value, an empty combination, or contains an unknown base policy.
func (p MembershipPolicy) Validate() error { return rule(p).validate(kindMembership) }

// Equal reports whether p and q are the same tree, combinator order
// included (libxmtp's equality).
func (p MembershipPolicy) Equal(q MembershipPolicy) bool { return rule(p).equal(rule(q)) }

// Allows reports whether actor may add or remove subject under p.
func (p MembershipPolicy) Allows(actor Participant, subject identity.InboxID) bool {
	return rule(p).eval(actor, subject)
}

// String returns p in a compact form such as "and(admin, same_member)".
func (p MembershipPolicy) String() string { return rule(p).String() }

// Base returns the base policy when p is a single base policy, and false
// when it is a combination.
func (p MetadataPolicy) Base() (BasePolicy, bool) { return rule(p).base, p.op == opBase }

// Validate returns an error wrapping [ErrInvalidPolicy] when p is the zero
// value, an empty combination, or contains a base policy a metadata policy
// cannot hold.
func (p MetadataPolicy) Validate() error { return rule(p).validate(kindMetadata) }

// Equal reports whether p and q are the same tree, combinator order
// included.
func (p MetadataPolicy) Equal(q MetadataPolicy) bool { return rule(p).equal(rule(q)) }

// Allows reports whether actor may change the attribute p guards.
func (p MetadataPolicy) Allows(actor Participant) bool { return rule(p).eval(actor, "") }

// String returns p in a compact form such as "any(admin, super_admin)".
func (p MetadataPolicy) String() string { return rule(p).String() }

// Base returns the base policy when p is a single base policy, and false
// when it is a combination.
func (p PermissionsPolicy) Base() (BasePolicy, bool) { return rule(p).base, p.op == opBase }

// Validate returns an error wrapping [ErrInvalidPolicy] when p is the zero
// value, an empty combination, or contains [Allow], [AllowSameMember] or an
// unknown base policy.
func (p PermissionsPolicy) Validate() error { return rule(p).validate(kindPermissions) }

// Equal reports whether p and q are the same tree, combinator order
// included.
func (p PermissionsPolicy) Equal(q PermissionsPolicy) bool { return rule(p).equal(rule(q)) }

// Allows reports whether actor may make the admin-list change p guards.
func (p PermissionsPolicy) Allows(actor Participant) bool { return rule(p).eval(actor, "") }

// String returns p in a compact form such as "super_admin".
func (p PermissionsPolicy) String() string { return rule(p).String() }
