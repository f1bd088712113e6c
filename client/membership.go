package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"mlsbridge/identity"
	"mlsbridge/mls"
	"mlsbridge/policy"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
	"mlsbridge/wire/mlsapi"
)

// maxCommitAttempts is how often a membership commit is rebuilt when
// another member's commit wins the epoch (MAX_INTENT_PUBLISH_ATTEMPTS).
const maxCommitAttempts = 3

// maxWelcomesPerCall is libxmtp's SendWelcomeMessages batch size.
const maxWelcomesPerCall = 50

// ErrCommitConflict is returned when our commit lost the race for its
// epoch maxCommitAttempts times in a row.
var ErrCommitConflict = errors.New("client: commit lost to concurrent commits")

// ErrGroupFull is returned when adding by address would take a group past
// MaxGroupSize inboxes.
var ErrGroupFull = errors.New("client: group is full")

// AddResult says what a membership change (AddMembers, RemoveMembers,
// UpdateInstallations) did.
type AddResult struct {
	// Added are the requested inboxes now in the group.
	Added []identity.InboxID
	// FailedInboxes are requested inboxes that could not be added: no
	// identity, or no installation with a usable key package.
	FailedInboxes []identity.InboxID
	// FailedInstallations are installations whose key package was missing
	// or invalid (recorded in the group's failed_installations).
	FailedInstallations []identity.InstallationID
	// CommitCursor is the node id of the commit that added them (0 when
	// nothing was committed).
	CommitCursor uint64
}

// AddMembers adds inboxes to the group as libxmtp does (xmtp-groups.md §4.2,
// §10): one commit with an Add for every installation of every new inbox
// (key packages fetched from the node and verified), plus the installation
// changes of existing members (see UpdateInstallations), and a
// GroupContextExtensions proposal with the updated membership. The commit
// is checked against the group's permissions first, stored with its
// welcomes as an intent, published, and merged only once it came back in a
// group sync; then each added installation gets its HPKE-wrapped welcome
// with the commit's cursor. Inboxes already in the group are ignored. It
// fails with ErrNoKeyPackages when no requested installation could be
// added, and with a *policy.DeniedError when the permissions forbid it.
func (g *Group) AddMembers(ctx context.Context, add []identity.InboxID) (*AddResult, error) {
	for _, in := range add {
		if !in.Valid() {
			return nil, fmt.Errorf("%w: inbox id %q", ErrInvalidArgument, in)
		}
	}
	var res *AddResult
	err := g.c.withGroup(ctx, g.id, func(ctx context.Context, st *groupState) error {
		var err error
		res, err = g.c.changeMembership(ctx, st, add, nil)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("add members: %w", err)
	}
	return res, nil
}

// RemoveMembers removes inboxes from the group with all their
// installations, in one commit that also carries the installation changes
// of the remaining members (xmtp-groups.md §10). Inboxes not in the group
// are ignored. The group's permissions decide who may remove whom: a super
// admin can never be removed, and nobody removes their own inbox (members
// leave with a leave request instead); a refusal is a *policy.DeniedError.
func (g *Group) RemoveMembers(ctx context.Context, remove []identity.InboxID) (*AddResult, error) {
	for _, in := range remove {
		if !in.Valid() {
			return nil, fmt.Errorf("%w: inbox id %q", ErrInvalidArgument, in)
		}
	}
	var res *AddResult
	err := g.c.withGroup(ctx, g.id, func(ctx context.Context, st *groupState) error {
		var err error
		res, err = g.c.changeMembership(ctx, st, nil, remove)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("remove members: %w", err)
	}
	return res, nil
}

// UpdateInstallations brings the group's installations in line with its
// members' identity state now (libxmtp's update_installations,
// xmtp-groups.md §10): every member inbox moves to its latest identity
// sequence id, its new installations are added (their key packages fetched
// and verified; failures recorded in failed_installations) and its revoked
// ones removed, in one commit. Nothing is committed when nothing changed.
// Any member may do this; the permissions do not apply. Send does it
// automatically every five seconds at most, Sync every thirty minutes.
func (g *Group) UpdateInstallations(ctx context.Context) (*AddResult, error) {
	var res *AddResult
	err := g.c.withGroup(ctx, g.id, func(ctx context.Context, st *groupState) error {
		var err error
		res, err = g.c.changeMembership(ctx, st, nil, nil)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("update installations: %w", err)
	}
	return res, nil
}

// Intervals of the automatic installation updates (xmtp-groups.md §10).
const (
	// sendInstallationsInterval is how stale a group's installations may be
	// when we publish a message (SEND_MESSAGE_UPDATE_INSTALLATIONS_INTERVAL_NS).
	sendInstallationsInterval = 5 * time.Second
	// syncInstallationsInterval is how stale they may be when we sync the
	// group (SYNC_UPDATE_INSTALLATIONS_INTERVAL_NS, production value).
	syncInstallationsInterval = 30 * time.Minute
)

// maybeUpdateInstallations updates the group's installations when they
// were last checked more than interval ago (libxmtp's
// maybe_update_installations). Sync and one-shot conversations and groups
// we left are skipped. The identity check fetches only new updates.
func (c *Client) maybeUpdateInstallations(ctx context.Context, st *groupState, interval time.Duration) error {
	t := content.ConversationType(st.row.ConversationType)
	if !st.mls.Active() || t == content.ConversationType_CONVERSATION_TYPE_SYNC || t == content.ConversationType_CONVERSATION_TYPE_ONESHOT {
		return nil
	}
	now := c.nowNs()
	if interval > 0 && now-st.row.InstallationsCheckedNs < interval.Nanoseconds() {
		return nil
	}
	stale, err := c.membershipStale(ctx, st)
	if err != nil {
		return err
	}
	if !stale {
		return c.markInstallationsChecked(ctx, st, now)
	}
	_, err = c.changeMembership(ctx, st, nil, nil)
	return err
}

func (c *Client) markInstallationsChecked(ctx context.Context, st *groupState, now int64) error {
	st.row.InstallationsCheckedNs = now
	return c.db.SetInstallationsChecked(ctx, st.row.GroupID, now)
}

// membershipStale reports whether some member inbox has identity updates
// after the sequence id the group applied for it.
func (c *Client) membershipStale(ctx context.Context, st *groupState) (bool, error) {
	ext, err := parseGroupExtensions(st.mls.Extensions())
	if err != nil {
		return false, fmt.Errorf("%w: our own group: %w", ErrInternal, err)
	}
	members := ext.Membership.GetMembers()
	inboxes := make([]identity.InboxID, 0, len(members))
	for in := range members {
		inboxes = append(inboxes, identity.InboxID(in))
	}
	logs, err := c.identityLogs(ctx, inboxes)
	if err != nil {
		return false, err
	}
	for in, seq := range members {
		if l := logs[identity.InboxID(in)]; len(l) > 0 && l[len(l)-1].SequenceID() != seq {
			return true, nil
		}
	}
	return false, nil
}

// AddMembersByAddress resolves Ethereum addresses to inbox ids and adds
// them; addresses without an inbox are reported in the second result. As
// in libxmtp's add by identity, the group may not grow past MaxGroupSize
// inboxes this way (ErrGroupFull).
func (g *Group) AddMembersByAddress(ctx context.Context, addrs []identity.Address) (*AddResult, []identity.Address, error) {
	ids, missing, err := g.c.resolveAddresses(ctx, addrs)
	if err != nil {
		return nil, nil, err
	}
	if len(ids) == 0 {
		return nil, missing, fmt.Errorf("add members: %w: no address has an inbox", ErrNoKeyPackages)
	}
	info, err := g.Info(ctx)
	if err != nil {
		return nil, missing, err
	}
	newInboxes := map[identity.InboxID]bool{}
	for _, id := range ids {
		if _, ok := info.Membership[id]; !ok {
			newInboxes[id] = true
		}
	}
	if err := checkGroupSize(len(info.Membership), len(newInboxes)); err != nil {
		return nil, missing, fmt.Errorf("add members: %w", err)
	}
	res, err := g.AddMembers(ctx, ids)
	return res, missing, err
}

// checkGroupSize applies MAX_GROUP_SIZE to an add by identity
// (xmtp-groups.md §2.5).
func checkGroupSize(current, adding int) error {
	if current+adding > MaxGroupSize {
		return fmt.Errorf("%w: %d members plus %d new exceed %d", ErrGroupFull, current, adding, MaxGroupSize)
	}
	return nil
}

// RemoveMembersByAddress resolves Ethereum addresses to inbox ids and
// removes those inboxes (see RemoveMembers); addresses without an inbox are
// reported in the second result.
func (g *Group) RemoveMembersByAddress(ctx context.Context, addrs []identity.Address) (*AddResult, []identity.Address, error) {
	ids, missing, err := g.c.resolveAddresses(ctx, addrs)
	if err != nil {
		return nil, nil, err
	}
	res, err := g.RemoveMembers(ctx, ids)
	return res, missing, err
}

func (c *Client) resolveAddresses(ctx context.Context, addrs []identity.Address) ([]identity.InboxID, []identity.Address, error) {
	m, err := c.inboxIDsFor(ctx, addrs)
	if err != nil {
		return nil, nil, err
	}
	var ids []identity.InboxID
	var missing []identity.Address
	for _, a := range addrs {
		if id, ok := m[a]; ok {
			ids = append(ids, id)
		} else {
			missing = append(missing, a)
		}
	}
	return ids, missing, nil
}

// changeMembership plans, checks, commits, publishes and confirms one
// membership change, retrying when another commit wins the epoch. It
// records the installation check.
func (c *Client) changeMembership(ctx context.Context, st *groupState, add, remove []identity.InboxID) (*AddResult, error) {
	if !st.mls.Active() {
		return nil, ErrInactiveGroup
	}
	for attempt := 1; ; attempt++ {
		if err := c.settleCommits(ctx, st); err != nil {
			return nil, err
		}
		if !st.mls.Active() {
			return nil, ErrInactiveGroup
		}
		now := c.nowNs()
		plan, err := c.planMembership(ctx, st, add, remove)
		if err != nil {
			return nil, err
		}
		if err := c.checkMembershipIntent(st, plan); err != nil {
			return plan.result, err
		}
		if plan.requestedNew > 0 && len(plan.result.Added) == 0 {
			return plan.result, ErrNoKeyPackages
		}
		if plan.empty() {
			return plan.result, c.markInstallationsChecked(ctx, st, now)
		}
		cursor, err := c.commitPlan(ctx, st, plan)
		if errors.Is(err, ErrCommitConflict) && attempt < maxCommitAttempts {
			c.log.Info("membership commit lost its epoch; retrying", "group_id", GroupID(st.row.GroupID).String(), "attempt", attempt)
			continue
		}
		if err != nil {
			return nil, err
		}
		plan.result.CommitCursor = cursor
		return plan.result, c.markInstallationsChecked(ctx, st, now)
	}
}

// checkMembershipIntent applies the group's permissions to the inboxes the
// plan adds and removes, with libxmtp's sender-side rules
// (policy.EvaluateIntent). Installation-only changes need no permission.
func (c *Client) checkMembershipIntent(st *groupState, plan *membershipPlan) error {
	if len(plan.result.Added) == 0 && len(plan.removedInboxes) == 0 {
		return nil
	}
	ext, err := parseGroupExtensions(st.mls.Extensions())
	if err != nil {
		return fmt.Errorf("%w: our own group: %w", ErrInternal, err)
	}
	gs := policyState(ext)
	ch := policy.Change{Actor: c.inbox}
	for _, in := range plan.result.Added {
		ch.AddedMembers = append(ch.AddedMembers, policy.MemberChange{Inbox: in})
	}
	for _, in := range plan.removedInboxes {
		ch.RemovedMembers = append(ch.RemovedMembers, policy.MemberChange{Inbox: in})
	}
	return policy.EvaluateIntent(gs, ch).Err()
}

// membershipPlan is one membership commit to make.
type membershipPlan struct {
	membership *content.GroupMembership
	adds       []*VerifiedKeyPackage
	removes    []mls.LeafIndex
	seqChanged bool
	// requestedNew counts the requested inboxes not yet in the group.
	requestedNew int
	// removedInboxes are the requested inboxes that are in the group.
	removedInboxes []identity.InboxID
	result         *AddResult
}

func (p *membershipPlan) empty() bool {
	return len(p.adds) == 0 && len(p.removes) == 0 && !p.seqChanged
}

// planMembership computes the new GroupMembership and the leaves to add and
// remove (xmtp-groups.md §10): every member inbox moves to its latest
// identity sequence id, new inboxes join at theirs, and the installation
// diff between the old and new identity states gives the Adds (key
// packages verified; failures recorded) and Removes.
func (c *Client) planMembership(ctx context.Context, st *groupState, add, remove []identity.InboxID) (*membershipPlan, error) {
	ext, err := parseGroupExtensions(st.mls.Extensions())
	if err != nil {
		return nil, fmt.Errorf("%w: our own group: %w", ErrInternal, err)
	}
	old := ext.Membership.GetMembers()
	want := map[identity.InboxID]bool{}
	var all []identity.InboxID
	for k := range old {
		if !slices.Contains(remove, identity.InboxID(k)) {
			all = append(all, identity.InboxID(k))
			want[identity.InboxID(k)] = true
		}
	}
	res := &AddResult{}
	newToGroup := map[identity.InboxID]bool{}
	for _, in := range add {
		if _, ok := old[string(in)]; ok || want[in] {
			continue
		}
		want[in] = true
		newToGroup[in] = true
		all = append(all, in)
	}
	slices.Sort(all)
	logs, err := c.identityLogs(ctx, append(slices.Clone(all), remove...))
	if err != nil {
		return nil, err
	}
	plan := &membershipPlan{membership: &content.GroupMembership{Members: map[string]uint64{}}, result: res,
		requestedNew: len(newToGroup)}
	newInst, gone, err := plan.planSequenceIDs(all, old, logs)
	if err != nil {
		return nil, err
	}
	removed, err := plan.planRemovals(remove, old, logs)
	if err != nil {
		return nil, err
	}
	gone = append(gone, removed...)
	if err := c.planLeaves(ctx, st, plan, newInst, newToGroup, gone, ext.Membership.GetFailedInstallations()); err != nil {
		return nil, err
	}
	for _, in := range add {
		if _, ok := plan.membership.Members[string(in)]; ok {
			if _, existed := old[string(in)]; !existed {
				res.Added = append(res.Added, in)
			}
		}
	}
	return plan, nil
}

// planSequenceIDs moves every kept or added inbox to its latest identity
// sequence id and returns the installations that come (with their inbox)
// and go between the old and new states. New inboxes without an identity
// fail.
func (p *membershipPlan) planSequenceIDs(all []identity.InboxID, old map[string]uint64,
	logs map[identity.InboxID][]*identity.VerifiedUpdate) (map[identity.InstallationID]identity.InboxID, []identity.InstallationID, error) {
	newInst := map[identity.InstallationID]identity.InboxID{}
	var gone []identity.InstallationID
	for _, in := range all {
		ups := logs[in]
		oldSeq, existed := old[string(in)]
		if len(ups) == 0 {
			if existed {
				return nil, nil, fmt.Errorf("%w: member inbox %s has no identity updates", ErrInternal, in)
			}
			p.result.FailedInboxes = append(p.result.FailedInboxes, in)
			continue
		}
		latest := ups[len(ups)-1].SequenceID()
		if existed && latest < oldSeq {
			return nil, nil, fmt.Errorf("%w: inbox %s sequence id went back from %d to %d", ErrInternal, in, oldSeq, latest)
		}
		p.membership.Members[string(in)] = latest
		if existed && latest == oldSeq {
			continue
		}
		p.seqChanged = true
		added, removed, err := installationDiff(ups, oldSeq, latest)
		if err != nil {
			return nil, nil, err
		}
		for _, id := range added {
			newInst[id] = in
		}
		gone = append(gone, removed...)
	}
	return newInst, gone, nil
}

// planRemovals records the requested inboxes that are members as removed
// and returns all their installations at the group's sequence ids.
func (p *membershipPlan) planRemovals(remove []identity.InboxID, old map[string]uint64,
	logs map[identity.InboxID][]*identity.VerifiedUpdate) ([]identity.InstallationID, error) {
	var gone []identity.InstallationID
	for _, in := range remove {
		oldSeq, ok := old[string(in)]
		if !ok || slices.Contains(p.removedInboxes, in) {
			continue
		}
		p.removedInboxes = append(p.removedInboxes, in)
		p.seqChanged = true
		s, err := stateAtOrTip(logs[in], oldSeq)
		if err != nil {
			return nil, err
		}
		if s != nil {
			gone = append(gone, s.Installations()...)
		}
	}
	return gone, nil
}

// stateAtOrTip is the identity state at seq, or at the tip for seq 0.
func stateAtOrTip(ups []*identity.VerifiedUpdate, seq uint64) (*identity.State, error) {
	if seq == 0 {
		return identity.ApplyUpdates(nil, ups)
	}
	return identity.StateAt(ups, seq)
}

// installationDiff returns the installations added and removed between
// the identity states at oldSeq (0: before the inbox existed) and newSeq.
func installationDiff(ups []*identity.VerifiedUpdate, oldSeq, newSeq uint64) (added, removed []identity.InstallationID, err error) {
	var before *identity.State
	if oldSeq > 0 {
		if before, err = identity.StateAt(ups, oldSeq); err != nil {
			return nil, nil, err
		}
	}
	after, err := identity.StateAt(ups, newSeq)
	if err != nil {
		return nil, nil, err
	}
	if before == nil {
		return after.Installations(), nil, nil
	}
	d := identity.StateDiff(before, after)
	return d.NewInstallations(), d.RemovedInstallations(), nil
}

// planLeaves turns the installation diff into Adds (fetching and verifying
// key packages, skipping our own installation and those already in the
// tree) and Removes, drops new inboxes none of whose installations could be
// added, and sets the failed_installations list.
func (c *Client) planLeaves(ctx context.Context, st *groupState, plan *membershipPlan, newInst map[identity.InstallationID]identity.InboxID,
	newToGroup map[identity.InboxID]bool, gone []identity.InstallationID, oldFailed [][]byte) error {
	inTree := map[identity.InstallationID]mls.LeafIndex{}
	for _, m := range st.mls.Members() {
		if id, err := identity.InstallationIDFromBytes(m.LeafNode.SignatureKey); err == nil {
			inTree[id] = m.Index
		}
	}
	var fetch []identity.InstallationID
	for id := range newInst {
		if _, ok := inTree[id]; !ok && id != c.inst.ID() {
			fetch = append(fetch, id)
		}
	}
	slices.SortFunc(fetch, func(a, b identity.InstallationID) int { return bytes.Compare(a[:], b[:]) })
	kps, err := c.fetchKeyPackages(ctx, fetch)
	if err != nil {
		return err
	}
	failed := map[identity.InstallationID]bool{}
	for _, f := range oldFailed {
		if id, err := identity.InstallationIDFromBytes(f); err == nil {
			failed[id] = true
		}
	}
	hasLeaf := map[identity.InboxID]bool{}
	for i, id := range fetch {
		kp, err := verifyKeyPackage(kps[i], id, c.now())
		if err == nil && kp.InboxID != newInst[id] {
			err = &KeyPackageError{Installation: id, Reason: fmt.Sprintf("credential names inbox %s", kp.InboxID)}
		}
		if err != nil {
			c.log.Warn("installation not added", "installation_id", id.String(), "err", err)
			failed[id] = true
			plan.result.FailedInstallations = append(plan.result.FailedInstallations, id)
			continue
		}
		delete(failed, id)
		plan.adds = append(plan.adds, kp)
		hasLeaf[kp.InboxID] = true
	}
	for id, in := range newInst {
		if _, ok := inTree[id]; ok || id == c.inst.ID() {
			hasLeaf[in] = true
		}
	}
	for _, id := range gone {
		if failed[id] {
			delete(failed, id)
			continue
		}
		if l, ok := inTree[id]; ok && id != c.inst.ID() {
			plan.removes = append(plan.removes, l)
		}
	}
	c.dropPhantoms(plan, newToGroup, hasLeaf)
	for id := range failed {
		plan.membership.FailedInstallations = append(plan.membership.FailedInstallations, id.Bytes())
	}
	slices.SortFunc(plan.membership.FailedInstallations, bytes.Compare)
	return nil
}

// dropPhantoms removes from the new membership the inboxes new to the
// group that got no leaf ("phantom" inboxes, xmtp-groups.md §10).
func (c *Client) dropPhantoms(plan *membershipPlan, newToGroup, hasLeaf map[identity.InboxID]bool) {
	for in := range newToGroup {
		if _, ok := plan.membership.Members[string(in)]; ok && !hasLeaf[in] {
			delete(plan.membership.Members, string(in))
			plan.result.FailedInboxes = append(plan.result.FailedInboxes, in)
		}
	}
}

// fetchKeyPackages returns the node's key package of each installation, in
// order (empty for unknown installations, spec §2.11).
func (c *Client) fetchKeyPackages(ctx context.Context, ids []identity.InstallationID) ([][]byte, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	req := &mlsapi.FetchKeyPackagesRequest{}
	for _, id := range ids {
		req.InstallationKeys = append(req.InstallationKeys, id.Bytes())
	}
	resp, err := c.mlsAPI.FetchKeyPackages(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("fetch key packages: %w", err)
	}
	if len(resp.GetKeyPackages()) != len(ids) {
		return nil, fmt.Errorf("fetch key packages: %d answers for %d installations", len(resp.GetKeyPackages()), len(ids))
	}
	out := make([][]byte, len(ids))
	for i, kp := range resp.GetKeyPackages() {
		out[i] = kp.GetKeyPackageTlsSerialized()
	}
	return out, nil
}

// commitPlan stages the plan's commit (stageCommit), publishes it and
// syncs until it comes back (the sync merges it and sends the welcomes).
// It returns the commit's node id.
func (c *Client) commitPlan(ctx context.Context, st *groupState, plan *membershipPlan) (uint64, error) {
	in, err := c.stageCommit(ctx, st, plan)
	if err != nil {
		return 0, err
	}
	cursor, err := c.publishCommit(ctx, st, in)
	if err != nil {
		return cursor, err
	}
	c.log.Info("membership changed", "group_id", GroupID(st.row.GroupID).String(), "epoch", st.mls.Epoch(),
		"added_installations", len(plan.adds), "removed_installations", len(plan.removes))
	return cursor, nil
}

// stageCommit builds the plan's commit and stores it, with the welcomes it
// owes, as an intent in the same transaction as the MLS state holding it
// pending: from here a crash loses neither the commit nor its welcomes.
func (c *Client) stageCommit(ctx context.Context, st *groupState, plan *membershipPlan) (*storage.ClientIntent, error) {
	memExt, err := protoExtension(ExtensionGroupMembership, plan.membership)
	if err != nil {
		return nil, err
	}
	opts := mls.CommitOptions{Removes: plan.removes, RatchetTreeInWelcome: true,
		GroupContextExtensions: withExtension(st.mls.Extensions(), memExt)}
	for _, kp := range plan.adds {
		opts.Adds = append(opts.Adds, kp.KeyPackage)
	}
	res, err := st.mls.Commit(opts)
	if err != nil {
		return nil, fmt.Errorf("build commit: %w", err)
	}
	payload, err := res.Commit.Bytes()
	if err != nil {
		st.mls.ClearPendingCommit()
		return nil, fmt.Errorf("%w: encode commit: %w", ErrInternal, err)
	}
	post, err := encodePostCommit(res.Welcome, plan.adds)
	if err != nil {
		st.mls.ClearPendingCommit()
		return nil, err
	}
	now := c.nowNs()
	in := &storage.ClientIntent{GroupID: st.row.GroupID, Kind: int16(IntentUpdateMembership), State: int16(IntentToPublish),
		Payload: payload, PublishedEpoch: st.mls.Epoch(), PostCommit: post, CreatedNs: now, UpdatedNs: now}
	crashPoint("commit.before_stage_save")
	if err := c.saveState(ctx, st, storage.GroupProgress{Intents: []*storage.ClientIntent{in}}); err != nil {
		st.mls.ClearPendingCommit()
		return nil, err
	}
	st.own[payloadKey(payload)] = ownPayload{intentID: in.ID, kind: IntentUpdateMembership}
	return in, nil
}

// publishCommit publishes a stored commit intent and syncs the group until
// the commit comes back; the sync merges it and runs its post-commit
// welcomes. A commit of another member that won the epoch gives
// ErrCommitConflict (the sync then gave our intent up). When the node is
// unreachable the intent stays queued, with its commit pending, and the
// next operation on the group publishes it again or gives it up.
func (c *Client) publishCommit(ctx context.Context, st *groupState, in *storage.ClientIntent) (uint64, error) {
	crashPoint("commit.before_publish")
	if err := c.sendGroupMessage(ctx, st, in.Payload, false); err != nil {
		if retryable(err) {
			return 0, err
		}
		st.mls.ClearPendingCommit()
		return 0, errors.Join(err, c.failIntent(ctx, st, in, err.Error()), c.saveState(ctx, st, storage.GroupProgress{}))
	}
	crashPoint("commit.after_publish")
	in.State, in.UpdatedNs = int16(IntentPublished), c.nowNs()
	if err := c.db.UpdateIntent(ctx, in, 0); err != nil {
		return 0, err
	}
	crashPoint("commit.after_mark_published")
	var cursor uint64
	watch := func(id uint64, data []byte, merged bool) {
		if merged && bytes.Equal(data, in.Payload) {
			cursor = id
		}
	}
	if err := c.syncGroupState(ctx, st, watch); err != nil {
		return cursor, err
	}
	if cursor == 0 {
		return 0, ErrCommitConflict
	}
	return cursor, nil
}

// sendWelcomes wraps the Welcome for every recipient and sends them in
// batches (V1 welcomes, Curve25519 to each key package's init key, with the
// adding commit's cursor; spec §7.1, §7.5).
func (c *Client) sendWelcomes(ctx context.Context, pc postCommit, cursor uint64) error {
	md := &mlsapi.WelcomeMetadata{MessageCursor: cursor}
	var batch []*mlsapi.WelcomeMessageInput
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := c.mlsAPI.SendWelcomeMessages(ctx, &mlsapi.SendWelcomeMessagesRequest{Messages: batch})
		batch = nil
		if err != nil {
			return fmt.Errorf("send welcomes: %w", err)
		}
		return nil
	}
	for _, r := range pc.Recipients {
		data, mdEnc, err := wrapWelcome(c.rand, r.InitKey, pc.Welcome, md)
		if err != nil {
			return fmt.Errorf("wrap welcome: %w", err)
		}
		batch = append(batch, &mlsapi.WelcomeMessageInput{Version: &mlsapi.WelcomeMessageInput_V1_{V1: &mlsapi.WelcomeMessageInput_V1{
			InstallationKey: r.Installation, Data: data, HpkePublicKey: r.InitKey,
			WrapperAlgorithm: content.WelcomeWrapperAlgorithm_WELCOME_WRAPPER_ALGORITHM_CURVE25519, WelcomeMetadata: mdEnc}}})
		if len(batch) == maxWelcomesPerCall {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
