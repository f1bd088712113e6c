package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"mlsbridge/mls"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
)

// IntentKind says what an intent publishes. The stored numbers are
// permanent.
type IntentKind int16

// Intent kinds.
const (
	// IntentSendMessage publishes one application message.
	IntentSendMessage IntentKind = 1
	// IntentUpdateMembership publishes a membership commit (adds,
	// removals, installation updates) and then sends its welcomes.
	IntentUpdateMembership IntentKind = 2
)

// IntentState is where an intent stands (libxmtp's intent states). The
// stored numbers are permanent.
type IntentState int16

// Intent states.
const (
	// IntentToPublish: queued; its payload may be built but the node has
	// not accepted it.
	IntentToPublish IntentState = 1
	// IntentPublished: the node accepted the payload; it has not come back
	// in a sync yet.
	IntentPublished IntentState = 2
	// IntentCommitted: the payload came back and was applied; what follows
	// a commit (its welcomes) is still owed.
	IntentCommitted IntentState = 3
	// IntentFailed: given up (see its last error).
	IntentFailed IntentState = 4
)

// maxIntentPublishAttempts is how often the node may refuse a payload
// before its intent fails (MAX_INTENT_PUBLISH_ATTEMPTS).
const maxIntentPublishAttempts = 3

// maxPastEpochs is how many epochs back members still decrypt application
// messages (MAX_PAST_EPOCHS, xmtp-groups.md §1.1); a message built earlier
// is rebuilt in the current epoch before it is published.
const maxPastEpochs = 3

// ownPayload remembers an MLS message of ours that we wait to see come
// back: we cannot decrypt our own application messages, and our commits
// must be matched to their intents.
type ownPayload struct {
	intentID  int64
	kind      IntentKind
	messageID MessageID
	// typeID is the content type id of a send intent's message: its echo
	// reads the message back only for the types that have effects (see
	// ownMessageEffects).
	typeID string
}

// postCommit is what a membership intent still has to do once its commit
// is confirmed: send the Welcome to each added installation. It is stored
// as JSON with the intent, in the same transaction as the commit, so a
// crash between publishing the commit and sending the welcomes loses no
// welcome. Its encoding is permanent.
type postCommit struct {
	// Welcome is the TLS MLSMessage carrying the Welcome.
	Welcome    []byte             `json:"welcome"`
	Recipients []welcomeRecipient `json:"recipients"`
}

type welcomeRecipient struct {
	Installation []byte `json:"installation"`
	// InitKey is the HPKE init key of the key package the welcome is
	// wrapped to.
	InitKey []byte `json:"init_key"`
}

func encodePostCommit(w *mls.Welcome, adds []*VerifiedKeyPackage) ([]byte, error) {
	if w == nil {
		return nil, nil
	}
	msg := mls.MLSMessage{Version: mls.ProtocolVersionMLS10, WireFormat: mls.WireFormatWelcome, Welcome: w}
	b, err := msg.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: encode welcome: %w", ErrInternal, err)
	}
	pc := postCommit{Welcome: b}
	for _, kp := range adds {
		pc.Recipients = append(pc.Recipients, welcomeRecipient{Installation: kp.Installation.Bytes(), InitKey: kp.KeyPackage.InitKey})
	}
	return json.Marshal(pc)
}

// SendMessageOptimistic queues ec for sending and returns its message id at
// once: the message is stored as unpublished with a send intent, nothing
// goes to the network. Group.PublishMessages (or Send, Sync,
// Client.PublishPending) publishes it later. Sending the same content with
// the same idempotency key again returns the same id and queues nothing.
// It also marks the conversation allowed. opts may be nil.
func (g *Group) SendMessageOptimistic(ctx context.Context, ec *content.EncodedContent, opts *SendOptions) (MessageID, error) {
	if opts == nil {
		opts = &SendOptions{}
	}
	encoded, err := deterministic.Marshal(ec)
	if err != nil {
		return nil, fmt.Errorf("%w: encode content: %w", ErrInvalidArgument, err)
	}
	row, err := g.c.db.Group(ctx, g.id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrGroupNotFound
	} else if err != nil {
		return nil, err
	}
	if !row.Active {
		return nil, ErrInactiveGroup
	}
	now := g.c.nowNs()
	key := opts.IdempotencyKey
	if key == "" {
		key = strconv.FormatInt(now, 10)
	}
	id := computeMessageID(g.id, key, encoded)
	t := ec.GetType()
	m := storage.ClientMessage{ID: id, GroupID: g.id, SentAtNs: now, Kind: int16(KindApplication),
		DeliveryStatus: int16(StatusUnpublished), SenderInboxID: string(g.c.inbox), SenderInstallation: g.c.inst.ID().Bytes(),
		AuthorityID: t.GetAuthorityId(), TypeID: t.GetTypeId(), VersionMajor: t.GetVersionMajor(), VersionMinor: t.GetVersionMinor(),
		Content: encoded, IdempotencyKey: key, InsertedNs: now, ReferenceID: referenceIDOf(ec)}
	in := &storage.ClientIntent{GroupID: g.id, Kind: int16(IntentSendMessage), State: int16(IntentToPublish), MessageID: id,
		ShouldPush: !opts.NoPush, CreatedNs: now, UpdatedNs: now}
	crashPoint("send.before_enqueue")
	if _, err := g.c.db.EnqueueMessage(ctx, m, in); err != nil {
		return nil, fmt.Errorf("send message: %w", err)
	}
	crashPoint("send.after_enqueue")
	if err := g.c.implicitConsent(ctx, ConsentConversation, g.id.String(), ConsentAllowed); err != nil {
		return id, err
	}
	return id, nil
}

// Send queues ec (see SendMessageOptimistic), publishes the group's queued
// messages in order, and syncs the group, so the message is published
// (seen back on the network) when Send returns. Before publishing, the
// group's installations are brought up to date if they were last checked
// more than five seconds ago (libxmtp's send-path interval). If publishing
// fails the message stays queued and its id is returned with the error.
// A paused group refuses it before anything is stored (*GroupPausedError).
// opts may be nil.
func (g *Group) Send(ctx context.Context, ec *content.EncodedContent, opts *SendOptions) (MessageID, error) {
	if err := g.c.ensureNotPaused(ctx, g.id); err != nil {
		return nil, err
	}
	id, err := g.SendMessageOptimistic(ctx, ec, opts)
	if err != nil {
		return nil, err
	}
	if err := g.PublishMessages(ctx); err != nil {
		return id, err
	}
	return id, nil
}

// PublishMessages publishes the group's queued messages in order and syncs
// the group (see Send).
func (g *Group) PublishMessages(ctx context.Context) error {
	err := g.c.withGroup(ctx, g.id, func(ctx context.Context, st *groupState) error {
		return g.c.publishAndSync(ctx, st)
	})
	if err != nil {
		return fmt.Errorf("publish messages: %w", err)
	}
	return nil
}

// publishAndSync settles our commits (syncing first), publishes the queued
// messages, and syncs again if it published any, to see them come back.
func (c *Client) publishAndSync(ctx context.Context, st *groupState) error {
	if err := c.settleCommits(ctx, st); err != nil {
		return err
	}
	published, err := c.publishMessages(ctx, st)
	if err != nil || !published {
		return err
	}
	return c.syncGroupState(ctx, st, nil)
}

// PublishPending publishes the queued work of every group: messages not
// yet accepted by the node, commits built before a crash, and welcomes
// still owed for confirmed commits. Call it after reopening a client.
func (c *Client) PublishPending(ctx context.Context) error {
	ids, err := c.db.IntentGroups(ctx, int16(IntentToPublish), int16(IntentPublished), int16(IntentCommitted))
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		err := c.withGroup(ctx, id, func(ctx context.Context, st *groupState) error {
			return c.publishAndSync(ctx, st)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("group %s: %w", GroupID(id), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("publish pending: %w", err)
	}
	return nil
}

// publishMessages publishes the group's queued send intents in order,
// building each payload in the current epoch (again, if it was built more
// than maxPastEpochs ago and never accepted). It reports whether it
// published any.
func (c *Client) publishMessages(ctx context.Context, st *groupState) (bool, error) {
	intents, err := c.db.Intents(ctx, st.row.GroupID, int16(IntentToPublish))
	if err != nil {
		return false, err
	}
	var todo []storage.ClientIntent
	for _, in := range intents {
		if IntentKind(in.Kind) == IntentSendMessage {
			todo = append(todo, in)
		}
	}
	if len(todo) == 0 {
		return false, nil
	}
	if !st.mls.Active() {
		for i := range todo {
			if err := c.failIntent(ctx, st, &todo[i], ErrInactiveGroup.Error()); err != nil {
				return false, err
			}
		}
		return false, ErrInactiveGroup
	}
	if err := c.maybeUpdateInstallations(ctx, st, sendInstallationsInterval); err != nil {
		c.log.Warn("installation update before send failed", "group_id", GroupID(st.row.GroupID).String(), "err", err)
	}
	for i := range todo {
		if err := c.publishMessage(ctx, st, &todo[i]); err != nil {
			return i > 0, err
		}
		crashPoint("send.after_mark_published")
	}
	return true, nil
}

func (c *Client) publishMessage(ctx context.Context, st *groupState, in *storage.ClientIntent) error {
	if in.Payload == nil || st.mls.Epoch() >= in.PublishedEpoch+maxPastEpochs {
		if in.Payload != nil {
			delete(st.own, payloadKey(in.Payload))
		}
		if err := c.buildMessage(ctx, st, in); err != nil {
			return err
		}
	}
	crashPoint("send.before_publish")
	err := c.sendGroupMessage(ctx, st, in.Payload, in.ShouldPush)
	if err != nil {
		if retryable(err) {
			return err
		}
		in.Attempts++
		in.LastError = err.Error()
		if in.Attempts >= maxIntentPublishAttempts {
			return errors.Join(err, c.failIntent(ctx, st, in, in.LastError))
		}
		return errors.Join(err, c.db.UpdateIntent(ctx, in, 0))
	}
	crashPoint("send.after_publish")
	in.State, in.UpdatedNs = int16(IntentPublished), c.nowNs()
	return c.db.UpdateIntent(ctx, in, 0)
}

// buildMessage encrypts a send intent's message in the current epoch and
// stores the payload with the advanced MLS state (one transaction).
func (c *Client) buildMessage(ctx context.Context, st *groupState, in *storage.ClientIntent) error {
	m, err := c.db.Message(ctx, in.MessageID)
	if err != nil {
		return fmt.Errorf("%w: message of intent %d: %w", ErrInternal, in.ID, err)
	}
	env, err := deterministic.Marshal(&content.PlaintextEnvelope{Content: &content.PlaintextEnvelope_V1_{
		V1: &content.PlaintextEnvelope_V1{Content: m.Content, IdempotencyKey: m.IdempotencyKey}}})
	if err != nil {
		return fmt.Errorf("%w: encode envelope: %w", ErrInternal, err)
	}
	msg, err := st.mls.Encrypt(env, nil)
	if err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	payload, err := msg.Bytes()
	if err != nil {
		return fmt.Errorf("%w: encode message: %w", ErrInternal, err)
	}
	in.Payload, in.PublishedEpoch, in.UpdatedNs = payload, st.mls.Epoch(), c.nowNs()
	crashPoint("send.build.before_save")
	if err := c.saveState(ctx, st, storage.GroupProgress{Intents: []*storage.ClientIntent{in}}); err != nil {
		return err
	}
	st.own[payloadKey(payload)] = ownPayload{intentID: in.ID, kind: IntentSendMessage, messageID: in.MessageID, typeID: m.TypeID}
	return nil
}

// failIntent gives an intent up; its message, if any, becomes failed.
func (c *Client) failIntent(ctx context.Context, st *groupState, in *storage.ClientIntent, reason string) error {
	if in.Payload != nil {
		delete(st.own, payloadKey(in.Payload))
	}
	in.State, in.LastError, in.UpdatedNs = int16(IntentFailed), reason, c.nowNs()
	c.log.Warn("intent failed", "group_id", GroupID(st.row.GroupID).String(), "intent_id", in.ID, "reason", reason)
	return c.db.UpdateIntent(ctx, in, int16(StatusFailed))
}

// retryable reports errors that say nothing about the payload: the node
// was unreachable or busy, or the caller gave up.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	s, ok := status.FromError(err)
	if !ok {
		return true
	}
	switch s.Code() {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.PermissionDenied, codes.Unimplemented,
		codes.OutOfRange, codes.NotFound, codes.AlreadyExists, codes.Unauthenticated:
		return false
	}
	return true
}

// settleCommits readies the group for a new commit or message: it syncs
// (merging a commit of ours that came back), republishes a commit of ours
// that was built but not confirmed when its epoch is still current, gives
// up those whose epoch has passed, and sends the welcomes still owed for
// confirmed commits.
func (c *Client) settleCommits(ctx context.Context, st *groupState) error {
	if err := c.syncGroupState(ctx, st, nil); err != nil {
		return err
	}
	intents, err := c.db.Intents(ctx, st.row.GroupID, int16(IntentToPublish), int16(IntentPublished), int16(IntentCommitted))
	if err != nil {
		return err
	}
	pendingOwned := false
	for i := range intents {
		in := &intents[i]
		switch {
		case IntentKind(in.Kind) == IntentSendMessage:
			continue
		case IntentState(in.State) == IntentCommitted:
			if err := c.runPostCommit(ctx, st, in); err != nil {
				return err
			}
		case st.mls.HasPendingCommit() && st.mls.Epoch() == in.PublishedEpoch && !pendingOwned:
			pendingOwned = true
			if _, err := c.republishCommit(ctx, st, in); err != nil && !errors.Is(err, ErrCommitConflict) {
				return err
			}
		default:
			if err := c.failIntent(ctx, st, in, "commit lost its epoch"); err != nil {
				return err
			}
		}
	}
	if st.mls.HasPendingCommit() && !pendingOwned {
		// A commit stored pending without an intent (or whose intent was
		// given up) was never published.
		st.mls.ClearPendingCommit()
		c.log.Warn("unpublished commit discarded", "group_id", GroupID(st.row.GroupID).String())
		return c.saveState(ctx, st, storage.GroupProgress{})
	}
	return nil
}

// republishCommit sends a stored commit intent's payload again (the node
// ignores an exact duplicate) and syncs until it comes back. It returns
// the commit's cursor, or ErrCommitConflict (the intent then failed).
func (c *Client) republishCommit(ctx context.Context, st *groupState, in *storage.ClientIntent) (uint64, error) {
	st.own[payloadKey(in.Payload)] = ownPayload{intentID: in.ID, kind: IntentKind(in.Kind)}
	return c.publishCommit(ctx, st, in)
}

// runPostCommit sends the welcomes of a confirmed membership commit, with
// its cursor, then deletes the intent.
func (c *Client) runPostCommit(ctx context.Context, st *groupState, in *storage.ClientIntent) error {
	if len(in.PostCommit) > 0 {
		var pc postCommit
		if err := json.Unmarshal(in.PostCommit, &pc); err != nil {
			return fmt.Errorf("%w: intent %d post-commit data: %w", ErrInternal, in.ID, err)
		}
		crashPoint("commit.welcomes.before_send")
		if err := c.sendWelcomes(ctx, pc, in.Cursor); err != nil {
			return err
		}
		crashPoint("commit.welcomes.after_send")
		c.log.Info("welcomes sent", "group_id", GroupID(st.row.GroupID).String(), "welcomes", len(pc.Recipients), "cursor", in.Cursor)
	}
	return c.db.DeleteIntent(ctx, in.ID)
}
