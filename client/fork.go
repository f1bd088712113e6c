package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"

	"google.golang.org/protobuf/proto"

	"mlsbridge/identity"
	"mlsbridge/mls"
	"mlsbridge/policy"
	"mlsbridge/storage"
	"mlsbridge/wire/association"
	"mlsbridge/wire/content"
	"mlsbridge/wire/mlsapi"
)

// Fork detection and recovery (xmtp-groups.md §4.1, §10).
//
// A group forks for a member when its encryption state diverges from the
// others' (a database restored from an old copy, a commit one side could
// not apply): it can no longer read them, nor they it. Two signals are
// kept per group:
//
//   - maybe forked: a message of an epoch after ours arrived (a local
//     guess, set during sync);
//   - the commit-log verdict: every client logs, for each commit it
//     processes, the epoch authenticator it ended with (the local commit
//     log); super admins (both members in a DM) publish theirs, signed with
//     the group's _commit_log_signer key, to the node's remote commit log;
//     members download it and compare the authenticators of the same
//     commits. A mismatch means forked.
//
// Recovery: a super admin re-adds the forked installation
// (Group.ReaddInstallations: Remove and Add of the same installation in one
// commit); its Welcome replaces the forked state.

// Fork-check cursors kept in the cursors table, per group (hex id appended).
const (
	commitLogUploadTopic   = "commit_log_upload:"
	commitLogDownloadTopic = "commit_log_download:"
	forkCheckLocalTopic    = "fork_check_local:"
	forkCheckRemoteTopic   = "fork_check_remote:"
)

// Limits of the node's commit-log calls (spec §2.11).
const (
	maxCommitLogPublish = 10
	maxCommitLogQueries = 20
)

// minRecoveryVersion is the minimum_supported_protocol_version a group is
// raised to before a re-add (MIN_RECOVERY_REQUEST_VERSION): older libxmtp
// clients reject re-add commits.
const minRecoveryVersion = "1.6.0"

// ForkVerdict is what the commit log says about a group.
type ForkVerdict int16

// Fork verdicts; the stored numbers are permanent.
const (
	// ForkUnknown: not checked yet, or our log is ahead of the remote one.
	ForkUnknown ForkVerdict = 0
	// ForkNone: our authenticators match the remote log's.
	ForkNone ForkVerdict = 1
	// Forked: an authenticator differs for the same commit.
	Forked ForkVerdict = 2
)

func (v ForkVerdict) String() string {
	switch v {
	case ForkNone:
		return "not_forked"
	case Forked:
		return "forked"
	}
	return "unknown"
}

// ForkState is what this installation knows about a group having forked.
type ForkState struct {
	// CommitLog is the commit-log verdict (updated by CheckForks).
	CommitLog ForkVerdict
	// MaybeForked is set when a message of a later epoch than ours
	// arrived; Details names it.
	MaybeForked bool
	Details     string
}

// Forked reports whether either signal says the group forked.
func (s *ForkState) Forked() bool { return s.CommitLog == Forked || s.MaybeForked }

// ForkState returns the group's fork signals (no network I/O).
func (g *Group) ForkState(ctx context.Context) (*ForkState, error) {
	fs, err := g.c.db.ForkState(ctx, g.id)
	if err != nil {
		return nil, err
	}
	return &ForkState{CommitLog: ForkVerdict(fs.CommitLogForked), MaybeForked: fs.MaybeForked, Details: fs.ForkDetails}, nil
}

// forkProbe is what is known of a group message and of the group before
// the message is processed.
type forkProbe struct {
	epoch    uint64
	auth     []byte
	msgEpoch uint64
	commit   bool
	parsed   bool
}

// probeFork reads the epoch and content type a group message (msg, nil
// when it did not parse) carries in the clear, and the group's epoch and
// authenticator before it.
func probeFork(st *groupState, msg *mls.MLSMessage) forkProbe {
	p := forkProbe{epoch: st.mls.Epoch(), auth: st.mls.EpochAuthenticator()}
	switch {
	case msg == nil:
	case msg.PrivateMessage != nil:
		p.msgEpoch, p.commit, p.parsed = msg.PrivateMessage.Epoch, msg.PrivateMessage.ContentType == mls.ContentTypeCommit, true
	case msg.PublicMessage != nil:
		c := &msg.PublicMessage.Content
		p.msgEpoch, p.commit, p.parsed = c.Epoch, c.ContentType == mls.ContentTypeCommit, true
	}
	return p
}

// recordFork adds to b what processing one group message tells the fork
// detection: a local commit-log row for a commit we merged, or for one we
// could not apply, and the maybe-forked flag for a message of a later
// epoch. Failures are not logged while we may still be catching up to the
// commit that welcomed us (libxmtp's rule): the group has no log row yet
// and the commit is of our epoch or an older one.
func (c *Client) recordFork(ctx context.Context, st *groupState, v1 *mlsapi.GroupMessage_V1, p forkProbe, merged bool, perr error, b *pageBatch) {
	now := c.nowNs()
	if merged {
		b.p.CommitLog = append(b.p.CommitLog, storage.ClientCommitLogEntry{GroupID: st.row.GroupID, CommitSequenceID: v1.GetId(),
			LastEpochAuthenticator: p.auth, CommitResult: int16(content.CommitResult_COMMIT_RESULT_APPLIED),
			AppliedEpochNumber: st.mls.Epoch(), AppliedEpochAuthenticator: st.mls.EpochAuthenticator(), CreatedNs: now})
		return
	}
	if perr == nil || !p.parsed {
		return
	}
	if p.msgEpoch > p.epoch {
		b.p.MaybeForked = fmt.Sprintf("Message cursor [%d] epoch [%d] is greater than group epoch [%d], your group may be forked",
			v1.GetId(), p.msgEpoch, p.epoch)
	}
	if !p.commit {
		return
	}
	if p.msgEpoch <= p.epoch && len(b.p.CommitLog) == 0 {
		if _, err := c.db.LatestLocalCommitLog(ctx, st.row.GroupID); errors.Is(err, storage.ErrNotFound) {
			return
		}
	}
	b.p.CommitLog = append(b.p.CommitLog, storage.ClientCommitLogEntry{GroupID: st.row.GroupID, CommitSequenceID: v1.GetId(),
		LastEpochAuthenticator: p.auth, CommitResult: int16(failedCommitResult(p, perr)), AppliedEpochNumber: p.epoch,
		AppliedEpochAuthenticator: p.auth, ErrorMessage: perr.Error(), CreatedNs: now})
}

// failedCommitResult classifies a commit we could not apply.
func failedCommitResult(p forkProbe, err error) content.CommitResult {
	var me *MessageError
	switch {
	case p.msgEpoch != p.epoch:
		return content.CommitResult_COMMIT_RESULT_WRONG_EPOCH
	case errors.As(err, &me) && me.Reason == "commit rejected":
		return content.CommitResult_COMMIT_RESULT_INVALID
	}
	return content.CommitResult_COMMIT_RESULT_UNDECRYPTABLE
}

// forkGroup is what the commit-log round needs of one group.
type forkGroup struct {
	id GroupID
	// publisher: we publish the group's log (super admin, or a DM).
	publisher bool
	// signer is the group's _commit_log_signer private key (nil when it has
	// none or it is malformed).
	signer ed25519.PrivateKey
	state  *storage.ClientForkState
}

// CheckForks runs one commit-log round (libxmtp's commit-log worker, every
// five minutes there): for every group it downloads the new entries of
// the remote commit log (keeping those validly signed by the group's
// consensus key that extend the chain), compares them with the local
// commit log and records the verdict (see Group.ForkState), and, where we
// are a super admin (or in a DM), publishes our new local log entries
// signed with the group's _commit_log_signer. Sync and one-shot groups are
// skipped. Errors of one group do not stop the others; they are returned
// joined.
func (c *Client) CheckForks(ctx context.Context) error {
	groups, err := c.forkGroups(ctx)
	if err != nil {
		return fmt.Errorf("check forks: %w", err)
	}
	errs := []error{c.downloadCommitLogs(ctx, groups)}
	for _, g := range groups {
		if err := c.updateForkVerdict(ctx, g); err != nil {
			errs = append(errs, fmt.Errorf("group %s: %w", g.id, err))
		}
	}
	errs = append(errs, c.publishCommitLogs(ctx, groups))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("check forks: %w", err)
	}
	return nil
}

// forkRole is what forkGroups reads of a group's MLS state.
type forkRole struct {
	// epoch and active are those of the stored MLS state it was read
	// from: the group context extensions change only with the epoch.
	epoch     uint64
	active    bool
	publisher bool
	signer    ed25519.PrivateKey
}

// forkRoleCache keeps each group's forkRole between commit-log rounds, so
// that a round loads the MLS state only of the groups whose epoch or
// activity changed since the last one.
type forkRoleCache struct {
	mu    sync.Mutex
	roles map[string]forkRole
}

// forkGroups reads, for every group that takes part, its role and signer:
// from the group's goroutine when its stored epoch or activity changed
// since the last round (or it was never read), else from the previous
// round's reading.
func (c *Client) forkGroups(ctx context.Context) ([]*forkGroup, error) {
	rows, err := c.db.Groups(ctx)
	if err != nil {
		return nil, err
	}
	c.forkRoles.mu.Lock()
	defer c.forkRoles.mu.Unlock()
	prev := c.forkRoles.roles
	next := make(map[string]forkRole, len(rows))
	c.forkRoles.roles = next
	var out []*forkGroup
	for _, r := range rows {
		t := content.ConversationType(r.ConversationType)
		if t == content.ConversationType_CONVERSATION_TYPE_SYNC || t == content.ConversationType_CONVERSATION_TYPE_ONESHOT {
			continue
		}
		role, ok := prev[string(r.GroupID)]
		if !ok || role.epoch != r.Epoch || role.active != r.Active {
			err := c.withGroup(ctx, r.GroupID, func(_ context.Context, st *groupState) error {
				ext, err := parseGroupExtensions(st.mls.Extensions())
				if err != nil {
					return err
				}
				role = forkRole{epoch: st.row.Epoch, active: st.row.Active}
				role.publisher = st.mls.Active() && (t == content.ConversationType_CONVERSATION_TYPE_DM ||
					slices.Contains(ext.Mutable.GetSuperAdminList().GetInboxIds(), string(c.inbox)))
				if seed, err := hex.DecodeString(ext.Mutable.GetAttributes()[AttrCommitLogSigner]); err == nil && len(seed) == ed25519.SeedSize {
					role.signer = ed25519.NewKeyFromSeed(seed)
				}
				return nil
			})
			if errors.Is(err, ErrGroupNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("group %s: %w", GroupID(r.GroupID), err)
			}
		}
		next[string(r.GroupID)] = role
		g := &forkGroup{id: r.GroupID, publisher: role.publisher, signer: role.signer}
		if g.state, err = c.db.ForkState(ctx, r.GroupID); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// downloadCommitLogs fetches the new remote commit-log entries of the
// groups, at most maxCommitLogQueries groups per call, page by page.
func (c *Client) downloadCommitLogs(ctx context.Context, groups []*forkGroup) error {
	todo := slices.Clone(groups)
	for len(todo) > 0 {
		batch := todo[:min(len(todo), maxCommitLogQueries)]
		todo = todo[len(batch):]
		req := &mlsapi.BatchQueryCommitLogRequest{}
		for _, g := range batch {
			cur, err := c.db.Cursor(ctx, commitLogDownloadTopic+g.id.String())
			if err != nil {
				return err
			}
			req.Requests = append(req.Requests, &mlsapi.QueryCommitLogRequest{GroupId: g.id, PagingInfo: &mlsapi.PagingInfo{
				Direction: mlsapi.SortDirection_SORT_DIRECTION_ASCENDING, Limit: pageSize, IdCursor: cur}})
		}
		resp, err := c.mlsAPI.BatchQueryCommitLog(ctx, req)
		if err != nil {
			return fmt.Errorf("query commit log: %w", err)
		}
		if len(resp.GetResponses()) != len(batch) {
			return fmt.Errorf("query commit log: %d answers for %d groups", len(resp.GetResponses()), len(batch))
		}
		for i, r := range resp.GetResponses() {
			if err := c.saveRemoteCommitLog(ctx, batch[i], r.GetCommitLogEntries()); err != nil {
				return fmt.Errorf("group %s: %w", batch[i].id, err)
			}
			if len(r.GetCommitLogEntries()) == pageSize {
				todo = append(todo, batch[i])
			}
		}
	}
	return nil
}

// saveRemoteCommitLog keeps the entries that pass libxmtp's checks and
// advances the group's download cursor past all of them.
func (c *Client) saveRemoteCommitLog(ctx context.Context, g *forkGroup, entries []*content.CommitLogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	if g.state.CommitLogPublicKey == nil {
		for _, e := range entries {
			if pub := e.GetSignature().GetPublicKey(); verifyCommitLogEntry(e, pub) {
				g.state.CommitLogPublicKey = slices.Clone(pub)
				g.state.UpdatedNs = c.nowNs()
				if err := c.db.PutForkState(ctx, *g.state); err != nil {
					return err
				}
				break
			}
		}
	}
	latest, err := c.db.LatestRemoteCommitLog(ctx, g.id)
	if errors.Is(err, storage.ErrNotFound) {
		latest, err = nil, nil
	}
	if err != nil {
		return err
	}
	var keep []storage.ClientRemoteCommitLogEntry
	for _, e := range entries {
		var pe content.PlaintextCommitLogEntry
		if proto.Unmarshal(e.GetSerializedCommitLogEntry(), &pe) != nil {
			c.log.Warn("remote commit log entry dropped", "group_id", g.id.String(), "sequence_id", e.GetSequenceId(), "rule", "malformed entry")
			continue
		}
		if rule := skipRemoteEntry(g, latest, e, &pe); rule != "" {
			c.log.Debug("remote commit log entry skipped", "group_id", g.id.String(), "sequence_id", e.GetSequenceId(), "rule", rule)
			continue
		}
		r := storage.ClientRemoteCommitLogEntry{LogSequenceID: e.GetSequenceId(), GroupID: g.id, CommitSequenceID: pe.GetCommitSequenceId(),
			CommitResult: int16(pe.GetCommitResult()), AppliedEpochNumber: pe.GetAppliedEpochNumber(),
			AppliedEpochAuthenticator: pe.GetAppliedEpochAuthenticator()}
		keep = append(keep, r)
		latest = &keep[len(keep)-1]
	}
	return c.db.InsertRemoteCommitLog(ctx, keep, commitLogDownloadTopic+g.id.String(), entries[len(entries)-1].GetSequenceId())
}

// skipRemoteEntry applies libxmtp's rules to one downloaded entry and
// returns the one it breaks ("" to keep it): the entry is for this group
// and a real commit, is signed by the consensus key, comes after the last
// kept entry, and an applied commit continues the last applied epoch (its
// previous authenticator is that epoch's, its epoch the next one) while a
// failed one leaves it as it was.
func skipRemoteEntry(g *forkGroup, latest *storage.ClientRemoteCommitLogEntry, e *content.CommitLogEntry, pe *content.PlaintextCommitLogEntry) string {
	switch {
	case !bytes.Equal(pe.GetGroupId(), g.id):
		return "entry for another group"
	case pe.GetCommitSequenceId() == 0:
		return "no commit sequence id"
	case g.state.CommitLogPublicKey == nil || !verifyCommitLogEntry(e, g.state.CommitLogPublicKey):
		return "not signed by the consensus key"
	case latest == nil:
		return ""
	case pe.GetCommitSequenceId() <= latest.CommitSequenceID:
		return "commit sequence id not after the last entry"
	}
	applied := pe.GetCommitResult() == content.CommitResult_COMMIT_RESULT_APPLIED
	switch {
	case applied && len(latest.AppliedEpochAuthenticator) > 0 && !bytes.Equal(pe.GetLastEpochAuthenticator(), latest.AppliedEpochAuthenticator):
		return "previous epoch authenticator does not continue the chain"
	case applied && pe.GetAppliedEpochNumber() != latest.AppliedEpochNumber+1:
		return "applied epoch is not the next one"
	case !applied && (!bytes.Equal(pe.GetAppliedEpochAuthenticator(), latest.AppliedEpochAuthenticator) ||
		pe.GetAppliedEpochNumber() != latest.AppliedEpochNumber):
		return "failed commit changed the epoch"
	}
	return ""
}

// verifyCommitLogEntry checks an entry's Ed25519 signature under pub,
// which must also be the key the signature names.
func verifyCommitLogEntry(e *content.CommitLogEntry, pub []byte) bool {
	sig := e.GetSignature()
	return len(pub) == ed25519.PublicKeySize && bytes.Equal(sig.GetPublicKey(), pub) &&
		ed25519.Verify(pub, e.GetSerializedCommitLogEntry(), sig.GetBytes())
}

// updateForkVerdict compares the group's local commit log with the
// remote one, as libxmtp does: from the newest local row not yet checked
// backwards, the first row whose commit the remote log also has decides.
// Different authenticators mean forked; equal ones mean not forked if no
// newer local row was missing from the remote log, else unknown. A group
// found forked keeps that verdict until it is re-added.
func (c *Client) updateForkVerdict(ctx context.Context, g *forkGroup) error {
	if ForkVerdict(g.state.CommitLogForked) == Forked {
		return nil
	}
	hexID := g.id.String()
	localCur, err := c.db.Cursor(ctx, forkCheckLocalTopic+hexID)
	if err != nil {
		return err
	}
	remoteCur, err := c.db.Cursor(ctx, forkCheckRemoteTopic+hexID)
	if err != nil {
		return err
	}
	local, err := c.db.LocalCommitLog(ctx, g.id, int64(localCur), true)
	if err != nil || len(local) == 0 {
		return err
	}
	remote, err := c.db.RemoteCommitLog(ctx, g.id, int64(remoteCur), true)
	if err != nil {
		return err
	}
	verdict, err := c.compareCommitLogs(ctx, hexID, local, remote)
	if err != nil {
		return err
	}
	if int16(verdict) == g.state.CommitLogForked {
		return nil
	}
	g.state.CommitLogForked, g.state.UpdatedNs = int16(verdict), c.nowNs()
	return c.db.PutForkState(ctx, *g.state)
}

// compareCommitLogs finds the newest local row whose commit the remote
// log has, moves the check cursors to the pair, and compares them.
func (c *Client) compareCommitLogs(ctx context.Context, hexID string, local []storage.ClientCommitLogEntry,
	remote []storage.ClientRemoteCommitLogEntry) (ForkVerdict, error) {
	upToDate := true
	for _, l := range local {
		i := slices.IndexFunc(remote, func(r storage.ClientRemoteCommitLogEntry) bool { return r.CommitSequenceID == l.CommitSequenceID })
		if i < 0 {
			upToDate = false
			continue
		}
		if err := c.db.SetCursor(ctx, forkCheckLocalTopic+hexID, uint64(l.ID)); err != nil {
			return ForkUnknown, err
		}
		if err := c.db.SetCursor(ctx, forkCheckRemoteTopic+hexID, uint64(remote[i].ID)); err != nil {
			return ForkUnknown, err
		}
		switch {
		case !bytes.Equal(l.AppliedEpochAuthenticator, remote[i].AppliedEpochAuthenticator):
			c.log.Warn("group forked", "group_id", hexID, "commit_sequence_id", l.CommitSequenceID, "epoch", l.AppliedEpochNumber)
			return Forked, nil
		case upToDate:
			return ForkNone, nil
		}
		return ForkUnknown, nil
	}
	return ForkUnknown, nil
}

// publishCommitLogs publishes, for the groups we publish, the local log
// rows of real commits after the upload cursor, signed with the group's
// signer, at most maxCommitLogPublish entries per call; each group's
// cursor advances once its entries are accepted. A group whose remote log
// already has a consensus key other than its signer's is skipped (libxmtp
// would wait for the key to be shared; we never generate one).
func (c *Client) publishCommitLogs(ctx context.Context, groups []*forkGroup) error {
	var errs []error
	for _, g := range groups {
		if !g.publisher || g.signer == nil {
			continue
		}
		pub := g.signer.Public().(ed25519.PublicKey)
		if g.state.CommitLogPublicKey != nil && !bytes.Equal(g.state.CommitLogPublicKey, pub) {
			c.log.Warn("commit log not published", "group_id", g.id.String(), "rule", "signer is not the consensus key")
			continue
		}
		if err := c.publishGroupCommitLog(ctx, g, pub); err != nil {
			errs = append(errs, fmt.Errorf("group %s: %w", g.id, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Client) publishGroupCommitLog(ctx context.Context, g *forkGroup, pub ed25519.PublicKey) error {
	topic := commitLogUploadTopic + g.id.String()
	cur, err := c.db.Cursor(ctx, topic)
	if err != nil {
		return err
	}
	rows, err := c.db.LocalCommitLog(ctx, g.id, int64(cur), false)
	if err != nil {
		return err
	}
	for len(rows) > 0 {
		batch := rows[:min(len(rows), maxCommitLogPublish)]
		rows = rows[len(batch):]
		req := &mlsapi.BatchPublishCommitLogRequest{}
		for _, r := range batch {
			if r.CommitSequenceID == 0 {
				continue
			}
			entry, err := deterministic.Marshal(&content.PlaintextCommitLogEntry{GroupId: g.id, CommitSequenceId: r.CommitSequenceID,
				LastEpochAuthenticator: r.LastEpochAuthenticator, CommitResult: content.CommitResult(r.CommitResult),
				AppliedEpochNumber: r.AppliedEpochNumber, AppliedEpochAuthenticator: r.AppliedEpochAuthenticator})
			if err != nil {
				return fmt.Errorf("%w: encode commit log entry: %w", ErrInternal, err)
			}
			req.Requests = append(req.Requests, &mlsapi.PublishCommitLogRequest{GroupId: g.id, SerializedCommitLogEntry: entry,
				Signature: &association.RecoverableEd25519Signature{Bytes: ed25519.Sign(g.signer, entry), PublicKey: pub}})
		}
		if len(req.Requests) > 0 {
			if _, err := c.mlsAPI.BatchPublishCommitLog(ctx, req); err != nil {
				return fmt.Errorf("publish commit log: %w", err)
			}
		}
		if err := c.db.SetCursor(ctx, topic, uint64(batch[len(batch)-1].ID)); err != nil {
			return err
		}
	}
	return nil
}

// ReaddInstallations re-adds installations of the group to recover them
// from a fork (libxmtp's readd_installations, xmtp-groups.md §10): one
// commit removes each one's leaf and adds it again from its current key
// package (fetched from the node and verified), with the membership
// unchanged; the re-added installations get a Welcome that replaces their
// forked state. Installations not in the group, and our own, are ignored;
// those whose key package is missing or invalid are recorded in the
// group's failed installations and reported. In a group only a super admin
// may re-add (libxmtp members accept such a commit only from one); when the
// group's minimum_supported_protocol_version is below 1.6.0 it is first
// raised to 1.6.0, as libxmtp does. It blocks until the commit is merged
// and its welcomes sent.
func (g *Group) ReaddInstallations(ctx context.Context, ids []identity.InstallationID) (*AddResult, error) {
	var res *AddResult
	err := g.c.withGroup(ctx, g.id, func(ctx context.Context, st *groupState) error {
		if err := g.c.prepareReadd(ctx, st); err != nil {
			return err
		}
		for attempt := 1; ; attempt++ {
			plan, err := g.c.planReadd(ctx, st, ids)
			if err != nil || plan == nil {
				res = &AddResult{}
				if plan != nil {
					res = plan.result
				}
				return err
			}
			cursor, err := g.c.commitPlan(ctx, st, plan)
			if errors.Is(err, ErrCommitConflict) && attempt < maxCommitAttempts {
				if err := g.c.settleCommits(ctx, st); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			plan.result.CommitCursor, res = cursor, plan.result
			g.c.log.Info("installations re-added", "group_id", g.id.String(), "installations", len(plan.adds), "cursor", cursor)
			return nil
		}
	})
	if err != nil {
		return res, fmt.Errorf("readd installations: %w", err)
	}
	return res, nil
}

// prepareReadd settles the group, checks that we may re-add, and raises
// the group's version floor to minRecoveryVersion when it is lower.
func (c *Client) prepareReadd(ctx context.Context, st *groupState) error {
	if !st.mls.Active() {
		return ErrInactiveGroup
	}
	if err := c.settleCommits(ctx, st); err != nil {
		return err
	}
	ext, err := parseGroupExtensions(st.mls.Extensions())
	if err != nil {
		return fmt.Errorf("%w: our own group: %w", ErrInternal, err)
	}
	if ext.Metadata.GetConversationType() != content.ConversationType_CONVERSATION_TYPE_DM &&
		!slices.Contains(ext.Mutable.GetSuperAdminList().GetInboxIds(), string(c.inbox)) {
		return fmt.Errorf("%w: only a super admin may re-add installations", ErrInvalidArgument)
	}
	if ext.Metadata.GetConversationType() == content.ConversationType_CONVERSATION_TYPE_DM {
		return nil
	}
	floor := ext.Mutable.GetAttributes()[AttrMinVersion]
	if floor != "" {
		if cmp, err := policy.CompareVersions(floor, minRecoveryVersion); err == nil && cmp >= 0 {
			return nil
		}
	}
	_, err = c.commitGroupContext(ctx, st, attributeBuilder(c, policy.FieldMinimumSupportedProtocolVersion, minRecoveryVersion))
	return err
}

// planReadd builds the re-add commit's plan; nil when none of ids is a
// leaf of the group other than ours.
func (c *Client) planReadd(ctx context.Context, st *groupState, ids []identity.InstallationID) (*membershipPlan, error) {
	ext, err := parseGroupExtensions(st.mls.Extensions())
	if err != nil {
		return nil, fmt.Errorf("%w: our own group: %w", ErrInternal, err)
	}
	membership, ok := proto.Clone(ext.Membership).(*content.GroupMembership)
	if !ok {
		return nil, fmt.Errorf("%w: clone membership", ErrInternal)
	}
	plan := &membershipPlan{membership: membership, result: &AddResult{}}
	leafOf := map[identity.InstallationID]mls.Member{}
	for _, m := range st.mls.Members() {
		if id, err := identity.InstallationIDFromBytes(m.LeafNode.SignatureKey); err == nil && m.Index != st.mls.OwnLeafIndex() {
			leafOf[id] = m
		}
	}
	var fetch []identity.InstallationID
	for _, id := range ids {
		if _, ok := leafOf[id]; ok && !slices.Contains(fetch, id) {
			fetch = append(fetch, id)
		}
	}
	if len(fetch) == 0 {
		return nil, nil // nothing to re-add: no commit (not an empty one)
	}
	kps, err := c.fetchKeyPackages(ctx, fetch)
	if err != nil {
		return nil, err
	}
	for i, id := range fetch {
		m := leafOf[id]
		plan.removes = append(plan.removes, m.Index)
		inbox, _ := inboxOfLeaf(&m.LeafNode)
		kp, err := verifyKeyPackage(kps[i], id, c.now())
		if err == nil && kp.InboxID != inbox {
			err = &KeyPackageError{Installation: id, Reason: fmt.Sprintf("credential names inbox %s, not %s", kp.InboxID, inbox)}
		}
		if err != nil {
			c.log.Warn("installation not re-added", "installation_id", id.String(), "err", err)
			plan.result.FailedInstallations = append(plan.result.FailedInstallations, id)
			if !slices.ContainsFunc(membership.FailedInstallations, func(b []byte) bool { return bytes.Equal(b, id.Bytes()) }) {
				membership.FailedInstallations = append(membership.FailedInstallations, id.Bytes())
			}
			continue
		}
		plan.adds = append(plan.adds, kp)
	}
	slices.SortFunc(membership.FailedInstallations, bytes.Compare)
	return plan, nil
}

// readdWelcome is called on the group's goroutine when a Welcome replaced
// the state of a group we were still in (a super admin re-added us, ending
// a fork): the fork signals are cleared.
func (c *Client) readdWelcome(ctx context.Context, st *groupState) error {
	fs, err := c.db.ForkState(ctx, st.row.GroupID)
	if err != nil {
		return err
	}
	fs.CommitLogForked, fs.MaybeForked, fs.ForkDetails, fs.UpdatedNs = int16(ForkUnknown), false, "", c.nowNs()
	if err := c.db.PutForkState(ctx, *fs); err != nil {
		return err
	}
	c.log.Info("re-added to a forked group", "group_id", GroupID(st.row.GroupID).String(), "epoch", st.mls.Epoch())
	return nil
}
