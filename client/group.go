package client

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"

	"mlsbridge/identity"
	"mlsbridge/mls"
	"mlsbridge/policy"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
)

// groupIDSize is the length of the random group ids we mint (openmls'
// GroupId::random, as libxmtp uses it; xmtp-groups.md §1.3).
const groupIDSize = 16

// MaxGroupSize is the most inboxes a group may have when members are added
// by identity (xmtp-groups.md §2.5).
const MaxGroupSize = 250

// MembershipState is our local membership state in a group
// (xmtp-groups.md §7). The stored numbers are permanent.
type MembershipState int16

// Membership states.
const (
	MembershipAllowed       MembershipState = 1
	MembershipRejected      MembershipState = 2
	MembershipPending       MembershipState = 3
	MembershipRestored      MembershipState = 4
	MembershipPendingRemove MembershipState = 5
)

// GroupID is an MLS group id, minted at random by the group's creator;
// anyone may compare it, nobody parses it. Its bytes are permanent.
type GroupID []byte

// String returns the lowercase hex form libxmtp shows.
func (id GroupID) String() string { return hex.EncodeToString(id) }

// Group is a handle on one of the client's groups. It is cheap, holds no
// state and is safe for concurrent use; every operation runs on the
// goroutine that owns the group.
type Group struct {
	c  *Client
	id GroupID
}

// ID returns the group id.
func (g *Group) ID() GroupID { return slices.Clone(g.id) }

// Group returns a handle on the group with id, or ErrGroupNotFound.
func (c *Client) Group(ctx context.Context, id GroupID) (*Group, error) {
	if _, err := c.db.Group(ctx, id); errors.Is(err, storage.ErrNotFound) {
		return nil, ErrGroupNotFound
	} else if err != nil {
		return nil, err
	}
	return &Group{c: c, id: slices.Clone(id)}, nil
}

// Groups returns handles on every group of the client, newest first.
func (c *Client) Groups(ctx context.Context) ([]*Group, error) {
	rows, err := c.db.Groups(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Group, len(rows))
	for i, r := range rows {
		out[i] = &Group{c: c, id: r.GroupID}
	}
	return out, nil
}

// CreateGroup creates a group of which we are the only member and sole
// super admin, with the GroupContext libxmtp writes (xmtp-groups.md §1.3):
// our inbox sits in the membership at sequence id 0 until the first
// membership commit. opts may be nil. Nothing is sent to the network.
func (c *Client) CreateGroup(ctx context.Context, opts *GroupOptions) (*Group, error) {
	if !c.isRegistered() {
		return nil, ErrNotRegistered
	}
	if opts == nil {
		opts = &GroupOptions{}
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	exts, err := newGroupExtensions(c.rand, c.inbox, opts)
	if err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	g, err := c.createGroup(ctx, exts, content.ConversationType_CONVERSATION_TYPE_GROUP, "")
	if err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	return g, nil
}

// createGroup creates and stores an MLS group of which we are the only
// member, with the given GroupContext extensions, marks it allowed, and
// announces it to conversation streams.
func (c *Client) createGroup(ctx context.Context, exts []mls.Extension, t content.ConversationType, dmID string) (*Group, error) {
	id := make([]byte, groupIDSize)
	if _, err := io.ReadFull(c.rand, id); err != nil {
		return nil, err
	}
	cred, err := credentialFor(c.inbox)
	if err != nil {
		return nil, err
	}
	g, err := mls.NewGroup(c.mlsConfig(), Suite, id, c.signaturePriv(), cred, leafOptions(c.inbox, c.now()), exts)
	if err != nil {
		return nil, err
	}
	state, err := g.MarshalBinary()
	if err != nil {
		return nil, err
	}
	now := c.nowNs()
	row := storage.ClientGroup{GroupID: id, CreatedNs: now, ConversationType: int32(t), CreatorInboxID: string(c.inbox),
		AddedByInboxID: string(c.inbox), DmID: dmID, MembershipState: int16(MembershipAllowed), Active: true, Epoch: g.Epoch(),
		State: state, LastMessageNs: now, UpdatedNs: now}
	if _, err := c.db.InsertGroup(ctx, row, nil, "", 0); err != nil {
		return nil, err
	}
	if err := c.implicitConsent(ctx, ConsentConversation, GroupID(id).String(), ConsentAllowed); err != nil {
		return nil, err
	}
	c.log.Info("group created", "group_id", GroupID(id).String(), "conversation_type", t.String())
	grp := &Group{c: c, id: id}
	c.events.announce(grp)
	return grp, nil
}

// CreateGroupWithMembers creates a group (see CreateGroup) and adds the
// inboxes (see Group.AddMembers). If the add fails, the group exists with
// only us in it, and the error is returned with it.
func (c *Client) CreateGroupWithMembers(ctx context.Context, opts *GroupOptions, inboxes []identity.InboxID) (*Group, *AddResult, error) {
	g, err := c.CreateGroup(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	if len(inboxes) == 0 {
		return g, &AddResult{}, nil
	}
	res, err := g.AddMembers(ctx, inboxes)
	return g, res, err
}

// saveState persists st's MLS state, epoch, activity and cursor with the
// messages, confirmations, intent changes and pause of p, in one
// transaction. On
// failure the group is reloaded from the database after the operation.
func (c *Client) saveState(ctx context.Context, st *groupState, p storage.GroupProgress) error {
	b, err := st.mls.MarshalBinary()
	if err != nil {
		st.broken = true
		return fmt.Errorf("%w: %w", ErrInternal, err)
	}
	p.GroupID, p.State, p.Epoch, p.Active, p.Cursor, p.UpdatedNs = st.row.GroupID, b, st.mls.Epoch(), st.mls.Active(), st.row.Cursor, c.nowNs()
	if err := c.db.SaveGroupProgress(ctx, p); err != nil {
		st.broken = true
		return fmt.Errorf("save group: %w", err)
	}
	st.row.State, st.row.Epoch, st.row.Active = b, p.Epoch, p.Active
	if p.PausedForVersion != "" {
		st.row.PausedForVersion = p.PausedForVersion
	}
	for _, m := range p.Messages {
		st.row.LastMessageNs = max(st.row.LastMessageNs, m.SentAtNs)
	}
	return nil
}

// GroupInfo is a snapshot of a group's state: its immutable metadata
// (type, creator, DM members), its mutable metadata (attributes, admins),
// its permissions and its membership.
type GroupInfo struct {
	ID GroupID
	// ConversationType and CreatorInboxID are read from the group's
	// current immutable metadata, as libxmtp's group_metadata reads them:
	// a commit that changed it (which libxmtp applies) changes them.
	ConversationType content.ConversationType
	CreatorInboxID   identity.InboxID
	// DMMembers are the two inboxes of a DM, as the DM named them when we
	// joined or created it (libxmtp's dm_id); nil for other conversations.
	DMMembers []identity.InboxID
	// AddedByInboxID is who added us ("" when unknown); our own inbox for
	// groups we created.
	AddedByInboxID identity.InboxID
	// Attributes are the mutable metadata attributes (name, description…).
	Attributes  map[string]string
	Admins      []identity.InboxID
	SuperAdmins []identity.InboxID
	// Permissions are the group's policies.
	Permissions policy.PolicySet
	// Membership maps each member inbox to the identity sequence id the
	// group has applied for it (0 for a creator not yet pinned).
	Membership      map[identity.InboxID]uint64
	Epoch           uint64
	Active          bool
	MembershipState MembershipState
	CreatedNs       int64
	LastActivityNs  int64
	// PausedForVersion is the minimum protocol version the group is
	// paused for, "" when it is not paused (see Group.PausedForVersion).
	PausedForVersion string
}

// Name returns the group_name attribute.
func (i *GroupInfo) Name() string { return i.Attributes[AttrGroupName] }

// Description returns the description attribute.
func (i *GroupInfo) Description() string { return i.Attributes[AttrDescription] }

// ImageURLSquare returns the group_image_url_square attribute.
func (i *GroupInfo) ImageURLSquare() string { return i.Attributes[AttrImageURLSquare] }

// AppData returns the app_data attribute.
func (i *GroupInfo) AppData() string { return i.Attributes[AttrAppData] }

// MinimumSupportedProtocolVersion returns the group's version floor ("":
// none).
func (i *GroupInfo) MinimumSupportedProtocolVersion() string { return i.Attributes[AttrMinVersion] }

// PermissionLevel returns inbox's permission level from the admin lists.
func (i *GroupInfo) PermissionLevel(inbox identity.InboxID) PermissionLevel {
	switch {
	case slices.Contains(i.SuperAdmins, inbox):
		return PermissionSuperAdmin
	case slices.Contains(i.Admins, inbox):
		return PermissionAdmin
	}
	return PermissionMember
}

// DMPeer returns the other member of a DM, and false for other
// conversations.
func (i *GroupInfo) DMPeer(self identity.InboxID) (identity.InboxID, bool) {
	if len(i.DMMembers) != 2 {
		return "", false
	}
	if i.DMMembers[0] == self {
		return i.DMMembers[1], true
	}
	return i.DMMembers[0], true
}

// Info returns the group's current metadata, permissions and membership
// (no network I/O).
func (g *Group) Info(ctx context.Context) (*GroupInfo, error) {
	var info *GroupInfo
	err := g.c.withGroup(ctx, g.id, func(_ context.Context, st *groupState) error {
		var err error
		info, err = g.c.groupInfo(st)
		return err
	})
	return info, err
}

// groupInfo builds the GroupInfo of st; it runs on the group's goroutine.
func (c *Client) groupInfo(st *groupState) (*GroupInfo, error) {
	ext, err := parseGroupExtensions(st.mls.Extensions())
	if err != nil {
		return nil, err
	}
	info := &GroupInfo{ID: slices.Clone(GroupID(st.row.GroupID)), ConversationType: ext.Metadata.GetConversationType(),
		CreatorInboxID: identity.InboxID(ext.Metadata.GetCreatorInboxId()), AddedByInboxID: identity.InboxID(st.row.AddedByInboxID),
		Attributes: map[string]string{}, Permissions: ext.Policies.Clone(), Membership: map[identity.InboxID]uint64{},
		Epoch: st.mls.Epoch(), Active: st.mls.Active(), MembershipState: MembershipState(st.row.MembershipState),
		CreatedNs: st.row.CreatedNs, LastActivityNs: st.row.LastMessageNs, PausedForVersion: st.row.PausedForVersion}
	info.DMMembers = dmMembersOf(st.row.DmID, c.inbox)
	for k, v := range ext.Mutable.GetAttributes() {
		info.Attributes[k] = v
	}
	info.Admins = inboxes(ext.Mutable.GetAdminList().GetInboxIds())
	info.SuperAdmins = inboxes(ext.Mutable.GetSuperAdminList().GetInboxIds())
	for k, v := range ext.Membership.GetMembers() {
		info.Membership[identity.InboxID(k)] = v
	}
	return info, nil
}

func inboxes(ss []string) []identity.InboxID {
	out := make([]identity.InboxID, len(ss))
	for i, s := range ss {
		out[i] = identity.InboxID(s)
	}
	return out
}

// PermissionLevel is a member's role from the group's admin lists, with
// libxmtp's numbers (Member 0, Admin 1, SuperAdmin 2).
type PermissionLevel int8

// Permission levels.
const (
	PermissionMember     PermissionLevel = 0
	PermissionAdmin      PermissionLevel = 1
	PermissionSuperAdmin PermissionLevel = 2
)

func (l PermissionLevel) String() string {
	switch l {
	case PermissionAdmin:
		return "admin"
	case PermissionSuperAdmin:
		return "super_admin"
	}
	return "member"
}

// Member is one inbox of a group, as libxmtp lists it.
type Member struct {
	InboxID         identity.InboxID
	PermissionLevel PermissionLevel
	// Installations and Addresses are the inbox's installations and
	// Ethereum addresses in its identity state at the sequence id the
	// group applied for it.
	Installations []identity.InstallationID
	Addresses     []identity.Address
	// ConsentState is our consent for the inbox.
	ConsentState ConsentState
}

// Members lists the group's members with their permission levels, sorted
// by inbox id (libxmtp's members: each inbox of the membership with its
// identity state at the group's sequence id; a creator not yet pinned is
// listed at its latest state). It fetches identity updates only for inboxes
// whose state it has not seen yet.
func (g *Group) Members(ctx context.Context) ([]Member, error) {
	info, err := g.Info(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]identity.InboxID, 0, len(info.Membership))
	for in := range info.Membership {
		ids = append(ids, in)
	}
	slices.Sort(ids)
	logs, err := g.c.identityLogsAtLeast(ctx, ids, info.Membership)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	ents := make([]string, len(ids))
	for i, in := range ids {
		ents[i] = string(in)
	}
	consent, err := g.c.consentStates(ctx, ConsentInbox, ents)
	if err != nil {
		return nil, err
	}
	out := make([]Member, 0, len(ids))
	for _, in := range ids {
		m := Member{InboxID: in, PermissionLevel: info.PermissionLevel(in), ConsentState: consent[string(in)]}
		if st, err := stateAtOrTip(logs[in], info.Membership[in]); err == nil && st != nil {
			m.Installations, m.Addresses = st.Installations(), st.Addresses()
		} else if err != nil {
			return nil, fmt.Errorf("members: inbox %s: %w", in, err)
		}
		out = append(out, m)
	}
	return out, nil
}
