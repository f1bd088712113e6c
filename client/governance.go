package client

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"mlsbridge/identity"
	"mlsbridge/mls"
	"mlsbridge/policy"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
)

// Intent kinds of the GroupContextExtensions-only commits (xmtp-groups.md
// §3.3, §4.2). The numbers are libxmtp's IntentKind numbers for the same
// intents; like every stored kind they are permanent.
const (
	// IntentMetadataUpdate publishes a commit changing one attribute of
	// the mutable metadata (extension 0xFF00).
	IntentMetadataUpdate IntentKind = 3
	// IntentUpdateAdminList publishes a commit changing the admin or
	// super-admin list (extension 0xFF00).
	IntentUpdateAdminList IntentKind = 5
	// IntentUpdatePermission publishes a commit replacing the permissions
	// (extension 0xFF02).
	IntentUpdatePermission IntentKind = 6
)

// contextPlan is one GroupContextExtensions-only commit to make: the full
// new extension list, and the change it makes as the permission rules see
// it.
type contextPlan struct {
	kind   IntentKind
	change policy.Change
	exts   []mls.Extension
}

// contextBuilder computes the commit to make from the group's current
// extensions (ext, decoded from st). It returns nil when the group already
// is as asked: nothing is committed then.
type contextBuilder func(st *groupState, ext *GroupExtensions) (*contextPlan, error)

// commitGroupContext plans, checks, stages, publishes and confirms one
// GroupContextExtensions-only commit, as libxmtp publishes its metadata,
// admin-list and permission intents (xmtp-groups.md §4.2): the group is
// settled first; build computes the new extensions from the current epoch;
// the change is checked against the group's permissions for our own role
// (policy.EvaluateIntent, which names the deciding rule in a
// *policy.DeniedError); the commit is stored as an intent with the pending
// MLS state in one transaction, published, and merged only when it comes
// back in a sync. When another member's commit wins the epoch the change is
// planned again on the new epoch (and checked again), up to
// maxCommitAttempts times. It returns the commit's cursor, 0 when nothing
// needed committing. It runs on the group's goroutine.
func (c *Client) commitGroupContext(ctx context.Context, st *groupState, build contextBuilder) (uint64, error) {
	if !st.mls.Active() {
		return 0, ErrInactiveGroup
	}
	for attempt := 1; ; attempt++ {
		if err := c.settleCommits(ctx, st); err != nil {
			return 0, err
		}
		if !st.mls.Active() {
			return 0, ErrInactiveGroup
		}
		ext, err := parseGroupExtensions(st.mls.Extensions())
		if err != nil {
			return 0, fmt.Errorf("%w: our own group: %w", ErrInternal, err)
		}
		plan, err := build(st, ext)
		if err != nil || plan == nil {
			return 0, err
		}
		if err := policy.EvaluateIntent(policyState(ext), plan.change).Err(); err != nil {
			return 0, err
		}
		in, err := c.stageContextCommit(ctx, st, plan)
		if err != nil {
			return 0, err
		}
		cursor, err := c.publishCommit(ctx, st, in)
		if errors.Is(err, ErrCommitConflict) && attempt < maxCommitAttempts {
			c.log.Info("group context commit lost its epoch; retrying", "group_id", GroupID(st.row.GroupID).String(), "attempt", attempt)
			continue
		}
		if err != nil {
			return 0, err
		}
		c.log.Info("group context changed", "group_id", GroupID(st.row.GroupID).String(), "epoch", st.mls.Epoch(),
			"intent_kind", int(plan.kind))
		return cursor, nil
	}
}

// stageContextCommit builds the plan's commit (a GroupContextExtensions
// proposal, committed with a path) and stores it as an intent in the same
// transaction as the MLS state holding it pending.
func (c *Client) stageContextCommit(ctx context.Context, st *groupState, plan *contextPlan) (*storage.ClientIntent, error) {
	res, err := st.mls.Commit(mls.CommitOptions{GroupContextExtensions: plan.exts})
	if err != nil {
		return nil, fmt.Errorf("build commit: %w", err)
	}
	payload, err := res.Commit.Bytes()
	if err != nil {
		st.mls.ClearPendingCommit()
		return nil, fmt.Errorf("%w: encode commit: %w", ErrInternal, err)
	}
	now := c.nowNs()
	in := &storage.ClientIntent{GroupID: st.row.GroupID, Kind: int16(plan.kind), State: int16(IntentToPublish),
		Payload: payload, PublishedEpoch: st.mls.Epoch(), CreatedNs: now, UpdatedNs: now}
	if err := c.saveState(ctx, st, storage.GroupProgress{Intents: []*storage.ClientIntent{in}}); err != nil {
		st.mls.ClearPendingCommit()
		return nil, err
	}
	st.own[payloadKey(payload)] = ownPayload{intentID: in.ID, kind: plan.kind}
	return in, nil
}

// mutablePlan returns the commit replacing the mutable metadata (0xFF00)
// with a copy edited by edit, or nil when edit changes nothing the
// permission rules see (no attribute value, no list membership).
func (c *Client) mutablePlan(kind IntentKind, st *groupState, ext *GroupExtensions,
	edit func(m *content.GroupMutableMetadataV1)) (*contextPlan, error) {
	next, ok := proto.Clone(ext.Mutable).(*content.GroupMutableMetadataV1)
	if !ok {
		return nil, fmt.Errorf("%w: clone mutable metadata", ErrInternal)
	}
	if next.Attributes == nil {
		next.Attributes = map[string]string{}
	}
	edit(next)
	md := policy.DiffMetadata(policyMetadata(ext.Mutable), policyMetadata(next))
	if md.IsEmpty() {
		return nil, nil
	}
	e, err := protoExtension(ExtensionMutableMetadata, next)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInternal, err)
	}
	return &contextPlan{kind: kind, change: policy.Change{Actor: c.inbox, Metadata: md},
		exts: withExtension(st.mls.Extensions(), e)}, nil
}

// runContextChange runs one GroupContextExtensions-only change on the
// group's goroutine and names the operation in its error.
func (g *Group) runContextChange(ctx context.Context, op string, build contextBuilder) error {
	err := g.c.withGroup(ctx, g.id, func(ctx context.Context, st *groupState) error {
		_, err := g.c.commitGroupContext(ctx, st, build)
		return err
	})
	if err != nil {
		return fmt.Errorf("client: %s: %w", op, err)
	}
	return nil
}

// adminAction is one change of the admin lists (libxmtp's
// AdminListActionType, xmtp-groups.md §3.3).
type adminAction uint8

const (
	adminAdd adminAction = iota + 1
	adminRemove
	superAdminAdd
	superAdminRemove
)

var adminActionNames = map[adminAction]string{adminAdd: "add admin", adminRemove: "remove admin",
	superAdminAdd: "add super admin", superAdminRemove: "remove super admin"}

// AddAdmin puts inbox on the group's admin list (at its end; nothing is
// committed if it is already there), in a commit that changes only the
// mutable metadata. As in libxmtp, inbox need not be a member. The group's
// add_admin policy must allow us (the presets: super admins only); a
// refusal, checked before anything is published, is a *policy.DeniedError
// naming the rule. DMs have no admins (rule dm_immutable). It blocks until
// the commit is merged.
func (g *Group) AddAdmin(ctx context.Context, inbox identity.InboxID) error {
	return g.updateAdminList(ctx, adminAdd, inbox)
}

// RemoveAdmin takes inbox off the group's admin list (nothing is committed
// if it is not on it), under the remove_admin policy; see AddAdmin. A
// super admin who is also on the admin list stays a super admin.
func (g *Group) RemoveAdmin(ctx context.Context, inbox identity.InboxID) error {
	return g.updateAdminList(ctx, adminRemove, inbox)
}

// AddSuperAdmin puts inbox on the super-admin list. Only super admins may
// (a hard-coded rule, xmtp-groups.md §3.4: add_super_admin); see AddAdmin.
func (g *Group) AddSuperAdmin(ctx context.Context, inbox identity.InboxID) error {
	return g.updateAdminList(ctx, superAdminAdd, inbox)
}

// RemoveSuperAdmin takes inbox off the super-admin list. Only super admins
// may (remove_super_admin), and never the last one (last_super_admin);
// a super admin may remove itself while another remains. A super admin
// must be demoted this way before it can be removed from the group.
func (g *Group) RemoveSuperAdmin(ctx context.Context, inbox identity.InboxID) error {
	return g.updateAdminList(ctx, superAdminRemove, inbox)
}

func (g *Group) updateAdminList(ctx context.Context, action adminAction, inbox identity.InboxID) error {
	op := adminActionNames[action]
	if !inbox.Valid() {
		return fmt.Errorf("client: %s: %w: inbox id %q", op, ErrInvalidArgument, inbox)
	}
	return g.runContextChange(ctx, op, func(st *groupState, ext *GroupExtensions) (*contextPlan, error) {
		return g.c.mutablePlan(IntentUpdateAdminList, st, ext, func(m *content.GroupMutableMetadataV1) {
			switch action {
			case adminAdd:
				m.AdminList.InboxIds = appendInbox(m.AdminList.InboxIds, inbox)
			case adminRemove:
				m.AdminList.InboxIds = removeInbox(m.AdminList.InboxIds, inbox)
			case superAdminAdd:
				m.SuperAdminList.InboxIds = appendInbox(m.SuperAdminList.InboxIds, inbox)
			case superAdminRemove:
				m.SuperAdminList.InboxIds = removeInbox(m.SuperAdminList.InboxIds, inbox)
			}
		})
	})
}

// appendInbox adds id at the end of list unless it is there already (the
// lists keep insertion order, xmtp-groups.md §2.3).
func appendInbox(list []string, id identity.InboxID) []string {
	if slices.Contains(list, string(id)) {
		return list
	}
	return append(list, string(id))
}

// removeInbox drops every occurrence of id from list.
func removeInbox(list []string, id identity.InboxID) []string {
	return slices.DeleteFunc(list, func(s string) bool { return s == string(id) })
}

// Admins returns the group's admin list, in insertion order, as of the
// last synced epoch (no network I/O). Super admins appear only if they
// were also made admins.
func (g *Group) Admins(ctx context.Context) ([]identity.InboxID, error) {
	info, err := g.Info(ctx)
	if err != nil {
		return nil, err
	}
	return info.Admins, nil
}

// SuperAdmins returns the group's super-admin list, in insertion order, as
// of the last synced epoch (no network I/O).
func (g *Group) SuperAdmins(ctx context.Context) ([]identity.InboxID, error) {
	info, err := g.Info(ctx)
	if err != nil {
		return nil, err
	}
	return info.SuperAdmins, nil
}

// IsAdmin reports whether inbox is on the admin list, as libxmtp's
// is_admin does: a super admin not on that list is not an admin here,
// though every admin policy lets it act (no network I/O).
func (g *Group) IsAdmin(ctx context.Context, inbox identity.InboxID) (bool, error) {
	admins, err := g.Admins(ctx)
	return slices.Contains(admins, inbox), err
}

// IsSuperAdmin reports whether inbox is on the super-admin list (no
// network I/O).
func (g *Group) IsSuperAdmin(ctx context.Context, inbox identity.InboxID) (bool, error) {
	supers, err := g.SuperAdmins(ctx)
	return slices.Contains(supers, inbox), err
}

// PermissionPolicySet returns the group's permissions (extension 0xFF02)
// as of the last synced epoch (no network I/O); the caller owns the copy.
// [policy.PolicySet.Preset] tells a preset from a custom set as libxmtp
// does.
func (g *Group) PermissionPolicySet(ctx context.Context) (policy.PolicySet, error) {
	info, err := g.Info(ctx)
	if err != nil {
		return policy.PolicySet{}, err
	}
	return info.Permissions, nil
}

// UpdatePermissionPolicy replaces one of the group's policies by the base
// policy b, as libxmtp's update_permission_policy does (xmtp-groups.md
// §3.3): t names the policy; field names the attribute when t is
// policy.UpdateMetadataField (only that entry of the metadata policies is
// inserted or replaced) and must be empty otherwise. Every other policy is
// copied, and the commit changes only the permissions extension. Bad
// arguments (see policy.UpdatePermissionPolicy; Allow is refused for the
// admin policies, which libxmtp silently turns into super-admin-only) wrap
// policy.ErrInvalidPermissionUpdate. Only super admins may change
// permissions (update_permissions, xmtp-groups.md §3.4), and never in a DM
// (dm_immutable); a refusal is a *policy.DeniedError. Nothing is committed
// when the policy already is b. It blocks until the commit is merged.
func (g *Group) UpdatePermissionPolicy(ctx context.Context, t policy.PermissionUpdateType, b policy.BasePolicy, field policy.MetadataField) error {
	const op = "update permission policy"
	if _, err := policy.UpdatePermissionPolicy(policy.PolicySet{}, t, b, field); err != nil {
		return fmt.Errorf("client: %s: %w", op, err)
	}
	return g.runContextChange(ctx, op, func(st *groupState, ext *GroupExtensions) (*contextPlan, error) {
		next, err := policy.UpdatePermissionPolicy(ext.Policies, t, b, field)
		if err != nil {
			return nil, err
		}
		if next.Equal(ext.Policies) {
			return nil, nil
		}
		raw, err := policy.Marshal(next)
		if err != nil {
			return nil, fmt.Errorf("encode permissions: %w", err)
		}
		e := mls.Extension{Type: ExtensionGroupPermissions, Data: raw}
		return &contextPlan{kind: IntentUpdatePermission, change: policy.Change{Actor: g.c.inbox, Permissions: &next},
			exts: withExtension(st.mls.Extensions(), e)}, nil
	})
}
