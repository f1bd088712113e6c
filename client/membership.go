package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"mlsbridge/identity"
	"mlsbridge/mls"
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

// AddResult says what AddMembers did.
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
// (key packages fetched from the node and verified), plus installations of
// existing members that are new in their identity state, and a
// GroupContextExtensions proposal with the updated membership. The commit
// is merged only after the node accepted it and it came back in a group
// sync; then each added installation gets its HPKE-wrapped welcome with
// the commit's cursor. Inboxes already in the group are ignored. It fails
// with ErrNoKeyPackages when no requested installation could be added.
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
		return nil, fmt.Errorf("add members: %w", err)
	}
	return res, nil
}

// AddMembersByAddress resolves Ethereum addresses to inbox ids and adds
// them; addresses without an inbox are reported in the second result.
func (g *Group) AddMembersByAddress(ctx context.Context, addrs []identity.Address) (*AddResult, []identity.Address, error) {
	m, err := g.c.inboxIDsFor(ctx, addrs)
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
	if len(ids) == 0 {
		return nil, missing, fmt.Errorf("add members: %w: no address has an inbox", ErrNoKeyPackages)
	}
	res, err := g.AddMembers(ctx, ids)
	return res, missing, err
}

// changeMembership plans, commits, publishes and confirms one membership
// change, retrying when another commit wins the epoch.
func (c *Client) changeMembership(ctx context.Context, st *groupState, add, remove []identity.InboxID) (*AddResult, error) {
	if !st.mls.Active() {
		return nil, ErrInactiveGroup
	}
	for attempt := 1; ; attempt++ {
		if err := c.syncGroupState(ctx, st, nil); err != nil {
			return nil, err
		}
		if st.mls.HasPendingCommit() {
			// A commit of ours stored before a crash that did not come
			// back in the sync just done was never published.
			st.mls.ClearPendingCommit()
			c.log.Warn("unpublished commit discarded", "group_id", GroupID(st.row.GroupID).String())
		}
		plan, err := c.planMembership(ctx, st, add, remove)
		if err != nil {
			return nil, err
		}
		if plan.requestedNew > 0 && len(plan.result.Added) == 0 {
			return plan.result, ErrNoKeyPackages
		}
		if plan.empty() {
			return plan.result, nil
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
		return plan.result, nil
	}
}

// membershipPlan is one membership commit to make.
type membershipPlan struct {
	membership *content.GroupMembership
	adds       []*VerifiedKeyPackage
	removes    []mls.LeafIndex
	seqChanged bool
	// requestedNew counts the requested inboxes not yet in the group.
	requestedNew int
	result       *AddResult
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
	newInst := map[identity.InstallationID]identity.InboxID{}
	var gone []identity.InstallationID
	for _, in := range all {
		ups := logs[in]
		oldSeq, existed := old[string(in)]
		if len(ups) == 0 {
			if existed {
				return nil, fmt.Errorf("%w: member inbox %s has no identity updates", ErrInternal, in)
			}
			res.FailedInboxes = append(res.FailedInboxes, in)
			continue
		}
		latest := ups[len(ups)-1].SequenceID()
		if existed && latest < oldSeq {
			return nil, fmt.Errorf("%w: inbox %s sequence id went back from %d to %d", ErrInternal, in, oldSeq, latest)
		}
		plan.membership.Members[string(in)] = latest
		if existed && latest == oldSeq {
			continue
		}
		plan.seqChanged = true
		added, removed, err := installationDiff(ups, oldSeq, latest)
		if err != nil {
			return nil, err
		}
		for _, id := range added {
			newInst[id] = in
		}
		gone = append(gone, removed...)
	}
	for _, in := range remove {
		oldSeq, ok := old[string(in)]
		if !ok {
			continue
		}
		plan.seqChanged = true
		s, err := stateAtOrTip(logs[in], oldSeq)
		if err != nil {
			return nil, err
		}
		gone = append(gone, s.Installations()...)
	}
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

// commitPlan builds the commit, persists the group with it pending,
// publishes it, reads the group back to merge it, then sends the welcomes.
// It returns the commit's node id.
func (c *Client) commitPlan(ctx context.Context, st *groupState, plan *membershipPlan) (uint64, error) {
	memExt, err := protoExtension(ExtensionGroupMembership, plan.membership)
	if err != nil {
		return 0, err
	}
	opts := mls.CommitOptions{Removes: plan.removes, RatchetTreeInWelcome: true,
		GroupContextExtensions: withExtension(st.mls.Extensions(), memExt)}
	for _, kp := range plan.adds {
		opts.Adds = append(opts.Adds, kp.KeyPackage)
	}
	res, err := st.mls.Commit(opts)
	if err != nil {
		return 0, fmt.Errorf("build commit: %w", err)
	}
	cursor, err := c.publishCommit(ctx, st, res.Commit)
	if err != nil {
		return 0, err
	}
	c.log.Info("membership changed", "group_id", GroupID(st.row.GroupID).String(), "epoch", st.mls.Epoch(),
		"added_installations", len(plan.adds), "removed_installations", len(plan.removes))
	if res.Welcome != nil {
		if err := c.sendWelcomes(ctx, res.Welcome, plan.adds, cursor); err != nil {
			return cursor, err
		}
	}
	return cursor, nil
}

// publishCommit stores the group with the commit pending (so a restart
// still recognises the commit when it comes back), publishes it, and syncs
// the group until it comes back. A commit of another member that won the
// epoch gives ErrCommitConflict (ours is then discarded).
func (c *Client) publishCommit(ctx context.Context, st *groupState, commit *mls.MLSMessage) (uint64, error) {
	payload, err := commit.Bytes()
	if err != nil {
		return 0, fmt.Errorf("%w: encode commit: %w", ErrInternal, err)
	}
	if err := c.saveState(ctx, st, nil); err != nil {
		st.mls.ClearPendingCommit()
		return 0, err
	}
	if err := c.sendGroupMessage(ctx, st, payload, false); err != nil {
		st.mls.ClearPendingCommit()
		return 0, errors.Join(err, c.saveState(ctx, st, nil))
	}
	var cursor uint64
	watch := func(id uint64, data []byte, merged bool) {
		if merged && bytes.Equal(data, payload) {
			cursor = id
		}
	}
	if err := c.syncGroupState(ctx, st, watch); err != nil {
		return 0, err
	}
	if cursor == 0 {
		if st.mls.HasPendingCommit() {
			st.mls.ClearPendingCommit()
			if err := c.saveState(ctx, st, nil); err != nil {
				return 0, err
			}
		}
		return 0, ErrCommitConflict
	}
	return cursor, nil
}

// sendWelcomes wraps the Welcome for every added installation and sends
// them in batches (V1 welcomes, Curve25519 to each key package's init key;
// spec §7.1, §7.5).
func (c *Client) sendWelcomes(ctx context.Context, w *mls.Welcome, adds []*VerifiedKeyPackage, cursor uint64) error {
	msg := mls.MLSMessage{Version: mls.ProtocolVersionMLS10, WireFormat: mls.WireFormatWelcome, Welcome: w}
	welcome, err := msg.Bytes()
	if err != nil {
		return fmt.Errorf("%w: encode welcome: %w", ErrInternal, err)
	}
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
	for _, kp := range adds {
		data, mdEnc, err := wrapWelcome(c.rand, kp.KeyPackage.InitKey, welcome, md)
		if err != nil {
			return fmt.Errorf("wrap welcome: %w", err)
		}
		batch = append(batch, &mlsapi.WelcomeMessageInput{Version: &mlsapi.WelcomeMessageInput_V1_{V1: &mlsapi.WelcomeMessageInput_V1{
			InstallationKey: kp.Installation.Bytes(), Data: data, HpkePublicKey: kp.KeyPackage.InitKey,
			WrapperAlgorithm: content.WelcomeWrapperAlgorithm_WELCOME_WRAPPER_ALGORITHM_CURVE25519, WelcomeMetadata: mdEnc}}})
		if len(batch) == maxWelcomesPerCall {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
