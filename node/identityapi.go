package node

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"mlsbridge/identity"
	"mlsbridge/storage"
	"mlsbridge/wire/association"
	"mlsbridge/wire/identityapi"
)

// identityService is the node's xmtp.identity.api.v1.IdentityApi. It is a
// separate type only because both services have a GetIdentityUpdates
// method; it shares the Server's store, clock and logger.
type identityService struct {
	identityapi.UnimplementedIdentityApiServer
	*Server
}

var _ identityapi.IdentityApiServer = identityService{}

// IdentityAPI returns the IdentityApi half of the node, for callers that
// register the services on their own gRPC server.
func (s *Server) IdentityAPI() identityapi.IdentityApiServer { return identityService{Server: s} }

// maxIdentityRequests bounds the per-call request lists of the identity
// lookups (libxmtp sends ≤ 50 inboxes per GetIdentityUpdates).
const maxIdentityRequests = 1000

// PublishIdentityUpdate verifies the update against the inbox's whole log
// with every association rule of spec §5.5, then appends it with a new
// sequence id and indexes the Ethereum addresses it adds or removes (spec
// §3.2). Publishes are serialized, so two updates for one inbox never race.
func (s identityService) PublishIdentityUpdate(ctx context.Context, req *identityapi.PublishIdentityUpdateRequest) (*identityapi.PublishIdentityUpdateResponse, error) {
	p := req.GetIdentityUpdate()
	if p == nil {
		return nil, invalidArgument("identity_update is required")
	}
	inbox, err := identity.ParseInboxID(p.GetInboxId())
	if err != nil {
		return nil, invalidArgument("identity_update.inbox_id %q is not an inbox id: want 64 lowercase hex digits", truncate(p.GetInboxId(), 80))
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(p)
	if err != nil {
		return nil, internalError("encode identity update", err)
	}
	if len(raw) > MaxPayloadBytes {
		return nil, invalidArgument("identity update is %d bytes, more than the %d allowed", len(raw), MaxPayloadBytes)
	}
	update, err := identity.UpdateFromProto(p)
	if err != nil {
		return nil, invalidArgument("invalid identity update: %v", err)
	}
	verified, err := update.Verify()
	if err != nil {
		return nil, identityError(err)
	}

	s.identityWrite.Lock()
	defer s.identityWrite.Unlock()
	log, err := s.db.IdentityUpdates(ctx, string(inbox), 0)
	if err != nil {
		return nil, internalError("load inbox log", err)
	}
	if len(log) >= identity.MaxInboxLogUpdates {
		return nil, status.Errorf(codes.ResourceExhausted, "inbox log is full: inbox %s already has %d identity updates", inbox, len(log))
	}
	old, err := stateOf(log)
	if err != nil {
		return nil, internalError("replay inbox log", err)
	}
	next, err := identity.ApplyUpdates(old, []*identity.VerifiedUpdate{verified})
	if err != nil {
		return nil, identityError(err)
	}
	change := addressChange(identity.StateDiff(old, next))
	stored, err := s.db.AppendIdentityUpdate(ctx, string(inbox), raw, s.nowNs(), change)
	if err != nil {
		return nil, internalError("store identity update", err)
	}
	s.log.InfoContext(ctx, "identity update accepted", "inbox_id", inbox.String(), "sequence_id", stored.SequenceID,
		"actions", len(p.GetActions()))
	return &identityapi.PublishIdentityUpdateResponse{}, nil
}

// stateOf recomputes an inbox's association state from its stored log,
// verifying every signature again. A failure means the stored log is
// damaged: it was validated when published.
func stateOf(log []storage.IdentityUpdate) (*identity.State, error) {
	updates := make([]*identity.VerifiedUpdate, len(log))
	for i, l := range log {
		u, err := identity.DecodeUpdate(l.Update)
		if err != nil {
			return nil, fmt.Errorf("%w: sequence id %d: %w", storage.ErrInternal, l.SequenceID, err)
		}
		u.SequenceID = l.SequenceID
		v, err := u.Verify()
		if err != nil {
			return nil, fmt.Errorf("%w: sequence id %d: %w", storage.ErrInternal, l.SequenceID, err)
		}
		updates[i] = v
	}
	if len(updates) == 0 {
		return nil, nil
	}
	return identity.ApplyUpdates(nil, updates)
}

// addressChange lists the Ethereum addresses a state change added and
// removed; passkeys and installations are not indexed (spec §3.2 step 6).
func addressChange(d identity.Diff) storage.AddressChange {
	var c storage.AddressChange
	for _, m := range d.NewMembers {
		if a, ok := m.Address(); ok {
			c.Added = append(c.Added, string(a))
		}
	}
	for _, m := range d.RemovedMembers {
		if a, ok := m.Address(); ok {
			c.Removed = append(c.Removed, string(a))
		}
	}
	return c
}

// identityError maps an identity validation failure to a status.
func identityError(err error) error {
	if errors.Is(err, identity.ErrSmartContractWalletUnsupported) {
		return invalidArgument("invalid identity update: %v: this node cannot verify smart-contract-wallet signatures", err)
	}
	return invalidArgument("invalid identity update: %v", err)
}

// GetIdentityUpdates returns, per request in order, the inbox's updates
// with sequence ids above the request's (0: all), ascending; an unknown
// inbox gets an empty list.
func (s identityService) GetIdentityUpdates(ctx context.Context, req *identityapi.GetIdentityUpdatesRequest) (*identityapi.GetIdentityUpdatesResponse, error) {
	in := req.GetRequests()
	if len(in) > maxIdentityRequests {
		return nil, invalidArgument("%d requests; at most %d per call", len(in), maxIdentityRequests)
	}
	resp := &identityapi.GetIdentityUpdatesResponse{Responses: make([]*identityapi.GetIdentityUpdatesResponse_Response, len(in))}
	for i, r := range in {
		log, err := s.db.IdentityUpdates(ctx, r.GetInboxId(), r.GetSequenceId())
		if err != nil {
			return nil, internalError("load inbox log", err)
		}
		out := &identityapi.GetIdentityUpdatesResponse_Response{InboxId: r.GetInboxId(),
			Updates: make([]*identityapi.GetIdentityUpdatesResponse_IdentityUpdateLog, len(log))}
		for j, l := range log {
			u := new(association.IdentityUpdate)
			if err := proto.Unmarshal(l.Update, u); err != nil {
				return nil, internalError("decode stored identity update", err)
			}
			out.Updates[j] = &identityapi.GetIdentityUpdatesResponse_IdentityUpdateLog{
				SequenceId: l.SequenceID, ServerTimestampNs: l.ServerTimestampNs, Update: u}
		}
		resp.Responses[i] = out
	}
	return resp, nil
}

// GetInboxIds returns, per identifier in order, the inbox it is currently
// associated with, echoing the identifier and its kind. Only Ethereum
// addresses are indexed, matched exactly (spec §3.2).
func (s identityService) GetInboxIds(ctx context.Context, req *identityapi.GetInboxIdsRequest) (*identityapi.GetInboxIdsResponse, error) {
	in := req.GetRequests()
	if len(in) > maxIdentityRequests {
		return nil, invalidArgument("%d requests; at most %d per call", len(in), maxIdentityRequests)
	}
	idents := make([]string, len(in))
	for i, r := range in {
		idents[i] = r.GetIdentifier()
	}
	inboxes, err := s.db.InboxIDsByAddress(ctx, idents)
	if err != nil {
		return nil, internalError("look up inbox ids", err)
	}
	resp := &identityapi.GetInboxIdsResponse{Responses: make([]*identityapi.GetInboxIdsResponse_Response, len(in))}
	for i, r := range in {
		out := &identityapi.GetInboxIdsResponse_Response{Identifier: r.GetIdentifier(), IdentifierKind: r.GetIdentifierKind()}
		if inboxes[i] != "" && r.GetIdentifierKind() != association.IdentifierKind_IDENTIFIER_KIND_PASSKEY {
			out.InboxId = proto.String(inboxes[i])
		}
		resp.Responses[i] = out
	}
	return resp, nil
}

// VerifySmartContractWalletSignatures answers exactly one response per
// signature, in order (libxmtp requires it): this node has no chain
// access, so each is invalid with an explanation.
func (s identityService) VerifySmartContractWalletSignatures(ctx context.Context, req *identityapi.VerifySmartContractWalletSignaturesRequest) (*identityapi.VerifySmartContractWalletSignaturesResponse, error) {
	sigs := req.GetSignatures()
	resp := &identityapi.VerifySmartContractWalletSignaturesResponse{
		Responses: make([]*identityapi.VerifySmartContractWalletSignaturesResponse_ValidationResponse, len(sigs))}
	for i := range sigs {
		resp.Responses[i] = &identityapi.VerifySmartContractWalletSignaturesResponse_ValidationResponse{
			IsValid: false,
			Error:   proto.String("smart contract wallet signatures are not supported by this node (no chain access)"),
		}
	}
	return resp, nil
}
