package client

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"mlsbridge/identity"
	"mlsbridge/mls"
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
	id := make([]byte, groupIDSize)
	if _, err := io.ReadFull(c.rand, id); err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	exts, err := newGroupExtensions(c.rand, c.inbox, opts)
	if err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	cred, err := credentialFor(c.inbox)
	if err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	g, err := mls.NewGroup(c.mlsConfig(), Suite, id, c.signaturePriv(), cred, leafOptions(c.inbox, c.now()), exts)
	if err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	state, err := g.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	now := c.nowNs()
	row := storage.ClientGroup{GroupID: id, CreatedNs: now, ConversationType: int32(content.ConversationType_CONVERSATION_TYPE_GROUP),
		CreatorInboxID: string(c.inbox), AddedByInboxID: string(c.inbox), MembershipState: int16(MembershipAllowed),
		Active: true, Epoch: g.Epoch(), State: state, LastMessageNs: now, UpdatedNs: now}
	if _, err := c.db.InsertGroup(ctx, row, nil, "", 0); err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	c.log.Info("group created", "group_id", GroupID(id).String())
	return &Group{c: c, id: id}, nil
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

// saveState persists st's MLS state, epoch, activity and cursor, with msgs,
// in one transaction.
func (c *Client) saveState(ctx context.Context, st *groupState, msgs []storage.ClientMessage) error {
	b, err := st.mls.MarshalBinary()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInternal, err)
	}
	st.row.State, st.row.Epoch, st.row.Active = b, st.mls.Epoch(), st.mls.Active()
	err = c.db.SaveGroupProgress(ctx, storage.GroupProgress{GroupID: st.row.GroupID, State: b, Epoch: st.row.Epoch,
		Active: st.row.Active, Cursor: st.row.Cursor, UpdatedNs: c.nowNs()}, msgs)
	if err != nil {
		return fmt.Errorf("save group: %w", err)
	}
	return nil
}

// GroupInfo is a snapshot of a group's state.
type GroupInfo struct {
	ID               GroupID
	ConversationType content.ConversationType
	CreatorInboxID   identity.InboxID
	AddedByInboxID   identity.InboxID
	// Attributes are the mutable metadata attributes (name, description…).
	Attributes  map[string]string
	Admins      []identity.InboxID
	SuperAdmins []identity.InboxID
	// Membership maps each member inbox to the identity sequence id the
	// group has applied for it.
	Membership      map[identity.InboxID]uint64
	Epoch           uint64
	Active          bool
	MembershipState MembershipState
	CreatedNs       int64
}

// Name returns the group_name attribute.
func (i *GroupInfo) Name() string { return i.Attributes[AttrGroupName] }

// Info returns the group's current metadata, admins and membership.
func (g *Group) Info(ctx context.Context) (*GroupInfo, error) {
	var info *GroupInfo
	err := g.c.withGroup(ctx, g.id, func(_ context.Context, st *groupState) error {
		ext, err := parseGroupExtensions(st.mls.Extensions())
		if err != nil {
			return err
		}
		info = &GroupInfo{ID: slices.Clone(g.id), ConversationType: ext.Metadata.GetConversationType(),
			CreatorInboxID: identity.InboxID(ext.Metadata.GetCreatorInboxId()), AddedByInboxID: identity.InboxID(st.row.AddedByInboxID),
			Attributes: map[string]string{}, Membership: map[identity.InboxID]uint64{}, Epoch: st.mls.Epoch(),
			Active: st.mls.Active(), MembershipState: MembershipState(st.row.MembershipState), CreatedNs: st.row.CreatedNs}
		for k, v := range ext.Mutable.GetAttributes() {
			info.Attributes[k] = v
		}
		info.Admins = inboxes(ext.Mutable.GetAdminList().GetInboxIds())
		info.SuperAdmins = inboxes(ext.Mutable.GetSuperAdminList().GetInboxIds())
		for k, v := range ext.Membership.GetMembers() {
			info.Membership[identity.InboxID(k)] = v
		}
		return nil
	})
	return info, err
}

func inboxes(ss []string) []identity.InboxID {
	out := make([]identity.InboxID, len(ss))
	for i, s := range ss {
		out[i] = identity.InboxID(s)
	}
	return out
}

// Member is one inbox of a group with its installations in the tree.
type Member struct {
	InboxID       identity.InboxID
	Installations []identity.InstallationID
}

// Members returns the group's members from the ratchet tree, grouped by
// inbox and sorted by inbox id.
func (g *Group) Members(ctx context.Context) ([]Member, error) {
	var out []Member
	err := g.c.withGroup(ctx, g.id, func(_ context.Context, st *groupState) error {
		by := map[identity.InboxID][]identity.InstallationID{}
		for _, m := range st.mls.Members() {
			inbox, err := inboxOfLeaf(&m.LeafNode)
			if err != nil {
				continue
			}
			inst, err := identity.InstallationIDFromBytes(m.LeafNode.SignatureKey)
			if err != nil {
				continue
			}
			by[inbox] = append(by[inbox], inst)
		}
		for inbox, insts := range by {
			out = append(out, Member{InboxID: inbox, Installations: insts})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].InboxID < out[j].InboxID })
		return nil
	})
	return out, err
}
