package client

import (
	"context"
	"fmt"

	"mlsbridge/identity"
	"mlsbridge/storage"
)

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
// numbers are permanent.
type ConsentEntityType int16

// Consent entity types.
const (
	// ConsentConversation: the entity is a group id in lowercase hex.
	ConsentConversation ConsentEntityType = ConsentEntityType(storage.ConsentEntityConversation)
	// ConsentInbox: the entity is an inbox id.
	ConsentInbox ConsentEntityType = 2
)

// ConsentRecord is one consent decision.
type ConsentRecord struct {
	EntityType ConsentEntityType
	Entity     string
	State      ConsentState
	// ConsentedAtNs is when it was decided (Unix ns); 0 means now.
	ConsentedAtNs int64
}

// defaultConsent is what the conversation filters select when given none:
// allowed and unknown, as libxmtp's bindings list and sync.
var defaultConsent = []ConsentState{ConsentAllowed, ConsentUnknown}

// SetConsentStates stores consent records locally, replacing earlier
// records of the same entities. Consent is local to this installation
// (libxmtp syncs it between one's installations through device sync, which
// this client does not do).
func (c *Client) SetConsentStates(ctx context.Context, records ...ConsentRecord) error {
	rows := make([]storage.ClientConsent, len(records))
	for i, r := range records {
		if err := checkConsentRecord(r); err != nil {
			return err
		}
		at := r.ConsentedAtNs
		if at == 0 {
			at = c.nowNs()
		}
		rows[i] = storage.ClientConsent{EntityType: int16(r.EntityType), Entity: r.Entity, State: int16(r.State), ConsentedAtNs: at}
	}
	if err := c.db.SetConsent(ctx, rows...); err != nil {
		return fmt.Errorf("set consent: %w", err)
	}
	return nil
}

func checkConsentRecord(r ConsentRecord) error {
	switch {
	case r.State < ConsentUnknown || r.State > ConsentDenied:
		return fmt.Errorf("%w: consent state %d", ErrInvalidArgument, r.State)
	case r.EntityType == ConsentInbox && !identity.InboxID(r.Entity).Valid():
		return fmt.Errorf("%w: inbox id %q", ErrInvalidArgument, r.Entity)
	case r.EntityType != ConsentInbox && r.EntityType != ConsentConversation, r.Entity == "":
		return fmt.Errorf("%w: consent entity %d %q", ErrInvalidArgument, r.EntityType, r.Entity)
	}
	return nil
}

// ConsentState returns the stored consent for an entity (ConsentUnknown
// when there is no record).
func (c *Client) ConsentState(ctx context.Context, t ConsentEntityType, entity string) (ConsentState, error) {
	m, err := c.consentStates(ctx, t, []string{entity})
	if err != nil {
		return ConsentUnknown, err
	}
	return m[entity], nil
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
