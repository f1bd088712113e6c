package policy

import (
	"fmt"
	"slices"

	"mlsbridge/identity"
)

// Role is a member's permission level in a group, taken from the group's
// admin and super-admin lists (xmtp-groups §2.3). The zero value is
// [RoleMember].
type Role uint8

const (
	// RoleMember is any member on neither admin list.
	RoleMember Role = iota
	// RoleAdmin is a member on the admin list and not on the super-admin
	// list.
	RoleAdmin
	// RoleSuperAdmin is a member on the super-admin list, whether or not
	// it is also on the admin list.
	RoleSuperAdmin
)

// String returns "member", "admin" or "super admin".
func (r Role) String() string {
	switch r {
	case RoleMember:
		return "member"
	case RoleAdmin:
		return "admin"
	case RoleSuperAdmin:
		return "super admin"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// withArticle returns "a member", "an admin" or "a super admin".
func (r Role) withArticle() string {
	if r == RoleAdmin {
		return "an admin"
	}
	return "a " + r.String()
}

// atLeastAdmin reports what libxmtp's "is_admin || is_super_admin" does.
func (r Role) atLeastAdmin() bool { return r == RoleAdmin || r == RoleSuperAdmin }

// Participant is someone acting on a group: the committer of a commit, or
// the proposer of one of its proposals. Role comes from the group's
// pre-commit admin lists (xmtp-groups §3.1).
type Participant struct {
	Inbox identity.InboxID
	Role  Role
}

// Metadata is the pre-commit content of a group's mutable metadata
// (GroupContext extension 0xFF00, xmtp-groups §2.3) that policies read.
// Attributes may be nil (no attributes); the lists keep insertion order and
// may be nil (empty).
type Metadata struct {
	Attributes  map[MetadataField]string
	Admins      []identity.InboxID
	SuperAdmins []identity.InboxID
}

// IsAdmin reports whether id is on the admin list. A super admin who is
// not on that list is not an admin here, but passes every admin policy.
func (m Metadata) IsAdmin(id identity.InboxID) bool { return slices.Contains(m.Admins, id) }

// IsSuperAdmin reports whether id is on the super-admin list.
func (m Metadata) IsSuperAdmin(id identity.InboxID) bool {
	return slices.Contains(m.SuperAdmins, id)
}

// RoleOf returns id's permission level.
func (m Metadata) RoleOf(id identity.InboxID) Role {
	switch {
	case m.IsSuperAdmin(id):
		return RoleSuperAdmin
	case m.IsAdmin(id):
		return RoleAdmin
	}
	return RoleMember
}

// Participant returns id with its permission level.
func (m Metadata) Participant(id identity.InboxID) Participant {
	return Participant{Inbox: id, Role: m.RoleOf(id)}
}
