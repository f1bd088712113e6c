package client

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"mlsbridge/identity"
	"mlsbridge/storage"
)

// Consent (xmtp-groups.md §11).
//
// Consent is this installation's decision about a conversation or an inbox:
// allowed, denied, or unknown (no decision, also what an entity without a
// record has). It is local: libxmtp syncs it between one's installations
// through device sync, which this client does not do. It never changes
// what is fetched from the network: denied conversations and the messages
// of denied inboxes are still synced and stored (so the group state stays
// current), and only hidden from what the client hands out:
//
//   - ListConversations, FindGroups and SyncAllWelcomesAndGroups select
//     allowed and unknown conversations unless told otherwise (libxmtp's
//     defaults);
//   - FindMessages drops the messages of denied inboxes unless
//     MessageQuery.IncludeDenied is set;
//   - streams drop the messages of denied inboxes, and StreamAllMessages
//     those of conversations denied while it runs, unless StreamOptions
//     selects them.
//
// libxmtp 1.9.1 filters conversations the same way but never hides a
// denied inbox's messages by itself (its apps pass excludeSenders), and it
// has no address consent: SetAddressConsent resolves the address to its
// inbox and records inbox consent, which is what libxmtp stores too.

// ConsentState is this installation's consent for a conversation or an
// inbox (xmtp-groups.md §11). The stored numbers are permanent.
type ConsentState int16

// Consent states.
const (
	// ConsentUnknown: no decision (also what an entity without a record
	// has).
	ConsentUnknown ConsentState = 0
	ConsentAllowed ConsentState = 1
	ConsentDenied  ConsentState = 2
)

func (s ConsentState) String() string {
	switch s {
	case ConsentUnknown:
		return "unknown"
	case ConsentAllowed:
		return "allowed"
	case ConsentDenied:
		return "denied"
	}
	return fmt.Sprintf("consent(%d)", int16(s))
}

// ConsentEntityType says what a consent record is about. The stored
// numbers are permanent (libxmtp's ConsentType).
type ConsentEntityType int16

// Consent entity types. libxmtp's legacy Address type (3) exists only in
// old backups and is refused, as libxmtp refuses it.
const (
	// ConsentConversation: the entity is a group id in lowercase hex.
	ConsentConversation ConsentEntityType = ConsentEntityType(storage.ConsentEntityConversation)
	// ConsentInbox: the entity is an inbox id.
	ConsentInbox ConsentEntityType = 2
)

// ConsentRecord is one consent decision.
type ConsentRecord struct {
	EntityType ConsentEntityType
	// Entity is the conversation's group id in hex (either case; stored
	// lowercase) or the inbox id.
	Entity string
	State  ConsentState
	// ConsentedAtNs is when it was decided (Unix ns); 0 means now.
	ConsentedAtNs int64
}

// defaultConsent is what the conversation filters select when given none:
// allowed and unknown, as libxmtp's bindings list and sync.
var defaultConsent = []ConsentState{ConsentAllowed, ConsentUnknown}

// SetConsentStates stores consent records locally, replacing earlier
// records of the same entities, in one transaction (libxmtp's
// set_consent_states). A malformed record fails them all with
// ErrInvalidArgument.
func (c *Client) SetConsentStates(ctx context.Context, records ...ConsentRecord) error {
	rows := make([]storage.ClientConsent, len(records))
	for i, r := range records {
		entity, err := checkConsentRecord(r)
		if err != nil {
			return err
		}
		at := r.ConsentedAtNs
		if at == 0 {
			at = c.nowNs()
		}
		rows[i] = storage.ClientConsent{EntityType: int16(r.EntityType), Entity: entity, State: int16(r.State), ConsentedAtNs: at}
	}
	if err := c.db.SetConsent(ctx, rows...); err != nil {
		return fmt.Errorf("set consent: %w", err)
	}
	return nil
}

// checkConsentRecord validates a record and returns its stored entity.
func checkConsentRecord(r ConsentRecord) (string, error) {
	if r.State < ConsentUnknown || r.State > ConsentDenied {
		return "", fmt.Errorf("%w: consent state %d", ErrInvalidArgument, r.State)
	}
	return consentEntity(r.EntityType, r.Entity)
}

// consentEntity checks an entity of type t and returns its stored form.
func consentEntity(t ConsentEntityType, entity string) (string, error) {
	switch t {
	case ConsentInbox:
		if !identity.InboxID(entity).Valid() {
			return "", fmt.Errorf("%w: inbox id %q", ErrInvalidArgument, entity)
		}
		return entity, nil
	case ConsentConversation:
		if b, err := hex.DecodeString(entity); err != nil || len(b) == 0 {
			return "", fmt.Errorf("%w: conversation id %q is not a hex group id", ErrInvalidArgument, entity)
		}
		return strings.ToLower(entity), nil
	}
	return "", fmt.Errorf("%w: consent entity type %d (conversation 1 or inbox 2)", ErrInvalidArgument, t)
}

// ConsentState returns the stored consent for an entity (ConsentUnknown
// when there is no record).
func (c *Client) ConsentState(ctx context.Context, t ConsentEntityType, entity string) (ConsentState, error) {
	e, err := consentEntity(t, entity)
	if err != nil {
		return ConsentUnknown, err
	}
	m, err := c.consentStates(ctx, t, []string{e})
	if err != nil {
		return ConsentUnknown, err
	}
	return m[e], nil
}

func (c *Client) consentStates(ctx context.Context, t ConsentEntityType, entities []string) (map[string]ConsentState, error) {
	recs, err := c.db.Consent(ctx, int16(t), entities)
	if err != nil {
		return nil, fmt.Errorf("consent state: %w", err)
	}
	out := make(map[string]ConsentState, len(recs))
	for k, r := range recs {
		out[k] = ConsentState(r.State)
	}
	return out, nil
}

// ErrNoInbox is returned for an address that has no inbox on the network.
var ErrNoInbox = errors.New("client: address has no inbox")

// SetAddressConsent records consent for the inbox an Ethereum address
// belongs to (looked up on the node; ErrNoInbox when it has none). The
// record is an inbox record, as libxmtp keeps no address consent.
func (c *Client) SetAddressConsent(ctx context.Context, addr identity.Address, s ConsentState) error {
	inbox, err := c.addressInbox(ctx, addr)
	if err != nil {
		return err
	}
	return c.SetConsentStates(ctx, ConsentRecord{EntityType: ConsentInbox, Entity: string(inbox), State: s})
}

// AddressConsentState returns the consent of the inbox an Ethereum address
// belongs to (looked up on the node; ErrNoInbox when it has none).
func (c *Client) AddressConsentState(ctx context.Context, addr identity.Address) (ConsentState, error) {
	inbox, err := c.addressInbox(ctx, addr)
	if err != nil {
		return ConsentUnknown, err
	}
	return c.ConsentState(ctx, ConsentInbox, string(inbox))
}

func (c *Client) addressInbox(ctx context.Context, addr identity.Address) (identity.InboxID, error) {
	inbox, ok, err := c.InboxIDFor(ctx, addr)
	if err != nil {
		return "", fmt.Errorf("address consent: %w", err)
	}
	if !ok {
		return "", fmt.Errorf("address consent: %w: %s", ErrNoInbox, addr)
	}
	return inbox, nil
}

// ConsentState returns our consent for the conversation.
func (g *Group) ConsentState(ctx context.Context) (ConsentState, error) {
	return g.c.ConsentState(ctx, ConsentConversation, g.id.String())
}

// UpdateConsentState records our consent for the conversation.
func (g *Group) UpdateConsentState(ctx context.Context, s ConsentState) error {
	return g.c.SetConsentStates(ctx, ConsentRecord{EntityType: ConsentConversation, Entity: g.id.String(), State: s})
}

// implicitConsent records state unless the entity already has it (the
// consent libxmtp gives a conversation we create or send in, or join from
// our own inbox).
func (c *Client) implicitConsent(ctx context.Context, t ConsentEntityType, entity string, state ConsentState) error {
	cur, err := c.ConsentState(ctx, t, entity)
	if err != nil || cur == state {
		return err
	}
	return c.SetConsentStates(ctx, ConsentRecord{EntityType: t, Entity: entity, State: state})
}

// deniedInboxes lists the inboxes with consent Denied.
func (c *Client) deniedInboxes(ctx context.Context) ([]string, error) {
	ids, err := c.db.ConsentEntitiesInState(ctx, int16(ConsentInbox), int16(ConsentDenied))
	if err != nil {
		return nil, fmt.Errorf("denied inboxes: %w", err)
	}
	return ids, nil
}

// applyConsent adds the denied inboxes to a message query's excluded
// senders unless the query includes them.
func (c *Client) applyConsent(ctx context.Context, q *MessageQuery, sq *storage.MessageQuery) error {
	if q.IncludeDenied {
		return nil
	}
	denied, err := c.deniedInboxes(ctx)
	if err != nil {
		return err
	}
	for _, d := range denied {
		if !slices.Contains(sq.ExcludeSenders, d) {
			sq.ExcludeSenders = append(sq.ExcludeSenders, d)
		}
	}
	return nil
}

// withDefaultConsent returns q with libxmtp's default consent filter
// (allowed and unknown) when it names no consent state.
func withDefaultConsent(q *GroupQuery) *GroupQuery {
	if len(q.ConsentStates) > 0 {
		return q
	}
	qq := *q
	qq.ConsentStates = defaultConsent
	return &qq
}

// consentFilter decides what a stream hides; load reads what it needs once
// per batch of streamed messages.
type consentFilter struct {
	c *Client
	// senders hides the messages of denied inboxes.
	senders bool
	// conversations hides the messages of denied conversations.
	conversations bool
}

// streamConsent is the filter of a stream with options opts (nil: the
// defaults); conversations is whether a conversation denied while the
// stream runs is hidden (unless opts selects denied conversations).
func (c *Client) streamConsent(opts *StreamOptions, conversations bool) *consentFilter {
	f := &consentFilter{c: c, senders: true}
	if opts != nil {
		f.senders = !opts.IncludeDeniedSenders
	}
	f.conversations = conversations && (opts == nil || !slices.Contains(opts.ConsentStates, ConsentDenied))
	return f
}

// consentView is what a consentFilter hides in one batch of streamed
// messages: the denied inboxes and conversations as stored when the batch
// arrived. A nil view hides nothing.
type consentView struct {
	self identity.InboxID
	// inboxes and conversations (group ids in lowercase hex) are denied;
	// nil when the filter does not hide by them.
	inboxes       map[string]bool
	conversations map[string]bool
}

// load reads, once for a batch of streamed messages, the denied entities
// the filter hides, so that each message is then checked in memory. A
// lookup that fails hides nothing by that kind of entity in the batch
// (the stream does not stop over it); it is logged.
func (f *consentFilter) load(ctx context.Context) *consentView {
	if f == nil || (!f.senders && !f.conversations) {
		return nil
	}
	v := &consentView{self: f.c.inbox}
	denied := func(t ConsentEntityType) map[string]bool {
		ids, err := f.c.db.ConsentEntitiesInState(ctx, int16(t), int16(ConsentDenied))
		if err != nil {
			if ctx.Err() == nil {
				f.c.log.Warn("consent lookup failed", "entity_type", int16(t), "err", err)
			}
			return nil
		}
		set := make(map[string]bool, len(ids))
		for _, id := range ids {
			set[id] = true
		}
		return set
	}
	if f.senders {
		v.inboxes = denied(ConsentInbox)
	}
	if f.conversations {
		v.conversations = denied(ConsentConversation)
	}
	return v
}

// hides reports whether m must not be emitted: its sender (not us) or its
// conversation is denied.
func (v *consentView) hides(m *Message) bool {
	if v == nil {
		return false
	}
	if m.SenderInboxID != "" && m.SenderInboxID != v.self && v.inboxes[string(m.SenderInboxID)] {
		return true
	}
	return v.conversations[m.GroupID.String()]
}
