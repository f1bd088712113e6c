package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"mlsbridge/identity"
	"mlsbridge/mls"
)

// ErrInvalidCommit is wrapped by [*CommitIdentityError].
var ErrInvalidCommit = errors.New("client: invalid commit")

// Rules of the identity checks of a received commit (xmtp-groups.md §4
// steps 6 and 10–13), named as libxmtp's CommitValidationError names them.
const (
	RuleActorNotMember        = "actor not member"
	RuleMultipleActors        = "multiple actors"
	RuleSequenceIDDecreased   = "sequence id decreased"
	RuleMissingIdentity       = "missing identity update"
	RuleUnexpectedAdded       = "unexpected installation added"
	RuleUnexpectedRemoved     = "unexpected installations removed"
	RuleSubjectDoesNotExist   = "subject does not exist"
	RuleInboxValidationFailed = "inbox validation failed"
	RuleMalformedCredential   = "malformed credential"
)

// CommitIdentityError reports a commit whose leaf changes do not match its
// members' identity state (xmtp-groups.md §4 steps 6, 10–13): the commit is
// invalid; sync drops it and moves past it, and the group stays in its
// epoch. Rule is one of the Rule* constants.
type CommitIdentityError struct {
	Rule string
	// Inbox is the inbox the rule failed for, when there is one.
	Inbox identity.InboxID
	// Detail says more, e.g. which installations.
	Detail string
}

func (e *CommitIdentityError) Error() string {
	msg := "client: commit identity check: " + e.Rule
	if e.Inbox != "" {
		msg += " (inbox " + string(e.Inbox) + ")"
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg + " [xmtp-groups.md §4]"
}

func (e *CommitIdentityError) Unwrap() error { return ErrInvalidCommit }

func identityErr(rule string, inbox identity.InboxID, format string, args ...any) error {
	return &CommitIdentityError{Rule: rule, Inbox: inbox, Detail: fmt.Sprintf(format, args...)}
}

// IdentityFetchError reports that the identity updates a commit's checks
// need could not be fetched (the node is unreachable, the call timed out).
// It is retryable: the commit is neither merged nor skipped, the sync
// fails and the next sync processes the commit again (xmtp-groups.md
// §4.1).
type IdentityFetchError struct {
	Err error
}

func (e *IdentityFetchError) Error() string {
	return "client: fetch identity updates for a commit: " + e.Err.Error()
}

func (e *IdentityFetchError) Unwrap() error { return e.Err }

// participant is a leaf that a commit's checks look at: its inbox (from
// its credential) and installation (its signature key).
type participant struct {
	inbox identity.InboxID
	key   []byte
}

func participantOf(ln *mls.LeafNode) (participant, error) {
	inbox, err := inboxOfLeaf(ln)
	if err != nil {
		return participant{}, identityErr(RuleMalformedCredential, "", "%v", err)
	}
	return participant{inbox: inbox, key: ln.SignatureKey}, nil
}

// keySet is a set of installation ids (leaf signature keys), as strings.
type keySet map[string]struct{}

func (s keySet) add(k []byte)      { s[string(k)] = struct{}{} }
func (s keySet) has(k string) bool { _, ok := s[k]; return ok }
func (s keySet) addAll(ids []identity.InstallationID) {
	for _, id := range ids {
		s[string(id[:])] = struct{}{}
	}
}

// checkCommitIdentity applies libxmtp's identity checks to a staged commit
// before it is merged (ValidatedCommit, xmtp-groups.md §4 steps 6 and
// 10–13), old being the group's current extensions:
//
//   - the actor is the committer's leaf (its UpdatePath leaf when it has
//     one); every proposal comes from one member leaf, whose signature key
//     the UpdatePath leaf keeps;
//   - the new GroupMembership (the commit's, or the current one) never
//     lowers a sequence id;
//   - the installations the commit adds and removes match the diff of the
//     changed inboxes' association states between their old and new
//     sequence ids (all installations of a removed inbox go), allowing
//     adds of installations already in the group, removals excused by
//     failed_installations, and a super admin's re-adds;
//   - the actor's and every Update proposal's installation belongs to its
//     inbox's association state at that inbox's new sequence id.
//
// An added leaf's credential is not checked against the inbox whose
// identity change brought its installation: libxmtp 1.9.1 checks only the
// installation id of an Add (get_proposal_changes: "we don't need to
// validate the credential here"), so it applies a commit adding
// installation I of inbox B in a leaf whose MlsCredential names inbox A,
// and so must we, or the group forks. What follows is the same on both
// sides: that leaf's messages are attributed to A, the inbox its
// credential names (libxmtp's extract_message_sender parses the sender
// leaf's credential; see applicationMessage), and a commit by it is
// refused, because I is not in A's association state (step 13, checked on
// the actor's credential inbox by both). We log such a leaf as a warning
// (see warnCredentialMismatches).
//
// A sequence id 0 (the creation placeholder) resolves to no state, as in
// libxmtp: a change that needs one is invalid, except that a credential
// whose inbox stays at 0 is checked at the tip of the inbox's log (later
// libxmtp does this; 1.9.1 refuses, but a 1.9.1 member never sees it: it
// bumps its own placeholder at once, as our first membership commit
// does, so only a group's lone creator can commit at 0). It returns the
// actor's inbox; an invalid commit gives a *CommitIdentityError, identity
// updates that cannot be fetched an *IdentityFetchError.
func (c *Client) checkCommitIdentity(ctx context.Context, st *groupState, sc *mls.StagedCommit, old *GroupExtensions) (identity.InboxID, error) {
	tree := map[mls.LeafIndex]*mls.LeafNode{}
	inTree := keySet{}
	for _, m := range st.mls.Members() {
		tree[m.Index] = &m.LeafNode
		inTree.add(m.LeafNode.SignatureKey)
	}
	actor, err := commitActor(sc, tree)
	if err != nil {
		return "", err
	}
	ch, err := proposalChanges(sc, tree)
	if err != nil {
		return "", err
	}
	oldM := old.Membership
	newM := oldM
	if sc.ExtensionsChanged {
		raw, ok := findExt(sc.GroupContextExtensions, ExtensionGroupMembership)
		if !ok {
			return "", &GroupContextError{Extension: ExtensionGroupMembership, Reason: "missing"}
		}
		if newM, err = decodeMembership(raw); err != nil {
			return "", &GroupContextError{Extension: ExtensionGroupMembership, Reason: fmt.Sprintf("malformed protobuf: %v", err)}
		}
	}
	d, err := diffMembership(oldM.GetMembers(), newM.GetMembers())
	if err != nil {
		return "", err
	}
	logs, err := c.commitIdentityLogs(ctx, d, oldM.GetMembers(), newM.GetMembers(), append(ch.updates, actor))
	if err != nil {
		return "", err
	}
	exp, err := expectedInstallationDiff(d, oldM.GetMembers(), newM.GetMembers(), logs)
	if err != nil {
		return "", err
	}
	failed := keySet{}
	for _, f := range newM.GetFailedInstallations() {
		failed.add(f)
	}
	if slices.Contains(old.Mutable.GetSuperAdminList().GetInboxIds(), string(actor.inbox)) {
		dropReadds(ch, failed)
	}
	if err := matchInstallationDiff(ch, exp, inTree, failed); err != nil {
		return "", err
	}
	c.warnCredentialMismatches(st, ch, exp)
	for _, p := range append(ch.updates, actor) {
		if err := checkCredential(p, oldM.GetMembers(), newM.GetMembers(), logs); err != nil {
			return "", err
		}
	}
	return actor.inbox, nil
}

// commitActor returns the commit's actor (libxmtp's extract_actor): the
// leaf the committer's UpdatePath installed, or else the one member leaf
// every proposal came from. With both, the UpdatePath leaf must keep the
// proposer's signature key.
func commitActor(sc *mls.StagedCommit, tree map[mls.LeafIndex]*mls.LeafNode) (participant, error) {
	var proposer *mls.LeafIndex
	for _, p := range sc.Proposals {
		if p.Sender.Type != mls.SenderTypeMember {
			return participant{}, identityErr(RuleActorNotMember, "", "proposal from sender type %d", p.Sender.Type)
		}
		if proposer != nil && *proposer != p.Sender.LeafIndex {
			return participant{}, identityErr(RuleMultipleActors, "", "proposals from leaves %d and %d", *proposer, p.Sender.LeafIndex)
		}
		proposer = &p.Sender.LeafIndex
	}
	if sc.Sender.Type != mls.SenderTypeMember {
		return participant{}, identityErr(RuleActorNotMember, "", "committer sender type %d", sc.Sender.Type)
	}
	if sc.PathPresent {
		// A commit that removes us computes no new tree: its UpdatePath
		// leaf is not available, and the committer's current leaf stands
		// in for it.
		leaf := sc.Leaf(sc.Sender.LeafIndex)
		if leaf == nil {
			leaf = tree[sc.Sender.LeafIndex]
		}
		if leaf == nil {
			return participant{}, identityErr(RuleActorNotMember, "", "committer leaf %d not in the tree", sc.Sender.LeafIndex)
		}
		if proposer != nil {
			pl := tree[*proposer]
			if pl == nil {
				return participant{}, identityErr(RuleActorNotMember, "", "proposer leaf %d not in the tree", *proposer)
			}
			if string(pl.SignatureKey) != string(leaf.SignatureKey) {
				return participant{}, identityErr(RuleMultipleActors, "", "update path leaf changes the proposer's signature key")
			}
		}
		return participantOf(leaf)
	}
	if proposer == nil {
		return participant{}, identityErr(RuleActorNotMember, "", "commit without proposals or update path")
	}
	leaf := tree[*proposer]
	if leaf == nil {
		return participant{}, identityErr(RuleActorNotMember, "", "proposer leaf %d not in the tree", *proposer)
	}
	return participantOf(leaf)
}

// leafChanges is what a commit's proposals do to the leaves.
type leafChanges struct {
	added   keySet
	removed keySet
	// addedInbox maps an added installation to the inbox its credential
	// names (absent when the credential does not decode: libxmtp does not
	// decode it either).
	addedInbox map[string]identity.InboxID
	// updates are the new leaves of Update proposals.
	updates []participant
}

// proposalChanges lists the installations the commit's Add and Remove
// proposals add and remove, and the leaves of its Update proposals
// (libxmtp's get_proposal_changes).
func proposalChanges(sc *mls.StagedCommit, tree map[mls.LeafIndex]*mls.LeafNode) (*leafChanges, error) {
	ch := &leafChanges{added: keySet{}, removed: keySet{}, addedInbox: map[string]identity.InboxID{}}
	for _, cp := range sc.Proposals {
		p := cp.Proposal
		switch {
		case p.Type == mls.ProposalTypeUpdate && p.Update != nil:
			u, err := participantOf(&p.Update.LeafNode)
			if err != nil {
				return nil, err
			}
			ch.updates = append(ch.updates, u)
		case p.Type == mls.ProposalTypeAdd && p.Add != nil:
			ln := &p.Add.KeyPackage.LeafNode
			ch.added.add(ln.SignatureKey)
			if in, err := inboxOfLeaf(ln); err == nil {
				ch.addedInbox[string(ln.SignatureKey)] = in
			}
		case p.Type == mls.ProposalTypeRemove && p.Remove != nil:
			ln := tree[mls.LeafIndex(p.Remove.Removed)]
			if ln == nil {
				return nil, identityErr(RuleSubjectDoesNotExist, "", "removed leaf %d is blank", p.Remove.Removed)
			}
			ch.removed.add(ln.SignatureKey)
		}
	}
	return ch, nil
}

// membershipDelta is the difference of two GroupMembership maps: inboxes
// only in the new one, only in the old one, and in both with a changed
// sequence id.
type membershipDelta struct {
	added, removed, updated []identity.InboxID
}

// diffMembership compares the old and new GroupMembership and refuses a
// lowered sequence id (xmtp-groups.md §4 step 10).
func diffMembership(oldM, newM map[string]uint64) (*membershipDelta, error) {
	d := &membershipDelta{}
	for in, seq := range oldM {
		next, ok := newM[in]
		switch {
		case !ok:
			d.removed = append(d.removed, identity.InboxID(in))
		case next < seq:
			return nil, identityErr(RuleSequenceIDDecreased, identity.InboxID(in), "from %d to %d", seq, next)
		case next != seq:
			d.updated = append(d.updated, identity.InboxID(in))
		}
	}
	for in := range newM {
		if _, ok := oldM[in]; !ok {
			d.added = append(d.added, identity.InboxID(in))
		}
	}
	slices.Sort(d.added)
	slices.Sort(d.removed)
	slices.Sort(d.updated)
	return d, nil
}

// commitIdentityLogs fetches the identity logs the checks need: changed
// and removed inboxes, and the inboxes of the leaves whose credentials are
// checked, each up to the sequence id the checks read (updates already
// cached are not fetched again).
func (c *Client) commitIdentityLogs(ctx context.Context, d *membershipDelta, oldM, newM map[string]uint64,
	checked []participant) (map[identity.InboxID][]*identity.VerifiedUpdate, error) {
	need := map[identity.InboxID]uint64{}
	var inboxes []identity.InboxID
	want := func(in identity.InboxID, seq uint64) {
		if _, ok := need[in]; !ok {
			inboxes = append(inboxes, in)
		}
		need[in] = max(need[in], seq)
	}
	for _, in := range append(slices.Clone(d.added), d.updated...) {
		want(in, newM[string(in)])
	}
	for _, in := range d.removed {
		want(in, oldM[string(in)])
	}
	for _, p := range checked {
		if seq, ok := newM[string(p.inbox)]; ok {
			want(p.inbox, seq)
		}
	}
	if len(inboxes) == 0 {
		return nil, nil
	}
	logs, err := c.identityLogsAtLeast(ctx, inboxes, need)
	if err != nil {
		if fetchFailed(err) {
			return nil, &IdentityFetchError{Err: err}
		}
		return nil, identityErr(RuleMissingIdentity, "", "%v", err)
	}
	return logs, nil
}

// fetchFailed reports whether err is the network's or the caller's (a
// gRPC status other than a refusal of the request, or the context ending)
// rather than bad identity updates.
func fetchFailed(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return false
	}
	switch se.GRPCStatus().Code() {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.PermissionDenied, codes.Unimplemented,
		codes.OutOfRange, codes.NotFound, codes.AlreadyExists, codes.Unauthenticated:
		return false
	}
	return true
}

// expectedDiff is the change of installations a membership change
// implies.
type expectedDiff struct {
	added, removed keySet
	// addedBy maps an expected new installation to the inboxes whose
	// identity change brought it.
	addedBy map[string][]identity.InboxID
}

// expectedInstallationDiff computes the installations the membership
// change should add and remove (libxmtp's get_installation_diff): for an
// added or updated inbox, the association-state diff from its old
// sequence id (the inbox's creation when absent or 0) to its new one; for
// a removed inbox, every installation at its old sequence id.
func expectedInstallationDiff(d *membershipDelta, oldM, newM map[string]uint64,
	logs map[identity.InboxID][]*identity.VerifiedUpdate) (*expectedDiff, error) {
	exp := &expectedDiff{added: keySet{}, removed: keySet{}, addedBy: map[string][]identity.InboxID{}}
	for _, in := range append(slices.Clone(d.added), d.updated...) {
		added, removed, err := associationDiff(logs[in], oldM[string(in)], newM[string(in)])
		if err != nil {
			return nil, identityErr(RuleMissingIdentity, in, "%v", err)
		}
		exp.added.addAll(added)
		exp.removed.addAll(removed)
		for _, id := range added {
			exp.addedBy[string(id[:])] = append(exp.addedBy[string(id[:])], in)
		}
	}
	for _, in := range d.removed {
		s, err := identity.StateAt(logs[in], oldM[string(in)])
		if err != nil {
			return nil, identityErr(RuleMissingIdentity, in, "%v", err)
		}
		exp.removed.addAll(s.Installations())
	}
	return exp, nil
}

// associationDiff is libxmtp's get_association_state_diff: the state at
// newSeq when oldSeq is 0; otherwise the state at oldSeq against the
// updates after it up to newSeq, which must end exactly at newSeq when
// there are any (none at all is an empty diff).
func associationDiff(ups []*identity.VerifiedUpdate, oldSeq, newSeq uint64) (added, removed []identity.InstallationID, err error) {
	if oldSeq == 0 {
		s, err := identity.StateAt(ups, newSeq)
		if err != nil {
			return nil, nil, err
		}
		return s.Installations(), nil, nil
	}
	before, err := identity.StateAt(ups, oldSeq)
	if err != nil {
		return nil, nil, err
	}
	var later []*identity.VerifiedUpdate
	for _, u := range ups {
		if u.SequenceID() > oldSeq && u.SequenceID() <= newSeq {
			later = append(later, u)
		}
	}
	if len(later) > 0 && later[len(later)-1].SequenceID() != newSeq {
		return nil, nil, fmt.Errorf("no identity update with sequence id %d", newSeq)
	}
	after, err := identity.ApplyUpdates(before, later)
	if err != nil {
		return nil, nil, err
	}
	diff := identity.StateDiff(before, after)
	return diff.NewInstallations(), diff.RemovedInstallations(), nil
}

// dropReadds applies a super admin's re-adds (xmtp-groups.md §4 step 11):
// an installation both added and removed is re-added, and one removed that
// is in failed_installations is an unsuccessful re-add; both leave the
// lists the diff is checked on.
func dropReadds(ch *leafChanges, failed keySet) {
	for k := range ch.added {
		if ch.removed.has(k) {
			delete(ch.added, k)
			delete(ch.removed, k)
		}
	}
	for k := range failed {
		if ch.removed.has(k) {
			delete(failed, k)
			delete(ch.removed, k)
		}
	}
}

// matchInstallationDiff checks the commit's leaf changes against the
// expected diff (xmtp-groups.md §4 step 12): every added installation is
// expected or already in the group (whatever inbox its credential names,
// as in libxmtp); the removed installations are exactly the expected ones
// not in failed_installations.
func matchInstallationDiff(ch *leafChanges, exp *expectedDiff, inTree, failed keySet) error {
	var unexpected []string
	for k := range ch.added {
		if !exp.added.has(k) && !inTree.has(k) {
			unexpected = append(unexpected, fmt.Sprintf("%x", k))
		}
	}
	if len(unexpected) > 0 {
		slices.Sort(unexpected)
		return identityErr(RuleUnexpectedAdded, "", "%v", unexpected)
	}
	want := keySet{}
	for k := range exp.removed {
		if !failed.has(k) {
			want.add([]byte(k))
		}
	}
	var extra, missing []string
	for k := range ch.removed {
		if !want.has(k) {
			extra = append(extra, fmt.Sprintf("%x", k))
		}
	}
	for k := range want {
		if !ch.removed.has(k) {
			missing = append(missing, fmt.Sprintf("%x", k))
		}
	}
	if len(extra) > 0 || len(missing) > 0 {
		slices.Sort(extra)
		slices.Sort(missing)
		return identityErr(RuleUnexpectedRemoved, "", "removed but not expected %v, expected but kept %v", extra, missing)
	}
	return nil
}

// credentialMismatch is an added installation whose credential names
// another inbox than the ones whose identity change brought it.
type credentialMismatch struct {
	installation string
	credential   identity.InboxID
	expected     []identity.InboxID
}

// credentialMismatches lists the commit's expected additions whose leaf
// credential names an inbox other than the one(s) that brought them, in
// installation order.
func credentialMismatches(ch *leafChanges, exp *expectedDiff) []credentialMismatch {
	var out []credentialMismatch
	for k := range ch.added {
		by, ok := exp.addedBy[k]
		if in, decoded := ch.addedInbox[k]; ok && decoded && !slices.Contains(by, in) {
			out = append(out, credentialMismatch{installation: k, credential: in, expected: by})
		}
	}
	slices.SortFunc(out, func(a, b credentialMismatch) int { return strings.Compare(a.installation, b.installation) })
	return out
}

// warnCredentialMismatches logs the leaves a valid commit adds whose
// credential names another inbox (see checkCommitIdentity): the commit is
// applied, as libxmtp applies it, but such a leaf can pose as that inbox
// in its messages, which a person should know about.
func (c *Client) warnCredentialMismatches(st *groupState, ch *leafChanges, exp *expectedDiff) {
	for _, m := range credentialMismatches(ch, exp) {
		c.log.Warn("commit adds a leaf whose credential names another inbox", "group_id", GroupID(st.row.GroupID).String(),
			"added_installation_id", fmt.Sprintf("%x", m.installation), "credential_inbox_id", string(m.credential),
			"expected_inbox_ids", fmt.Sprint(m.expected))
	}
}

// commitContextExtensions returns the extensions a commit's checks decode
// as the new group context: the commit's new ones, with the current
// immutable metadata (0xF000) standing in for theirs. libxmtp 1.9.1's
// ValidatedCommit decodes the immutable metadata of the current context
// only (xmtp-groups.md §4 step 1) and never reads, decodes or compares the
// new one (openmls's ChangedImmutableMetadata error exists but is never
// raised), so libxmtp members apply a commit that changes 0xF000, or drops
// it; ours must apply it too, or the group forks. The new 0xF000, when
// present, must still be exactly one TLS byte vector, as at join: openmls
// parses the extension as one (and re-encodes it canonically in the group
// context), so libxmtp cannot process a commit where it is not.
//
// Once merged the changed extension is the group's: like libxmtp, later
// commit checks read it (the DM members of the add exception, §4 step
// 14), and so do [Group.Info]'s ConversationType and CreatorInboxID
// (libxmtp's group_metadata) and the sender-side DM rules (libxmtp's
// metadata().conversation_type). What libxmtp stored at join is kept:
// the conversation type the listings filter on, and the DM id behind
// [GroupInfo.DMMembers], [GroupInfo.DMPeer] and DM stitching (libxmtp's
// dm_id and dm_peer_inbox_id).
func commitContextExtensions(current, next []mls.Extension) ([]mls.Extension, error) {
	if raw, ok := findExt(next, ExtensionImmutableMetadata); ok {
		r := mls.NewReader(raw)
		r.Opaque()
		if err := r.Finish(); err != nil {
			return nil, &GroupContextError{Extension: ExtensionImmutableMetadata, Reason: "not a byte vector"}
		}
	}
	raw, ok := findExt(current, ExtensionImmutableMetadata)
	if !ok {
		return nil, &GroupContextError{Extension: ExtensionImmutableMetadata, Reason: "missing"}
	}
	return withExtension(next, mls.Extension{Type: ExtensionImmutableMetadata, Data: raw}), nil
}

// checkCredential checks that p's installation belongs to its inbox's
// association state at the inbox's sequence id in the new membership
// (xmtp-groups.md §4 step 13), or at the tip of its log when the old and
// new sequence ids are both the creation placeholder 0.
func checkCredential(p participant, oldM, newM map[string]uint64, logs map[identity.InboxID][]*identity.VerifiedUpdate) error {
	seq, ok := newM[string(p.inbox)]
	if !ok {
		return identityErr(RuleSubjectDoesNotExist, p.inbox, "not in the group membership")
	}
	var s *identity.State
	var err error
	if prev, had := oldM[string(p.inbox)]; seq == 0 && had && prev == 0 {
		s, err = identity.ApplyUpdates(nil, logs[p.inbox])
		if err == nil && s == nil {
			err = errors.New("inbox has no identity updates")
		}
	} else {
		s, err = identity.StateAt(logs[p.inbox], seq)
	}
	if err != nil {
		return identityErr(RuleMissingIdentity, p.inbox, "%v", err)
	}
	id, err := identity.InstallationIDFromBytes(p.key)
	if err != nil || !s.HasInstallation(id) {
		return identityErr(RuleInboxValidationFailed, p.inbox, "installation %x not in its association state at sequence id %d", p.key, seq)
	}
	return nil
}
