package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"google.golang.org/protobuf/proto"

	"mlsbridge/identity"
	"mlsbridge/mls"
	"mlsbridge/policy"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
	"mlsbridge/wire/mlsapi"
)

// pageSize is libxmtp's query page size (MAX_PAGE_SIZE).
const pageSize = 100

// MessageError reports a group message that was dropped: undecryptable,
// malformed, or a commit that breaks a rule. Sync logs it and moves past
// the message.
type MessageError struct {
	Cursor uint64
	Reason string
	Err    error
}

func (e *MessageError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("client: group message %d: %s: %v", e.Cursor, e.Reason, e.Err)
	}
	return fmt.Sprintf("client: group message %d: %s", e.Cursor, e.Reason)
}

func (e *MessageError) Unwrap() error { return e.Err }

// Sync publishes the group's queued work (see PublishMessages), fetches
// the group's new messages from the node and processes them in order:
// commits are validated and merged (with a membership-change record when
// they change members or metadata), application messages decrypted and
// stored, our own messages confirmed. Each page's new MLS state, cursor,
// messages and intent changes are written in one transaction. When the
// installations were last checked more than thirty minutes ago they are
// brought up to date. A DM syncs every group it is stitched with. A
// paused group is not synced (see version.go): the pause is first lifted
// if this client's version now reaches it.
func (g *Group) Sync(ctx context.Context) error {
	ids, err := g.c.stitchedIDs(ctx, g.id)
	if err != nil {
		return fmt.Errorf("sync group: %w", err)
	}
	for _, id := range ids {
		err := g.c.withGroup(ctx, id, func(ctx context.Context, st *groupState) error {
			if paused, err := g.c.syncUnlessPaused(ctx, st, func() error { return g.c.publishAndSync(ctx, st) }); paused || err != nil {
				return err
			}
			if err := g.c.maybeUpdateInstallations(ctx, st, syncInstallationsInterval); err != nil {
				g.c.log.Warn("installation update during sync failed", "group_id", GroupID(id).String(), "err", err)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("sync group: %w", err)
		}
	}
	return nil
}

// commitWatch sees every group message a sync processes: its node id, its
// bytes, and whether it was a commit we merged.
type commitWatch func(id uint64, data []byte, merged bool)

// syncGroupState pages through the group's messages after its cursor.
func (c *Client) syncGroupState(ctx context.Context, st *groupState, watch commitWatch) error {
	for {
		if err := st.pausedErr(); err != nil {
			return err
		}
		resp, err := c.mlsAPI.QueryGroupMessages(ctx, &mlsapi.QueryGroupMessagesRequest{GroupId: st.row.GroupID,
			PagingInfo: &mlsapi.PagingInfo{Direction: mlsapi.SortDirection_SORT_DIRECTION_ASCENDING, Limit: pageSize, IdCursor: st.row.Cursor}})
		if err != nil {
			return fmt.Errorf("query group messages: %w", err)
		}
		msgs := resp.GetMessages()
		if len(msgs) == 0 {
			return nil
		}
		envs := make([]*mlsapi.GroupMessage_V1, 0, len(msgs))
		for _, m := range msgs {
			if v1 := m.GetV1(); v1 != nil {
				envs = append(envs, v1)
			}
		}
		stopped, err := c.processEnvelopes(ctx, st, envs, watch)
		if err != nil {
			return err
		}
		if stopped || len(msgs) < pageSize {
			return st.pausedErr()
		}
	}
}

// pageBatch is what processing a run of group messages produced, saved in
// one transaction with the group's new state.
type pageBatch struct {
	p storage.GroupProgress
	// committed are our commit intents now confirmed that still owe their
	// welcomes.
	committed []*storage.ClientIntent
}

// processEnvelopes processes group messages in order (those at or before
// the cursor are skipped), saves the result, then sends the welcomes of
// our commits that came back. It reports stopped when processing halted
// because we are no longer a member or the group is paused (see
// version.go).
func (c *Client) processEnvelopes(ctx context.Context, st *groupState, envs []*mlsapi.GroupMessage_V1, watch commitWatch) (bool, error) {
	if st.pausedErr() != nil {
		return true, nil // a paused group processes nothing (streams)
	}
	var b pageBatch
	stopped := false
	for _, v1 := range envs {
		if v1.GetId() <= st.row.Cursor {
			continue
		}
		stop, err := c.processGroupMessage(ctx, st, v1, watch, &b)
		if err != nil {
			st.broken = true
			return false, err
		}
		crashPoint("sync.message_processed")
		if stop {
			stopped = true
			break
		}
		st.row.Cursor = v1.GetId()
	}
	crashPoint("sync.before_save")
	if err := c.saveState(ctx, st, b.p); err != nil {
		return false, err
	}
	crashPoint("sync.after_save")
	for _, in := range b.committed {
		if err := c.runPostCommit(ctx, st, in); err != nil {
			return stopped, err
		}
	}
	return stopped, nil
}

// processGroupMessage handles one group message, adding what it produces
// to b. It returns stop when processing must halt before this message (we
// are no longer a member: the cursor stays so a re-add can resume); an
// error only for a failure of our own storage.
func (c *Client) processGroupMessage(ctx context.Context, st *groupState, v1 *mlsapi.GroupMessage_V1, watch commitWatch, b *pageBatch) (bool, error) {
	data := v1.GetData()
	log := c.log.With("group_id", GroupID(st.row.GroupID).String(), "cursor", v1.GetId())
	key := payloadKey(data)
	own, isOwn := st.own[key]
	if isOwn && own.kind == IntentSendMessage {
		delete(st.own, key)
		b.p.Confirmations = append(b.p.Confirmations, storage.MessageConfirmation{ID: own.messageID,
			DeliveryStatus: int16(StatusPublished), Cursor: v1.GetId(), SentAtNs: int64(v1.GetCreatedNs()),
			ExpireAtNs: c.expireAtNs(st)})
		b.p.DeleteIntents = append(b.p.DeleteIntents, own.intentID)
		return false, c.ownMessageEffects(ctx, st, own, &b.p)
	}
	if !st.mls.Active() {
		return true, nil
	}
	msg, perr := mls.ParseMLSMessage(data) // once, for the fork probe and processing
	probe := probeFork(st, msg)
	out, merged, err := c.processMLS(ctx, st, v1, msg, perr)
	if watch != nil {
		watch(v1.GetId(), data, merged)
	}
	if errors.Is(err, mls.ErrNotMember) {
		return true, nil
	}
	if fe := (*IdentityFetchError)(nil); errors.As(err, &fe) {
		return false, err // retryable: the commit is processed again next sync
	}
	if c.pauseOnVersion(st, err, isOwn, &b.p) {
		return true, nil
	}
	c.recordFork(ctx, st, v1, probe, merged, err, b)
	if isOwn {
		delete(st.own, key)
		if err := c.ownCommitProcessed(ctx, st, own, v1.GetId(), merged, b); err != nil {
			return false, err
		}
	} else if merged {
		c.dropLostCommits(st, b)
	}
	if err != nil {
		log.Warn("group message dropped", "err", err)
		return false, nil
	}
	if out, err = c.messageEffects(ctx, st, out, &b.p); err != nil {
		return false, err
	}
	b.p.Messages = append(b.p.Messages, out...)
	return false, nil
}

// ownCommitProcessed records that a commit intent of ours came back: once
// merged it is committed at cursor and owes its welcomes, or is done.
func (c *Client) ownCommitProcessed(ctx context.Context, st *groupState, own ownPayload, cursor uint64, merged bool, b *pageBatch) error {
	in, err := c.db.Intent(ctx, own.intentID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !merged {
		c.log.Error("own commit came back unusable", "group_id", GroupID(st.row.GroupID).String(), "intent_id", in.ID)
		in.State, in.LastError = int16(IntentFailed), "own commit could not be applied"
		b.p.Intents = append(b.p.Intents, in)
		return nil
	}
	if len(in.PostCommit) == 0 {
		b.p.DeleteIntents = append(b.p.DeleteIntents, in.ID)
		return nil
	}
	in.State, in.Cursor, in.UpdatedNs = int16(IntentCommitted), cursor, c.nowNs()
	b.p.Intents = append(b.p.Intents, in)
	b.committed = append(b.committed, in)
	return nil
}

// dropLostCommits gives up the commit intents of ours that were waiting
// for the epoch another member's commit just took (merging that commit
// dropped our pending commit).
func (c *Client) dropLostCommits(st *groupState, b *pageBatch) {
	for k, own := range st.own {
		if own.kind == IntentSendMessage {
			continue
		}
		delete(st.own, k)
		b.p.DeleteIntents = append(b.p.DeleteIntents, own.intentID)
		c.log.Info("own commit lost its epoch", "group_id", GroupID(st.row.GroupID).String(), "intent_id", own.intentID)
	}
}

// processMLS decrypts and applies one message, msg, parsed from v1's data
// (parseErr: why it did not parse). It returns the messages to store and
// whether it merged a commit.
func (c *Client) processMLS(ctx context.Context, st *groupState, v1 *mlsapi.GroupMessage_V1, msg *mls.MLSMessage,
	parseErr error) (_ []storage.ClientMessage, merged bool, err error) {
	id := v1.GetId()
	if parseErr != nil {
		return nil, false, &MessageError{Cursor: id, Reason: "malformed MLS message", Err: parseErr}
	}
	if msg.WireFormat != mls.WireFormatPrivateMessage {
		return nil, false, &MessageError{Cursor: id, Reason: fmt.Sprintf("unsupported wire format %v", msg.WireFormat)}
	}
	if msg.PrivateMessage != nil && msg.PrivateMessage.ContentType != mls.ContentTypeApplication {
		defer c.rollbackUnmerged(st, &merged, &err)()
	}
	pm, err := st.mls.Process(msg)
	if err != nil {
		if errors.Is(err, mls.ErrNotMember) {
			return nil, false, err
		}
		return nil, false, &MessageError{Cursor: id, Reason: "cannot process", Err: err}
	}
	switch pm.ContentType {
	case mls.ContentTypeCommit:
		return c.applyCommit(ctx, st, pm, v1)
	case mls.ContentTypeApplication:
		m, err := c.applicationMessage(st, pm, v1)
		if err != nil {
			return nil, false, &MessageError{Cursor: id, Reason: "application message", Err: err}
		}
		if m == nil {
			return nil, false, nil
		}
		return []storage.ClientMessage{*m}, false, nil
	default:
		// Proposals by reference are queued by mls; libxmtp's legacy groups
		// do not send them.
		return nil, false, nil
	}
}

// rollbackUnmerged snapshots st's MLS state before a handshake message is
// processed and returns the function that, when *err is set and *merged
// is not, puts the snapshot back: a commit or proposal that fails (a
// commit the group's rules reject) leaves the group as it was, its
// decryption key unconsumed, as libxmtp rolls back the transaction that
// processed it (xmtp-groups.md §4.1). The sender's next handshake message
// of that epoch then reuses the key: libxmtp built the rejected one in a
// rolled-back transaction too.
func (c *Client) rollbackUnmerged(st *groupState, merged *bool, err *error) func() {
	snap, serr := st.mls.MarshalBinary()
	if serr != nil {
		c.log.Error("snapshot group state", "group_id", GroupID(st.row.GroupID).String(), "err", serr)
		return func() {}
	}
	return func() {
		if *err == nil || *merged {
			return
		}
		g, uerr := mls.UnmarshalGroup(c.mlsConfig(), snap)
		if uerr != nil {
			c.log.Error("restore group state", "group_id", GroupID(st.row.GroupID).String(), "err", uerr)
			st.broken = true
			return
		}
		st.mls = g
	}
}

// applyCommit validates a staged commit, merges it, and returns its
// membership-change record, if it changed members or metadata.
func (c *Client) applyCommit(ctx context.Context, st *groupState, pm *mls.ProcessedMessage, v1 *mlsapi.GroupMessage_V1) ([]storage.ClientMessage, bool, error) {
	id := v1.GetId()
	sc := pm.Commit
	committer, inst, err := c.committer(pm)
	if err != nil {
		return nil, false, &MessageError{Cursor: id, Reason: "commit rejected", Err: err}
	}
	old, next, err := c.checkCommit(ctx, st, sc, committer)
	if err != nil {
		return nil, false, &MessageError{Cursor: id, Reason: "commit rejected", Err: err}
	}
	if err := st.mls.MergeStagedCommit(sc); err != nil {
		return nil, false, &MessageError{Cursor: id, Reason: "merge commit", Err: err}
	}
	if sc.SelfRemoved {
		st.row.Active = false
		c.log.Info("removed from group", "group_id", GroupID(st.row.GroupID).String())
	}
	var out []storage.ClientMessage
	if gu := groupUpdated(committer, old, next); gu != nil {
		m, err := c.transcriptMessage(st.row.GroupID, gu, committer, inst, strconv.FormatUint(v1.GetCreatedNs(), 10), v1)
		if err != nil {
			return nil, true, err
		}
		out = append(out, *m)
	}
	return out, true, nil
}

// committer returns the inbox and installation of a commit's sender, a
// member of the current epoch (xmtp-groups.md §4 step 6).
func (c *Client) committer(pm *mls.ProcessedMessage) (identity.InboxID, []byte, error) {
	if pm.Sender.Type != mls.SenderTypeMember {
		return "", nil, fmt.Errorf("actor not member (sender type %d)", pm.Sender.Type)
	}
	leaf := pm.SenderLeaf
	if leaf == nil {
		return "", nil, fmt.Errorf("committer leaf %d unknown", pm.Sender.LeafIndex)
	}
	inbox, err := inboxOfLeaf(leaf)
	if err != nil {
		return "", nil, err
	}
	return inbox, leaf.SignatureKey, nil
}

// checkCommit applies the XMTP checks this client makes before merging a
// commit (xmtp-groups.md §4): no pre-shared keys; a GroupContextExtensions
// change must leave valid XMTP extensions (the immutable metadata is not
// compared: see commitContextExtensions), never lower a member's sequence
// id, and pass the group's permissions for
// the committer (policy.Evaluate: members added and removed, metadata,
// admins, permissions); its leaf changes and credentials must match the
// members' identity state (checkCommitIdentity, xmtp-groups.md §4 steps
// 10–13), which also names the actor the permissions apply to. It returns
// the extensions before and after (equal when unchanged).
func (c *Client) checkCommit(ctx context.Context, st *groupState, sc *mls.StagedCommit, committer identity.InboxID) (*GroupExtensions, *GroupExtensions, error) {
	if len(sc.PSKs) > 0 {
		return nil, nil, errors.New("pre-shared key proposals are not allowed")
	}
	old, err := parseGroupExtensions(st.mls.Extensions())
	if err != nil {
		return nil, nil, err
	}
	if committer, err = c.checkCommitIdentity(ctx, st, sc, old); err != nil {
		return nil, nil, err
	}
	if !sc.ExtensionsChanged {
		if err := c.checkFloor(old); err != nil {
			return nil, nil, err
		}
		return old, old, nil
	}
	// The new immutable metadata is not checked, as in libxmtp 1.9.1 (see
	// commitContextExtensions).
	exts, err := commitContextExtensions(st.mls.Extensions(), sc.GroupContextExtensions)
	if err != nil {
		return nil, nil, err
	}
	next, err := parseGroupExtensions(exts)
	if err != nil {
		return nil, nil, err
	}
	oldM := old.Membership.GetMembers()
	for in, seq := range next.Membership.GetMembers() {
		if prev, ok := oldM[in]; ok && seq < prev {
			return nil, nil, &GroupContextError{Extension: ExtensionGroupMembership, Reason: fmt.Sprintf("sequence id of %s decreased", in)}
		}
	}
	ch := policy.Change{Actor: committer, Metadata: policy.DiffMetadata(policyMetadata(old.Mutable), policyMetadata(next.Mutable))}
	added, removed := membershipDiff(old, next)
	for _, in := range added {
		ch.AddedMembers = append(ch.AddedMembers, policy.MemberChange{Inbox: in})
	}
	for _, in := range removed {
		ch.RemovedMembers = append(ch.RemovedMembers, policy.MemberChange{Inbox: in})
	}
	if !bytes.Equal(old.PermissionsRaw, next.PermissionsRaw) {
		ps := next.Policies
		ch.Permissions = &ps
	}
	if err := policy.Evaluate(policyState(old), ch).Err(); err != nil {
		return nil, nil, err
	}
	// The minimum version (xmtp-groups.md §4 step 15): one that does not
	// parse makes the commit invalid, one above ours pauses the group.
	if err := c.checkFloor(next); err != nil {
		return nil, nil, err
	}
	return old, next, nil
}

// membershipDiff returns the inboxes only in next's membership and those
// only in old's, sorted.
func membershipDiff(old, next *GroupExtensions) (added, removed []identity.InboxID) {
	o, n := old.Membership.GetMembers(), next.Membership.GetMembers()
	for in := range n {
		if _, ok := o[in]; !ok {
			added = append(added, identity.InboxID(in))
		}
	}
	for in := range o {
		if _, ok := n[in]; !ok {
			removed = append(removed, identity.InboxID(in))
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

// applicationMessage decodes an application message: PlaintextEnvelope
// V1 (V2 is ignored, as libxmtp does), its EncodedContent, the sender from
// its leaf credential, and the libxmtp message id.
func (c *Client) applicationMessage(st *groupState, pm *mls.ProcessedMessage, v1 *mlsapi.GroupMessage_V1) (*storage.ClientMessage, error) {
	var env content.PlaintextEnvelope
	if err := proto.Unmarshal(pm.ApplicationData, &env); err != nil {
		return nil, fmt.Errorf("malformed envelope: %w", err)
	}
	if env.GetV2() != nil {
		return nil, nil
	}
	ev1 := env.GetV1()
	if ev1 == nil {
		return nil, errors.New("invalid payload")
	}
	var ec content.EncodedContent
	if err := proto.Unmarshal(ev1.GetContent(), &ec); err != nil {
		return nil, fmt.Errorf("malformed content: %w", err)
	}
	m := &storage.ClientMessage{ID: computeMessageID(st.row.GroupID, ev1.GetIdempotencyKey(), ev1.GetContent()),
		GroupID: st.row.GroupID, SentAtNs: int64(v1.GetCreatedNs()), Kind: int16(KindApplication),
		DeliveryStatus: int16(StatusPublished), Content: ev1.GetContent(), IdempotencyKey: ev1.GetIdempotencyKey(),
		Cursor: v1.GetId(), InsertedNs: c.nowNs()}
	t := ec.GetType()
	m.AuthorityID, m.TypeID, m.VersionMajor, m.VersionMinor = t.GetAuthorityId(), t.GetTypeId(), t.GetVersionMajor(), t.GetVersionMinor()
	m.ReferenceID = referenceIDOf(&ec)
	m.ExpireAtNs = c.expireAtNs(st)
	// SenderLeaf is the sender's leaf in the message's own epoch; the
	// current tree may have given that index to someone else since.
	leaf := pm.SenderLeaf
	if leaf == nil {
		return nil, errors.New("sender leaf unknown")
	}
	inbox, err := inboxOfLeaf(leaf)
	if err != nil {
		return nil, fmt.Errorf("sender credential: %w", err)
	}
	m.SenderInboxID, m.SenderInstallation = string(inbox), leaf.SignatureKey
	return m, nil
}
