package client

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"mlsbridge/identity"
	"mlsbridge/mls"
	"mlsbridge/policy"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
)

// DMID is the local key of the DM between two inboxes (xmtp-groups.md §6):
// "dm:" + both inbox ids in lowercase, sorted, joined by ":". Every MLS
// group of the same two inboxes (created by either side, possibly at the
// same time) has the same DMID and is "stitched" with the others. It is
// computed, never minted; its stored format is permanent.
type DMID string

// ComputeDMID returns the DMID of a and b (in either order).
func ComputeDMID(a, b identity.InboxID) DMID {
	x, y := strings.ToLower(string(a)), strings.ToLower(string(b))
	if y < x {
		x, y = y, x
	}
	return DMID("dm:" + x + ":" + y)
}

// dmID is the DMID of a group's immutable metadata, or "" for other
// conversations.
func dmID(md *content.GroupMetadataV1) string {
	dm := md.GetDmMembers()
	if dm == nil {
		return ""
	}
	return string(ComputeDMID(identity.InboxID(dm.GetDmMemberOne().GetInboxId()), identity.InboxID(dm.GetDmMemberTwo().GetInboxId())))
}

// dmMembersOf returns the two inboxes of the stored DMID id of one of
// self's DMs, in the id's order, or nil when id is "" (not a DM) or does
// not name self. Like libxmtp's dm_id, it is what the DM named when we
// joined or created it: a later commit changing the immutable metadata
// does not change it (see commitContextExtensions).
func dmMembersOf(id string, self identity.InboxID) []identity.InboxID {
	rest, ok := strings.CutPrefix(id, "dm:")
	me := strings.ToLower(string(self))
	if !ok || me == "" {
		return nil
	}
	if other, ok := strings.CutPrefix(rest, me+":"); ok && other != "" {
		return []identity.InboxID{identity.InboxID(me), identity.InboxID(other)}
	}
	if other, ok := strings.CutSuffix(rest, ":"+me); ok && other != "" {
		return []identity.InboxID{identity.InboxID(other), identity.InboxID(me)}
	}
	return nil
}

// ErrDMWithSelf is returned when asked for a DM with our own inbox.
var ErrDMWithSelf = errors.New("client: cannot start a DM with our own inbox")

// FindOrCreateDM returns our DM with peer (see FindDM), or creates one as
// libxmtp does (xmtp-groups.md §6): a group of type DM naming both inboxes,
// the DM metadata defaults and the DM policy set, then one commit adding
// peer (and pinning our own identity). The new DM is allowed. created
// reports whether it was made now. If peer cannot be added (no inbox, no
// usable key package) no DM is kept and the error says why.
func (c *Client) FindOrCreateDM(ctx context.Context, peer identity.InboxID) (g *Group, created bool, err error) {
	return c.FindOrCreateDMWithOptions(ctx, peer, nil)
}

// DMOptions are the optional settings of a new DM (libxmtp's
// DMMetadataOptions).
type DMOptions struct {
	// MessageDisappearing, when set, writes both disappearing-message
	// attributes at creation (xmtp-groups.md §2.4, §9); nil writes neither.
	MessageDisappearing *DisappearingSettings
}

// FindOrCreateDMWithOptions is FindOrCreateDM whose new DM (if one is made)
// has opts' settings; opts may be nil. An existing DM is returned as it is.
func (c *Client) FindOrCreateDMWithOptions(ctx context.Context, peer identity.InboxID, opts *DMOptions) (g *Group, created bool, err error) {
	if opts == nil {
		opts = &DMOptions{}
	}
	if g, err := c.FindDM(ctx, peer); err == nil {
		if err := c.finishDM(ctx, g, peer); err != nil {
			return nil, false, err
		}
		return g, false, nil
	} else if !errors.Is(err, ErrGroupNotFound) {
		return nil, false, err
	}
	exts, err := newDMExtensions(c.rand, c.inbox, peer, opts.MessageDisappearing)
	if err != nil {
		return nil, false, fmt.Errorf("create dm: %w", err)
	}
	g, err = c.createGroup(ctx, exts, content.ConversationType_CONVERSATION_TYPE_DM, string(ComputeDMID(c.inbox, peer)))
	if err != nil {
		return nil, false, fmt.Errorf("create dm: %w", err)
	}
	crashPoint("dm.after_create")
	if _, err := g.AddMembers(ctx, []identity.InboxID{peer}); err != nil {
		if derr := c.discardGroup(ctx, g.id); derr != nil {
			c.log.Error("discard unused dm failed", "group_id", g.id.String(), "err", derr)
		}
		return nil, false, fmt.Errorf("create dm: %w", err)
	}
	return g, true, nil
}

// finishDM adds peer to a DM we created that lacks it. A client that died
// after storing a new DM but before storing the commit that adds the peer
// (crash point dm.after_create) left a DM with only us in it; returning it
// as it is would put every message sent there where nobody reads it. When
// the adding commit was stored but is not merged yet, AddMembers publishes
// that commit first, then finds the peer in and commits nothing more.
func (c *Client) finishDM(ctx context.Context, g *Group, peer identity.InboxID) error {
	info, err := g.Info(ctx)
	if err != nil {
		return fmt.Errorf("find dm: %w", err)
	}
	if _, ok := info.Membership[peer]; ok || info.CreatorInboxID != c.inbox {
		return nil
	}
	c.log.Warn("dm without its peer; adding it", "group_id", g.id.String())
	if _, err := g.AddMembers(ctx, []identity.InboxID{peer}); err != nil {
		return fmt.Errorf("find dm: %w", err)
	}
	return nil
}

// FindOrCreateDMByAddress resolves an Ethereum address to its inbox and
// returns FindOrCreateDM for it.
func (c *Client) FindOrCreateDMByAddress(ctx context.Context, addr identity.Address) (*Group, bool, error) {
	peer, ok, err := c.InboxIDFor(ctx, addr)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		return nil, false, fmt.Errorf("create dm: %w: %s has no inbox", ErrInboxNotFound, addr)
	}
	return c.FindOrCreateDM(ctx, peer)
}

// FindDM returns our DM with peer without network I/O: of the stitched DM
// groups with their DMID that we are still in (restored stubs excluded),
// the one with the latest activity. It returns ErrGroupNotFound when there
// is none.
func (c *Client) FindDM(ctx context.Context, peer identity.InboxID) (*Group, error) {
	if !peer.Valid() {
		return nil, fmt.Errorf("%w: inbox id %q", ErrInvalidArgument, peer)
	}
	if strings.EqualFold(string(peer), string(c.inbox)) {
		return nil, ErrDMWithSelf
	}
	rows, err := c.db.FindGroups(ctx, storage.GroupQuery{DmID: string(ComputeDMID(c.inbox, peer)), ActiveOnly: true,
		MembershipStates: []int16{int16(MembershipAllowed), int16(MembershipPending), int16(MembershipRejected), int16(MembershipPendingRemove)},
		ByLastActivity:   true, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, ErrGroupNotFound
	}
	return &Group{c: c, id: rows[0].GroupID}, nil
}

// DuplicateDMs returns the other groups stitched with this DM (same DMID),
// latest activity first; none for a group that is not a DM.
func (g *Group) DuplicateDMs(ctx context.Context) ([]*Group, error) {
	ids, err := g.c.stitchedIDs(ctx, g.id)
	if err != nil {
		return nil, err
	}
	var out []*Group
	for _, id := range ids {
		if string(id) != string(g.id) {
			out = append(out, &Group{c: g.c, id: id})
		}
	}
	return out, nil
}

// stitchedIDs returns the ids of the groups stitched with group id (id
// itself first, then by latest activity): every group with its DMID, or
// just id for a group that is not a DM.
func (c *Client) stitchedIDs(ctx context.Context, id GroupID) ([]GroupID, error) {
	row, err := c.db.Group(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrGroupNotFound
	} else if err != nil {
		return nil, err
	}
	out := []GroupID{id}
	if row.DmID == "" {
		return out, nil
	}
	rows, err := c.db.FindGroups(ctx, storage.GroupQuery{DmID: row.DmID, ByLastActivity: true})
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if string(r.GroupID) != string(id) {
			out = append(out, r.GroupID)
		}
	}
	return out, nil
}

// discardGroup deletes a group that never reached the network, stopping
// its goroutine first.
func (c *Client) discardGroup(ctx context.Context, id GroupID) error {
	err := c.withGroup(ctx, id, func(ctx context.Context, st *groupState) error {
		if err := c.db.DeleteGroup(ctx, id); err != nil {
			return err
		}
		st.broken = true
		return nil
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	a := c.actors[string(id)]
	delete(c.actors, string(id))
	c.mu.Unlock()
	if a != nil {
		close(a.quit)
	}
	return nil
}

// newDMExtensions returns the GroupContext extensions libxmtp writes for a
// new DM (xmtp-groups.md §2.4, §6): DM metadata naming us (first) and peer,
// empty name, description and image, no app_data, the disappearing
// settings ds when not nil, empty admin lists, a fresh commit-log signer,
// membership {us: 0}, the DM policy set and the required capabilities.
func newDMExtensions(rand io.Reader, self, peer identity.InboxID, ds *DisappearingSettings) ([]mls.Extension, error) {
	if !peer.Valid() {
		return nil, fmt.Errorf("%w: inbox id %q", ErrInvalidArgument, peer)
	}
	if strings.EqualFold(string(peer), string(self)) {
		return nil, ErrDMWithSelf
	}
	imm, err := immutableMetadataExtension(&content.GroupMetadataV1{
		ConversationType: content.ConversationType_CONVERSATION_TYPE_DM,
		CreatorInboxId:   string(self),
		DmMembers: &content.DmMembers{DmMemberOne: &content.Inbox{InboxId: string(self)},
			DmMemberTwo: &content.Inbox{InboxId: string(peer)}},
	})
	if err != nil {
		return nil, err
	}
	signer := make([]byte, commitLogSignerKeySize)
	if _, err := io.ReadFull(rand, signer); err != nil {
		return nil, fmt.Errorf("generate commit log signer: %w", err)
	}
	mut, err := protoExtension(ExtensionMutableMetadata, &content.GroupMutableMetadataV1{
		Attributes: withDisappearing(map[string]string{AttrGroupName: "", AttrDescription: "", AttrImageURLSquare: "",
			AttrCommitLogSigner: hex.EncodeToString(signer)}, ds),
		AdminList:      &content.Inboxes{InboxIds: []string{}},
		SuperAdminList: &content.Inboxes{InboxIds: []string{}},
	})
	if err != nil {
		return nil, err
	}
	mem, err := protoExtension(ExtensionGroupMembership, &content.GroupMembership{Members: map[string]uint64{string(self): 0}})
	if err != nil {
		return nil, err
	}
	permBytes, err := policy.Marshal(policy.DM())
	if err != nil {
		return nil, fmt.Errorf("%w: encode dm permissions: %w", ErrInternal, err)
	}
	perm := mls.Extension{Type: ExtensionGroupPermissions, Data: permBytes}
	return []mls.Extension{imm, mut, mem, perm, requiredCapabilities()}, nil
}
