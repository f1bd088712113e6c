package client

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"mlsbridge/identity"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
)

// Direction orders query results.
type Direction int8

// Directions.
const (
	// Ascending: oldest first (the zero value).
	Ascending Direction = iota
	// Descending: newest first.
	Descending
)

// MessageQuery filters FindMessages, as libxmtp's MsgQueryArgs. The zero
// value returns every stored message, oldest first.
type MessageQuery struct {
	// SentAfterNs and SentBeforeNs bound the sent time (Unix ns)
	// exclusively; 0 means no bound. InsertedAfterNs and InsertedBeforeNs
	// bound the time the message was stored here alike.
	SentAfterNs, SentBeforeNs         int64
	InsertedAfterNs, InsertedBeforeNs int64
	// Kind and DeliveryStatus keep one value; 0 means any.
	Kind           MessageKind
	DeliveryStatus DeliveryStatus
	// ContentTypes keeps the messages whose content type id (the type_id of
	// xmtp.org types: "text", "reply", "reaction", "group_updated"…) is
	// listed; nil means any. ExcludeContentTypes drops the listed ones.
	ContentTypes        []string
	ExcludeContentTypes []string
	// ExcludeSenders drops the messages of these inboxes.
	ExcludeSenders []identity.InboxID
	// Limit caps the result; 0 means no limit.
	Limit     int
	Direction Direction
	// SortByInserted orders by the time stored here instead of the sent
	// time.
	SortByInserted bool
	// IncludeDenied keeps the messages of inboxes whose consent is
	// denied, which are dropped otherwise (see consent.go).
	IncludeDenied bool
}

func (q *MessageQuery) storage(ids []GroupID) storage.MessageQuery {
	sq := storage.MessageQuery{SentAfterNs: q.SentAfterNs, SentBeforeNs: q.SentBeforeNs, InsertedAfterNs: q.InsertedAfterNs,
		InsertedBeforeNs: q.InsertedBeforeNs, Kind: int16(q.Kind), DeliveryStatus: int16(q.DeliveryStatus), TypeIDs: q.ContentTypes,
		ExcludeTypeIDs: q.ExcludeContentTypes, Limit: q.Limit, Descending: q.Direction == Descending, ByInsertion: q.SortByInserted}
	for _, id := range ids {
		sq.GroupIDs = append(sq.GroupIDs, id)
	}
	for _, s := range q.ExcludeSenders {
		sq.ExcludeSenders = append(sq.ExcludeSenders, string(s))
	}
	return sq
}

// FindMessages returns the group's stored messages that q selects (no
// network I/O: Sync first to fetch new ones). A DM returns the messages of
// every group it is stitched with. q may be nil.
func (g *Group) FindMessages(ctx context.Context, q *MessageQuery) ([]Message, error) {
	if q == nil {
		q = &MessageQuery{}
	}
	ids, err := g.c.stitchedIDs(ctx, g.id)
	if err != nil {
		return nil, err
	}
	rows, err := g.c.messageRows(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Message, len(rows))
	for i := range rows {
		out[i] = messageFromRow(&rows[i])
	}
	return out, nil
}

// messageRows returns the stored rows of the groups ids that q selects
// (expired messages and, unless q says otherwise, denied senders left
// out), in q's order.
func (c *Client) messageRows(ctx context.Context, q *MessageQuery, ids []GroupID) ([]storage.ClientMessage, error) {
	sq := q.storage(ids)
	c.hideExpired(&sq)
	if err := c.applyConsent(ctx, q, &sq); err != nil {
		return nil, err
	}
	return c.db.Messages(ctx, sq)
}

// FindMessage returns the stored message with id, or ErrMessageNotFound.
func (c *Client) FindMessage(ctx context.Context, id MessageID) (*Message, error) {
	r, err := c.db.Message(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrMessageNotFound
	}
	if err != nil {
		return nil, err
	}
	m := messageFromRow(r)
	return &m, nil
}

// ErrMessageNotFound is returned for a message id this client has not
// stored.
var ErrMessageNotFound = errors.New("client: message not found")

// GroupQuery filters FindGroups and ListConversations, as libxmtp's
// GroupQueryArgs. The zero value selects every group and DM (sync groups
// excluded, duplicate DMs collapsed), newest first.
type GroupQuery struct {
	// ConversationType keeps one type; 0 means groups and DMs.
	ConversationType content.ConversationType
	// IncludeSyncGroups adds device-sync groups when ConversationType is 0.
	IncludeSyncGroups bool
	// ConsentStates keeps the conversations with one of these consent
	// states; empty means allowed and unknown (libxmtp's default, so
	// denied conversations are left out unless asked for).
	ConsentStates []ConsentState
	// MembershipStates keeps the groups with one of these local membership
	// states; nil means any.
	MembershipStates []MembershipState
	// The bounds (Unix ns) are exclusive; 0 means no bound. Last activity
	// is the time of the group's latest message (its creation or join time
	// before any).
	CreatedAfterNs, CreatedBeforeNs           int64
	LastActivityAfterNs, LastActivityBeforeNs int64
	// ActiveOnly keeps the groups we are still a member of.
	ActiveOnly bool
	// IncludeDuplicateDMs lists every group of a stitched DM, not only the
	// one with the latest activity.
	IncludeDuplicateDMs bool
	// OrderByLastActivity orders by last activity instead of creation time
	// (both newest first).
	OrderByLastActivity bool
	// Limit caps the result; 0 means no limit.
	Limit int
}

func (q *GroupQuery) storage() storage.GroupQuery {
	sq := storage.GroupQuery{CreatedAfterNs: q.CreatedAfterNs, CreatedBeforeNs: q.CreatedBeforeNs,
		LastActivityAfterNs: q.LastActivityAfterNs, LastActivityBeforeNs: q.LastActivityBeforeNs, ActiveOnly: q.ActiveOnly,
		LatestDMOnly: !q.IncludeDuplicateDMs, ByLastActivity: q.OrderByLastActivity, Limit: q.Limit}
	switch {
	case q.ConversationType != 0:
		sq.ConversationTypes = []int32{int32(q.ConversationType)}
	case q.IncludeSyncGroups:
		sq.ConversationTypes = []int32{int32(content.ConversationType_CONVERSATION_TYPE_GROUP),
			int32(content.ConversationType_CONVERSATION_TYPE_DM), int32(content.ConversationType_CONVERSATION_TYPE_SYNC)}
	default:
		sq.ConversationTypes = []int32{int32(content.ConversationType_CONVERSATION_TYPE_GROUP),
			int32(content.ConversationType_CONVERSATION_TYPE_DM)}
	}
	if q.ConsentStates != nil {
		sq.ConsentStates = consentNumbers(q.ConsentStates)
	}
	if q.MembershipStates != nil {
		sq.MembershipStates = []int16{}
		for _, s := range q.MembershipStates {
			sq.MembershipStates = append(sq.MembershipStates, int16(s))
		}
	}
	return sq
}

func consentNumbers(ss []ConsentState) []int16 {
	out := make([]int16, len(ss))
	for i, s := range ss {
		out[i] = int16(s)
	}
	return out
}

// FindGroups returns handles on the groups q selects (no network I/O). q
// may be nil.
func (c *Client) FindGroups(ctx context.Context, q *GroupQuery) ([]*Group, error) {
	if q == nil {
		q = &GroupQuery{}
	}
	q = withDefaultConsent(q)
	rows, err := c.db.FindGroups(ctx, q.storage())
	if err != nil {
		return nil, err
	}
	out := make([]*Group, len(rows))
	for i, r := range rows {
		out[i] = &Group{c: c, id: r.GroupID}
	}
	return out, nil
}

// Conversation is one entry of ListConversations.
type Conversation struct {
	Group            *Group
	ConversationType content.ConversationType
	CreatedNs        int64
	LastActivityNs   int64
	Active           bool
	MembershipState  MembershipState
	ConsentState     ConsentState
	// LastMessage is the newest application message (of every stitched
	// group for a DM); nil when there is none.
	LastMessage *Message
}

// ListConversations returns the conversations q selects, each with its
// newest application message (no network I/O). q may be nil; its nil
// ConsentStates means allowed and unknown.
func (c *Client) ListConversations(ctx context.Context, q *GroupQuery) ([]Conversation, error) {
	qq := GroupQuery{}
	if q != nil {
		qq = *q
	}
	qq = *withDefaultConsent(&qq)
	rows, err := c.db.FindGroups(ctx, qq.storage())
	if err != nil {
		return nil, err
	}
	ids, byDM, err := c.lastMessageGroups(ctx, rows)
	if err != nil {
		return nil, err
	}
	last, err := c.db.LastMessages(ctx, ids, int16(KindApplication))
	if err != nil {
		return nil, err
	}
	ents := make([]string, len(rows))
	for i, r := range rows {
		ents[i] = GroupID(r.GroupID).String()
	}
	consent, err := c.consentStates(ctx, ConsentConversation, ents)
	if err != nil {
		return nil, err
	}
	out := make([]Conversation, len(rows))
	for i, r := range rows {
		out[i] = Conversation{Group: &Group{c: c, id: r.GroupID}, ConversationType: content.ConversationType(r.ConversationType),
			CreatedNs: r.CreatedNs, LastActivityNs: r.LastMessageNs, Active: r.Active, MembershipState: MembershipState(r.MembershipState),
			ConsentState: consent[ents[i]]}
		var newest *storage.ClientMessage
		for _, gid := range append([][]byte{r.GroupID}, byDM[r.DmID]...) {
			if m, ok := last[string(gid)]; ok && (newest == nil || m.SentAtNs > newest.SentAtNs) {
				newest = &m
			}
		}
		if newest != nil {
			m := messageFromRow(newest)
			out[i].LastMessage = &m
		}
	}
	return out, nil
}

// lastMessageGroups returns the ids of rows plus those of the groups
// stitched with the DMs among them (keyed by DMID).
func (c *Client) lastMessageGroups(ctx context.Context, rows []storage.ClientGroup) ([][]byte, map[string][][]byte, error) {
	var ids [][]byte
	byDM := map[string][][]byte{}
	for _, r := range rows {
		ids = append(ids, r.GroupID)
		if r.DmID == "" || byDM[r.DmID] != nil {
			continue
		}
		dups, err := c.db.FindGroups(ctx, storage.GroupQuery{DmID: r.DmID})
		if err != nil {
			return nil, nil, err
		}
		byDM[r.DmID] = [][]byte{}
		for _, d := range dups {
			if string(d.GroupID) != string(r.GroupID) {
				byDM[r.DmID] = append(byDM[r.DmID], d.GroupID)
				ids = append(ids, d.GroupID)
			}
		}
	}
	return ids, byDM, nil
}

// SyncSummary says what SyncAllWelcomesAndGroups did.
type SyncSummary struct {
	// Joined are the groups joined from new welcomes.
	Joined []*Group
	// NumEligible counts the groups selected for syncing, NumSynced those
	// that synced without error.
	NumEligible, NumSynced int
}

// syncConcurrency bounds how many groups SyncAllWelcomesAndGroups syncs at
// once.
const syncConcurrency = 4

// SyncAllWelcomesAndGroups fetches new welcomes (SyncWelcomes), then syncs
// every group we are still in whose consent state is in consent (nil:
// allowed and unknown, as libxmtp), publishing their queued work too. A
// group that fails to sync does not stop the others; the failures are
// returned joined, with the summary.
func (c *Client) SyncAllWelcomesAndGroups(ctx context.Context, consent []ConsentState) (*SyncSummary, error) {
	joined, err := c.SyncWelcomes(ctx)
	sum := &SyncSummary{Joined: joined}
	if err != nil {
		return sum, err
	}
	if consent == nil {
		consent = defaultConsent
	}
	q := GroupQuery{ConsentStates: consent, ActiveOnly: true, IncludeDuplicateDMs: true, IncludeSyncGroups: true}
	rows, err := c.db.FindGroups(ctx, q.storage())
	if err != nil {
		return sum, err
	}
	sum.NumEligible = len(rows)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, syncConcurrency)
	)
	for _, r := range rows {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := c.withGroup(ctx, r.GroupID, func(ctx context.Context, st *groupState) error {
				if paused, err := c.syncUnlessPaused(ctx, st, func() error { return c.publishAndSync(ctx, st) }); paused || err != nil {
					return err
				}
				return c.maybeUpdateInstallations(ctx, st, syncInstallationsInterval)
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("group %s: %w", GroupID(r.GroupID), err))
				return
			}
			sum.NumSynced++
		}()
	}
	wg.Wait()
	return sum, errors.Join(errs...)
}
