package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"mlsbridge/identity"
	"mlsbridge/internal/interoptest"
	"mlsbridge/mls"
	"mlsbridge/policy"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
	"mlsbridge/wire/mlsapi"
)

// The hostile tests: a malicious member, running our client's code but
// building its own MLS commits from its group state, sends commits that
// break one rule each. Every honest member (Go, and in TestHostileLibxmtp
// libxmtp) must refuse the commit, skip it, stay in its epoch and go on
// exchanging messages with the others: the group does not fork. The rule
// is libxmtp 1.9.1's: what it rejects we reject, what it applies we apply.
// A few rule-breaking commits are applied by libxmtp (hostileCase.applied);
// every member applies those, with the same effects on both sides
// (TestHostileGoMembersApplied, TestHostileLibxmtpParity).

// logStore keeps the log records of a client, so a test can see why a
// message was dropped.
type logStore struct {
	mu   sync.Mutex
	recs []string
}

func (s *logStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}

// since returns the records from index n on.
func (s *logStore) since(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.recs[n:])
}

// captureHandler is a slog.Handler that records every record in a
// logStore as "message k=v …" and passes it on to next.
type captureHandler struct {
	store *logStore
	attrs []slog.Attr
	next  slog.Handler
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *captureHandler) Handle(ctx context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.store.mu.Lock()
	h.store.recs = append(h.store.recs, b.String())
	h.store.mu.Unlock()
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *captureHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &captureHandler{store: h.store, attrs: append(slices.Clone(h.attrs), as...), next: h.next.WithAttrs(as)}
}

func (h *captureHandler) WithGroup(name string) slog.Handler {
	return &captureHandler{store: h.store, attrs: h.attrs, next: h.next.WithGroup(name)}
}

// newWatchedClient creates and registers a Go client whose logs are kept.
func newWatchedClient(t *testing.T, addr, name string) (*Client, *identity.EthereumSigner, *logStore) {
	t.Helper()
	w, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	c, store := openWatchedClient(t, addr, name, w)
	return c, w, store
}

// commitBuilder returns the commit a malicious member makes from its group
// state.
type commitBuilder func(ctx context.Context, st *groupState) (mls.CommitOptions, error)

// sendHostile has c build a commit with build and publish it as it is,
// without an intent: c drops its pending copy, so when the commit comes
// back c sees a foreign commit from its own leaf and skips it too.
func sendHostile(t *testing.T, c *Client, g *Group, build commitBuilder) {
	t.Helper()
	publishHostile(t, c, g, build, false)
}

// sendApplied has c build a commit that the group applies and publish it
// without an intent: c keeps it pending, and merges it when it comes back
// in a sync (after checking it as it checks any commit). It returns the
// commit, with the Welcome for the leaves it adds.
func sendApplied(t *testing.T, c *Client, g *Group, build commitBuilder) *mls.CommitResult {
	t.Helper()
	return publishHostile(t, c, g, build, true)
}

func publishHostile(t *testing.T, c *Client, g *Group, build commitBuilder, keep bool) *mls.CommitResult {
	t.Helper()
	var res *mls.CommitResult
	err := c.withGroup(ctxT(t), g.id, func(ctx context.Context, st *groupState) error {
		opts, err := build(ctx, st)
		if err != nil {
			return err
		}
		if res, err = st.mls.Commit(opts); err != nil {
			return fmt.Errorf("build commit: %w", err)
		}
		payload, err := res.Commit.Bytes()
		if !keep {
			st.mls.ClearPendingCommit()
		}
		if err != nil {
			return err
		}
		// The handshake ratchet moved on: keep it, so c's next commit does
		// not reuse the generation.
		if err := c.saveState(ctx, st, storage.GroupProgress{}); err != nil {
			return err
		}
		return c.sendGroupMessage(ctx, st, payload, false)
	})
	if err != nil {
		t.Fatalf("send hostile commit: %v", err)
	}
	return res
}

// withExtensionBytes returns a GCE commit that replaces extension typ's
// data with data.
func withExtensionBytes(typ mls.ExtensionType, data func(st *groupState, old []byte) ([]byte, error)) commitBuilder {
	return func(_ context.Context, st *groupState) (mls.CommitOptions, error) {
		old, _ := findExt(st.mls.Extensions(), typ)
		b, err := data(st, old)
		if err != nil {
			return mls.CommitOptions{}, err
		}
		return mls.CommitOptions{GroupContextExtensions: withExtension(st.mls.Extensions(), mls.Extension{Type: typ, Data: b})}, nil
	}
}

// withMembership returns a commit with the given leaf changes and, when
// edit is not nil, a GCE whose GroupMembership edit changed.
func withMembership(edit func(m *content.GroupMembership), changes func(ctx context.Context, st *groupState, o *mls.CommitOptions) error) commitBuilder {
	return func(ctx context.Context, st *groupState) (mls.CommitOptions, error) {
		var o mls.CommitOptions
		if edit != nil {
			ext, err := parseGroupExtensions(st.mls.Extensions())
			if err != nil {
				return o, err
			}
			m := proto.Clone(ext.Membership).(*content.GroupMembership)
			edit(m)
			e, err := protoExtension(ExtensionGroupMembership, m)
			if err != nil {
				return o, err
			}
			o.GroupContextExtensions = withExtension(st.mls.Extensions(), e)
		}
		if changes != nil {
			if err := changes(ctx, st, &o); err != nil {
				return o, err
			}
		}
		return o, nil
	}
}

// leafIndexOf returns the leaf index of installation id in st's tree.
func leafIndexOf(st *groupState, id identity.InstallationID) (mls.LeafIndex, error) {
	for _, m := range st.mls.Members() {
		if bytes.Equal(m.LeafNode.SignatureKey, id[:]) {
			return m.Index, nil
		}
	}
	return 0, fmt.Errorf("installation %s not in the tree", id)
}

// fetchKP returns the verified key package the node has for installation
// id.
func fetchKP(ctx context.Context, c *Client, id identity.InstallationID) (mls.KeyPackage, error) {
	kps, err := c.fetchKeyPackages(ctx, []identity.InstallationID{id})
	if err != nil {
		return mls.KeyPackage{}, err
	}
	kp, err := verifyKeyPackage(kps[0], id, c.now())
	if err != nil {
		return mls.KeyPackage{}, err
	}
	return kp.KeyPackage, nil
}

// latestSeq returns the sequence id of inbox's last identity update.
func latestSeq(ctx context.Context, c *Client, inbox identity.InboxID) (uint64, error) {
	logs, err := c.identityLogs(ctx, []identity.InboxID{inbox})
	if err != nil {
		return 0, err
	}
	l := logs[inbox]
	if len(l) == 0 {
		return 0, fmt.Errorf("inbox %s has no identity updates", inbox)
	}
	return l[len(l)-1].SequenceID(), nil
}

// hostileCase is one rule-breaking commit and what honest Go members must
// say about it (a substring of the drop reason), or, when applied, that
// libxmtp 1.9.1 applies it, so every member does.
type hostileCase struct {
	name    string
	build   commitBuilder
	rule    string
	applied bool
	// forged, when set, receives the key package bundle of the leaf the
	// commit adds with a credential naming another inbox.
	forged *forgery
}

// forgery is a leaf added with a credential naming another inbox than the
// one whose installation signs it: its bundle, for joining the group as
// that leaf from the commit's Welcome.
type forgery struct {
	bundle *KeyPackageBundle
}

// hostileCases are the commits the malicious member m sends into a group
// whose members include creator (its super admin) and victim (a member m
// may not remove); outsider and outsider2 are registered inboxes not in
// the group.
func hostileCases(t *testing.T, m *Client, creator, victim, outsider, outsider2 *Client) []hostileCase {
	ctx := ctxT(t)
	addInbox := func(in identity.InboxID) func(*content.GroupMembership) {
		return func(gm *content.GroupMembership) {
			seq, err := latestSeq(ctx, m, in)
			if err != nil {
				t.Error(err)
			}
			gm.Members[string(in)] = seq
		}
	}
	addKP := func(of *Client) func(ctx context.Context, st *groupState, o *mls.CommitOptions) error {
		return func(ctx context.Context, st *groupState, o *mls.CommitOptions) error {
			kp, err := fetchKP(ctx, m, of.InstallationID())
			o.Adds = append(o.Adds, kp)
			return err
		}
	}
	// A key package signed by outsider2's installation whose credential
	// names the creator's inbox.
	fg := &forgery{}
	forged := func(ctx context.Context, st *groupState, o *mls.CommitOptions) error {
		kp, err := newKeyPackage(outsider2.rand, outsider2.now(), outsider2.signaturePriv(), creator.InboxID())
		if err != nil {
			return err
		}
		fg.bundle = kp
		o.Adds = append(o.Adds, kp.KeyPackage)
		return nil
	}
	immutable := func(md *content.GroupMetadataV1) commitBuilder {
		return withExtensionBytes(ExtensionImmutableMetadata, func(_ *groupState, _ []byte) ([]byte, error) {
			e, err := immutableMetadataExtension(md)
			return e.Data, err
		})
	}
	removeLeaf := func(of *Client) func(ctx context.Context, st *groupState, o *mls.CommitOptions) error {
		return func(_ context.Context, st *groupState, o *mls.CommitOptions) error {
			l, err := leafIndexOf(st, of.InstallationID())
			o.Removes = append(o.Removes, l)
			return err
		}
	}
	return []hostileCase{
		{name: "AddInstallationWithoutMembershipChange", rule: RuleUnexpectedAdded,
			build: withMembership(nil, addKP(outsider))},
		{name: "AddInstallationNotInAddedInboxState", rule: RuleUnexpectedAdded,
			build: withMembership(addInbox(outsider2.InboxID()), func(ctx context.Context, st *groupState, o *mls.CommitOptions) error {
				if err := addKP(outsider2)(ctx, st, o); err != nil {
					return err
				}
				return addKP(outsider)(ctx, st, o)
			})},
		// libxmtp 1.9.1 checks an added leaf's installation id, not its
		// credential (see checkCommitIdentity).
		{name: "AddedCredentialNamesAnotherInbox", applied: true, forged: fg,
			build: withMembership(addInbox(outsider2.InboxID()), forged)},
		{name: "RemoveLeafWithoutMembershipChange", rule: RuleUnexpectedRemoved,
			build: withMembership(nil, removeLeaf(victim))},
		{name: "RemoveInboxKeepingItsLeaves", rule: RuleUnexpectedRemoved,
			build: withMembership(func(gm *content.GroupMembership) { delete(gm.Members, string(victim.InboxID())) }, nil)},
		{name: "DecreaseSequenceID", rule: RuleSequenceIDDecreased,
			build: withMembership(func(gm *content.GroupMembership) { gm.Members[string(creator.InboxID())]-- }, nil)},
		{name: "BumpOwnSequenceIDPastItsLog", rule: RuleMissingIdentity,
			build: withMembership(func(gm *content.GroupMembership) { gm.Members[string(m.InboxID())] += 5 }, nil)},
		{name: "AddInboxAtSequenceIDZero", rule: RuleMissingIdentity,
			build: withMembership(func(gm *content.GroupMembership) { gm.Members[string(outsider.InboxID())] = 0 }, addKP(outsider))},
		// libxmtp 1.9.1 never reads a commit's new 0xF000 (see
		// commitContextExtensions).
		{name: "ChangeImmutableMetadata", applied: true,
			build: immutable(&content.GroupMetadataV1{
				ConversationType: content.ConversationType_CONVERSATION_TYPE_GROUP, CreatorInboxId: string(m.InboxID())})},
		{name: "ImmutableMetadataTurnsGroupIntoDM", applied: true,
			build: immutable(&content.GroupMetadataV1{
				ConversationType: content.ConversationType_CONVERSATION_TYPE_DM, CreatorInboxId: string(m.InboxID()),
				DmMembers: &content.DmMembers{DmMemberOne: &content.Inbox{InboxId: string(m.InboxID())},
					DmMemberTwo: &content.Inbox{InboxId: string(creator.InboxID())}}})},
		{name: "MutableMetadataWrongWireType", rule: "0xff00: malformed protobuf",
			build: withExtensionBytes(ExtensionMutableMetadata, func(_ *groupState, old []byte) ([]byte, error) {
				// admin_list (field 2) as a varint: proto.Unmarshal keeps it
				// as an unknown field, prost refuses it.
				b := protowire.AppendVarint(protowire.AppendTag(slices.Clone(old), 2, protowire.VarintType), 1)
				if err := proto.Unmarshal(b, &content.GroupMutableMetadataV1{}); err != nil {
					return nil, fmt.Errorf("proto.Unmarshal refuses the case: %w", err)
				}
				return b, nil
			})},
		{name: "MembershipWrongWireType", rule: "0xff01: malformed protobuf",
			build: withExtensionBytes(ExtensionGroupMembership, func(_ *groupState, old []byte) ([]byte, error) {
				// failed_installations (field 2) as a varint.
				b := protowire.AppendVarint(protowire.AppendTag(slices.Clone(old), 2, protowire.VarintType), 7)
				if err := proto.Unmarshal(b, &content.GroupMembership{}); err != nil {
					return nil, fmt.Errorf("proto.Unmarshal refuses the case: %w", err)
				}
				return b, nil
			})},
	}
}

// hostileMember is one honest Go member of a hostile test.
type hostileMember struct {
	name string
	c    *Client
	g    *Group
	logs *logStore
}

func (mb *hostileMember) epoch(t *testing.T) uint64 {
	t.Helper()
	info, err := mb.g.Info(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return info.Epoch
}

// expectRejected syncs mb and checks that it dropped a commit for rule and
// stayed in epoch.
func (mb *hostileMember) expectRejected(t *testing.T, rule string, epoch uint64) {
	t.Helper()
	n := mb.logs.len()
	if err := mb.g.Sync(ctxT(t)); err != nil {
		t.Fatalf("%s: sync: %v", mb.name, err)
	}
	if got := mb.epoch(t); got != epoch {
		t.Fatalf("%s: epoch %d after the hostile commit, want %d (applied it)", mb.name, got, epoch)
	}
	var dropped []string
	for _, r := range mb.logs.since(n) {
		if strings.HasPrefix(r, "group message dropped") {
			dropped = append(dropped, r)
		}
	}
	if len(dropped) != 1 || !strings.Contains(dropped[0], "commit rejected") || !strings.Contains(dropped[0], rule) {
		t.Fatalf("%s: dropped %q; want one commit rejected for %q", mb.name, dropped, rule)
	}
}

// expectApplied syncs mb and checks that it merged the commit sent in
// epoch: it is one epoch on and dropped no message.
func (mb *hostileMember) expectApplied(t *testing.T, epoch uint64) {
	t.Helper()
	n := mb.logs.len()
	if err := mb.g.Sync(ctxT(t)); err != nil {
		t.Fatalf("%s: sync: %v", mb.name, err)
	}
	for _, r := range mb.logs.since(n) {
		if strings.HasPrefix(r, "group message dropped") {
			t.Fatalf("%s: %s; want the commit applied, as libxmtp 1.9.1 applies it", mb.name, r)
		}
	}
	if got := mb.epoch(t); got != epoch+1 {
		t.Fatalf("%s: epoch %d after the commit, want %d", mb.name, got, epoch+1)
	}
}

// expectSender waits for the application message text and checks whom
// mb attributes it to.
func (mb *hostileMember) expectSender(t *testing.T, text string, want identity.InboxID) {
	t.Helper()
	mb.expectText(t, text)
	msgs, err := mb.g.FindMessages(ctxT(t), &MessageQuery{Kind: KindApplication})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if s, err := m.Text(); err == nil && s == text {
			if m.SenderInboxID != want {
				t.Fatalf("%s: %q attributed to %s, want %s", mb.name, text, m.SenderInboxID, want)
			}
			return
		}
	}
	t.Fatalf("%s: message %q not found", mb.name, text)
}

// expectText syncs mb until its group has an application message text.
func (mb *hostileMember) expectText(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := mb.g.Sync(ctxT(t)); err != nil {
			t.Fatalf("%s: sync: %v", mb.name, err)
		}
		if slices.Contains(appTexts(t, mb.g), text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no message %q (has %q)", mb.name, text, appTexts(t, mb.g))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hostileTrio creates watched Go clients alice, henry and mallory on tn
// and a group of alice's, named name, that the other two have joined.
func hostileTrio(t *testing.T, tn *testNode, name string) (alice, henry, mal *hostileMember) {
	t.Helper()
	a, _, aLogs := newWatchedClient(t, tn.addr, "alice")
	h, _, hLogs := newWatchedClient(t, tn.addr, "henry")
	m, _, mLogs := newWatchedClient(t, tn.addr, "mallory")
	ga, res, err := a.CreateGroupWithMembers(ctxT(t), &GroupOptions{Name: name}, []identity.InboxID{h.InboxID(), m.InboxID()})
	if err != nil || len(res.Added) != 2 {
		t.Fatalf("create: %+v %v", res, err)
	}
	return &hostileMember{name: "alice", c: a, g: ga, logs: aLogs}, &hostileMember{name: "henry", c: h, g: joinOne(t, h), logs: hLogs},
		&hostileMember{name: "mallory", c: m, g: joinOne(t, m), logs: mLogs}
}

// TestHostileGoMembers: a malicious Go member sends each rule-breaking
// commit; the honest Go members (creator and another member) reject it
// with the rule, stay in their epoch, and every member goes on
// exchanging messages. Last, a valid commit from the same member is
// accepted by all.
func TestHostileGoMembers(t *testing.T) {
	tn := startTestNode(t)
	alice, henry, mal := hostileTrio(t, tn, "hostile")
	a, h, m := alice.c, henry.c, mal.c
	x, _, _ := newTestClient(t, tn.addr, "xavier")
	y, _, _ := newTestClient(t, tn.addr, "yolanda")
	honest := []*hostileMember{alice, henry}
	everyone := append(slices.Clone(honest), mal)
	exchange := func(t *testing.T, tag string) {
		t.Helper()
		for _, from := range everyone {
			text := from.name + " after " + tag
			if _, err := from.g.SendText(ctxT(t), text); err != nil {
				t.Fatalf("%s: send: %v", from.name, err)
			}
			for _, to := range everyone {
				if to != from {
					to.expectText(t, text)
				}
			}
		}
	}
	exchange(t, "setup")
	for _, tc := range hostileCases(t, m, a, h, x, y) {
		if tc.applied {
			continue // TestHostileGoMembersApplied
		}
		t.Run(tc.name, func(t *testing.T) {
			epoch := honest[0].epoch(t)
			for _, mb := range everyone[1:] {
				if e := mb.epoch(t); e != epoch {
					t.Fatalf("%s is in epoch %d, alice in %d", mb.name, e, epoch)
				}
			}
			sendHostile(t, m, mal.g, tc.build)
			for _, mb := range honest {
				mb.expectRejected(t, tc.rule, epoch)
			}
			exchange(t, tc.name)
		})
	}
	t.Run("RevokedInstallationKept", func(t *testing.T) {
		// mallory's inbox gets a second installation, which the group
		// adds; mallory revokes it and commits her inbox's new sequence id
		// without removing its leaf.
		hostileRevocation(t, tn.addr, m, mal, honest, exchange)
	})
	t.Run("ValidCommitAccepted", func(t *testing.T) {
		epoch := honest[0].epoch(t)
		if err := mal.g.UpdateGroupName(ctxT(t), "renamed by mallory"); err != nil {
			t.Fatalf("rename: %v", err)
		}
		for _, mb := range honest {
			if err := mb.g.Sync(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			info, err := mb.g.Info(ctxT(t))
			if err != nil || info.Epoch != epoch+1 || info.Name() != "renamed by mallory" {
				t.Fatalf("%s: epoch %d name %q (%v); want %d and the new name", mb.name, info.Epoch, info.Name(), err, epoch+1)
			}
		}
		exchange(t, "rename")
	})
}

// hostileRevocation runs the "sequence id bumped without the installation
// change" case: m gets a second installation into the group, revokes it,
// and bumps its inbox's sequence id without removing the revoked leaf.
func hostileRevocation(t *testing.T, addr string, m *Client, mal *hostileMember, honest []*hostileMember, exchange func(*testing.T, string)) {
	ctx := ctxT(t)
	m2 := openTestClient(t, addr, m.signer, filepath.Join(t.TempDir(), "mallory2.db3"), "mallory2")
	if err := m2.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := honest[0].g.UpdateInstallations(ctx); err != nil {
		t.Fatalf("add mallory's second installation: %v", err)
	}
	if _, err := m2.SyncWelcomes(ctx); err != nil {
		t.Fatal(err)
	}
	for _, mb := range append(slices.Clone(honest), mal) {
		if err := mb.g.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.RevokeInstallations(ctx, []identity.InstallationID{m2.InstallationID()}); err != nil {
		t.Fatal(err)
	}
	epoch := honest[0].epoch(t)
	sendHostile(t, m, mal.g, withMembership(func(gm *content.GroupMembership) {
		seq, err := latestSeq(ctx, m, m.InboxID())
		if err != nil {
			t.Error(err)
		}
		gm.Members[string(m.InboxID())] = seq
	}, nil))
	for _, mb := range honest {
		mb.expectRejected(t, RuleUnexpectedRemoved, epoch)
	}
	// An honest member then makes the change properly; everyone takes it.
	if _, err := honest[0].g.UpdateInstallations(ctx); err != nil {
		t.Fatalf("remove the revoked installation: %v", err)
	}
	exchange(t, "revocation")
	for _, mb := range honest {
		err := mb.c.withGroup(ctx, mb.g.id, func(_ context.Context, st *groupState) error {
			if _, err := leafIndexOf(st, m2.InstallationID()); err == nil {
				return fmt.Errorf("%s still has the revoked installation's leaf", mb.name)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// interopGroup is a group of alice (Go, creator), mallory (the malicious
// Go member), victor (Go) and a libxmtp member, with two registered
// outsiders for the hostile cases.
type interopGroup struct {
	p                   *interoptest.Peer
	lib, gid            string
	alice, victor, mal  *hostileMember
	outsider, outsider2 *Client
}

func newInteropGroup(t *testing.T, env *interopEnv, tag string) *interopGroup {
	t.Helper()
	ctx := ctxT(t)
	ig := &interopGroup{p: env.peer, lib: "hostile-lib-" + tag}
	lib := env.libxmtp(t, ig.lib, "")
	a, _, aLogs := newWatchedClient(t, env.node.addr, "alice-"+tag)
	m, _, mLogs := newWatchedClient(t, env.node.addr, "mallory-"+tag)
	v, _, vLogs := newWatchedClient(t, env.node.addr, "victor-"+tag)
	ig.outsider, _, _ = newTestClient(t, env.node.addr, "xavier-"+tag)
	ig.outsider2, _, _ = newTestClient(t, env.node.addr, "yolanda-"+tag)
	ga, res, err := a.CreateGroupWithMembers(ctx, &GroupOptions{Name: "hostile interop"}, []identity.InboxID{inboxOf(lib), m.InboxID(), v.InboxID()})
	if err != nil || len(res.Added) != 3 {
		t.Fatalf("create: %+v %v", res, err)
	}
	ig.gid = ga.ID().String()
	ig.p.Call(t, map[string]any{"op": "waitGroup", "client": ig.lib, "count": 1, "timeoutMs": 30000})
	ig.alice = &hostileMember{name: "alice", c: a, g: ga, logs: aLogs}
	ig.victor = &hostileMember{name: "victor", c: v, g: joinOne(t, v), logs: vLogs}
	ig.mal = &hostileMember{name: "mallory", c: m, g: joinOne(t, m), logs: mLogs}
	return ig
}

func (ig *interopGroup) cases(t *testing.T) map[string]hostileCase {
	out := map[string]hostileCase{}
	for _, tc := range hostileCases(t, ig.mal.c, ig.alice.c, ig.victor.c, ig.outsider, ig.outsider2) {
		out[tc.name] = tc
	}
	return out
}

// libEpoch is the libxmtp member's epoch after a sync.
func (ig *interopGroup) libEpoch(t *testing.T) uint64 {
	t.Helper()
	e, err := strconv.ParseUint(fmt.Sprint(peerGroupInfo(t, ig.p, ig.lib, ig.gid)["epoch"]), 10, 64)
	if err != nil {
		t.Fatalf("libxmtp epoch: %v", err)
	}
	return e
}

// exchange has alice send to libxmtp, and libxmtp to every Go member.
func (ig *interopGroup) exchange(t *testing.T, tag string) {
	t.Helper()
	text := "alice after " + tag
	if _, err := ig.alice.g.SendText(ctxT(t), text); err != nil {
		t.Fatal(err)
	}
	waitPeerText(t, ig.p, ig.lib, ig.gid, text)
	libText := "libxmtp after " + tag
	ig.p.Call(t, map[string]any{"op": "send", "client": ig.lib, "group": ig.gid, "text": libText})
	for _, mb := range []*hostileMember{ig.alice, ig.victor, ig.mal} {
		mb.expectText(t, libText)
	}
}

// send has mallory send tc's commit; the honest Go members must reject
// it. It returns the epoch before and libxmtp's epoch after.
func (ig *interopGroup) send(t *testing.T, tc hostileCase) (before, lib uint64) {
	t.Helper()
	before = ig.alice.epoch(t)
	if le := ig.libEpoch(t); le != before {
		t.Fatalf("libxmtp in epoch %d, alice in %d", le, before)
	}
	sendHostile(t, ig.mal.c, ig.mal.g, tc.build)
	for _, mb := range []*hostileMember{ig.alice, ig.victor} {
		mb.expectRejected(t, tc.rule, before)
	}
	return before, ig.libEpoch(t)
}

// TestHostileLibxmtp: rule-breaking commits in a group with a libxmtp
// member: libxmtp, like the honest Go members, does not apply them, and
// everyone goes on exchanging messages.
func TestHostileLibxmtp(t *testing.T) {
	env := startInteropEnv(t)
	ig := newInteropGroup(t, env, "shared")
	ig.exchange(t, "setup")
	cases := ig.cases(t)
	for _, name := range []string{"AddInstallationWithoutMembershipChange", "AddInstallationNotInAddedInboxState",
		"RemoveLeafWithoutMembershipChange", "RemoveInboxKeepingItsLeaves", "DecreaseSequenceID",
		"BumpOwnSequenceIDPastItsLog", "AddInboxAtSequenceIDZero", "MutableMetadataWrongWireType", "MembershipWrongWireType"} {
		tc, ok := cases[name]
		if !ok {
			t.Fatalf("no case %s", name)
		}
		t.Run(name, func(t *testing.T) {
			before, lib := ig.send(t, tc)
			if lib != before {
				t.Fatalf("libxmtp moved to epoch %d (from %d): it applied the commit", lib, before)
			}
			ig.exchange(t, name)
		})
	}
}

// appliedCases are the rule-breaking commits libxmtp 1.9.1 applies, so
// every member applies them (the rule: what libxmtp accepts we accept):
//
//   - AddedCredentialNamesAnotherInbox: a leaf whose key package is signed
//     by an installation of the inbox being added but whose credential
//     names another inbox (libxmtp checks the installation against the
//     expected diff, not the credential). Both sides then attribute the
//     leaf's messages to the inbox its credential names.
//   - ChangeImmutableMetadata, ImmutableMetadataTurnsGroupIntoDM: a change
//     of the immutable metadata (0xF000), which libxmtp's commit
//     validation never reads. Both sides then report the new creator and
//     type (libxmtp's group_metadata re-reads the extension) and apply the
//     sender-side DM rules to it, while what was stored at join, the
//     conversation type listings filter on and the DM id, stays.
//
// If a libxmtp release starts refusing one, TestHostileLibxmtpParity
// fails: move the case to the refused ones (and our checks with it).
var appliedCases = []string{"AddedCredentialNamesAnotherInbox", "ChangeImmutableMetadata", "ImmutableMetadataTurnsGroupIntoDM"}

// forgedSend joins the group as fg's leaf from the commit's Welcome and
// publishes an application message text from it (through via's connection
// to the node), as whoever holds that installation's key could.
func forgedSend(t *testing.T, via *Client, res *mls.CommitResult, fg *forgery, text string) {
	t.Helper()
	if res.Welcome == nil || fg == nil || fg.bundle == nil {
		t.Fatal("the commit added no forged leaf")
	}
	g, err := mls.JoinFromWelcome(via.mlsConfig(), res.Welcome, &fg.bundle.KeyPackageBundle, nil)
	if err != nil {
		t.Fatalf("join as the forged leaf: %v", err)
	}
	ec, err := deterministic.Marshal(EncodeText(text))
	if err != nil {
		t.Fatal(err)
	}
	env, err := deterministic.Marshal(&content.PlaintextEnvelope{Content: &content.PlaintextEnvelope_V1_{
		V1: &content.PlaintextEnvelope_V1{Content: ec, IdempotencyKey: "forged " + text}}})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := g.Encrypt(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := msg.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	in := &mlsapi.GroupMessageInput{Version: &mlsapi.GroupMessageInput_V1_{V1: &mlsapi.GroupMessageInput_V1{
		Data: payload, SenderHmac: via.senderHMAC(g.GroupID(), payload)}}}
	if _, err := via.mlsAPI.SendGroupMessages(ctxT(t), &mlsapi.SendGroupMessagesRequest{Messages: []*mlsapi.GroupMessageInput{in}}); err != nil {
		t.Fatalf("publish the forged leaf's message: %v", err)
	}
}

// appliedWorld is a group in which mal sent an applied case: its Go
// members (creator first), its outsiders, and the commit.
type appliedWorld struct {
	members             []*hostileMember
	creator, mal        *hostileMember
	outsider, outsider2 *Client
	res                 *mls.CommitResult
}

// checkGoEffects checks what the Go members make of an applied case,
// after the commit: the effects libxmtp 1.9.1 has (TestHostileLibxmtpParity
// checks libxmtp's side).
func checkGoEffects(t *testing.T, w *appliedWorld, tc hostileCase) {
	t.Helper()
	ctx := ctxT(t)
	infos := map[string]*GroupInfo{}
	for _, mb := range w.members {
		info, err := mb.g.Info(ctx)
		if err != nil {
			t.Fatalf("%s: info: %v", mb.name, err)
		}
		infos[mb.name] = info
	}
	switch tc.name {
	case "AddedCredentialNamesAnotherInbox":
		// The forged leaf's messages are the creator's, as its credential
		// says (libxmtp's extract_message_sender).
		text := "forged leaf of " + tc.name
		forgedSend(t, w.outsider2, w.res, tc.forged, text)
		for _, mb := range w.members {
			mb.expectSender(t, text, w.creator.c.InboxID())
		}
	case "ChangeImmutableMetadata":
		for name, info := range infos {
			if info.CreatorInboxID != w.mal.c.InboxID() || info.ConversationType != content.ConversationType_CONVERSATION_TYPE_GROUP || info.DMMembers != nil {
				t.Errorf("%s: creator %s type %v dm %v; want mallory's new creator, a group, no DM members", name, info.CreatorInboxID, info.ConversationType, info.DMMembers)
			}
		}
	case "ImmutableMetadataTurnsGroupIntoDM":
		for name, info := range infos {
			if info.ConversationType != content.ConversationType_CONVERSATION_TYPE_DM || info.DMMembers != nil {
				t.Errorf("%s: type %v dm %v; want the new type DM but no DM members (the DM id stored at join)", name, info.ConversationType, info.DMMembers)
			}
			if peer, ok := info.DMPeer(w.creator.c.InboxID()); ok {
				t.Errorf("%s: DM peer %s; want none", name, peer)
			}
		}
		for _, mb := range w.members {
			if got := listed(t, mb.c, content.ConversationType_CONVERSATION_TYPE_GROUP, mb.g.ID()); !got {
				t.Errorf("%s: the group is no longer listed as a group (its stored type must stay)", mb.name)
			}
			if got := listed(t, mb.c, content.ConversationType_CONVERSATION_TYPE_DM, mb.g.ID()); got {
				t.Errorf("%s: the group is listed as a DM", mb.name)
			}
		}
		// The sender-side DM rules read the new type, as libxmtp's
		// update_group_name does: a rename is refused before any commit.
		var de *policy.DeniedError
		if err := w.creator.g.UpdateGroupName(ctx, "renamed in a DM"); !errors.As(err, &de) || de.Decision.Rule.ID != policy.RuleDMImmutable {
			t.Errorf("rename after the type change: %v; want refused by %s", err, policy.RuleDMImmutable)
		}
	default:
		t.Fatalf("no checks for %s", tc.name)
	}
}

// listed reports whether c lists group id under conversation type typ.
func listed(t *testing.T, c *Client, typ content.ConversationType, id GroupID) bool {
	t.Helper()
	gs, err := c.FindGroups(ctxT(t), &GroupQuery{ConversationType: typ})
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(gs, func(g *Group) bool { return bytes.Equal(g.ID(), id) })
}

// validCommitAfter has the creator add outsider, a valid commit after the
// applied one, and checks every Go member applies it: the changed state
// does not trip later checks.
func validCommitAfter(t *testing.T, w *appliedWorld) uint64 {
	t.Helper()
	epoch := w.creator.epoch(t)
	if _, err := w.creator.g.AddMembers(ctxT(t), []identity.InboxID{w.outsider.InboxID()}); err != nil {
		t.Fatalf("add a member after the applied commit: %v", err)
	}
	for _, mb := range w.members[1:] {
		mb.expectApplied(t, epoch)
	}
	return epoch + 1
}

// TestHostileGoMembersApplied: each commit libxmtp 1.9.1 applies, in a
// group of its own: every Go member applies it, with libxmtp's effects,
// and the group goes on (messages, a valid commit after it).
func TestHostileGoMembersApplied(t *testing.T) {
	tn := startTestNode(t)
	for i, name := range appliedCases {
		t.Run(name, func(t *testing.T) {
			ctx, tag := ctxT(t), fmt.Sprint(i)
			a, _, aLogs := newWatchedClient(t, tn.addr, "alice"+tag)
			h, _, hLogs := newWatchedClient(t, tn.addr, "henry"+tag)
			m, _, mLogs := newWatchedClient(t, tn.addr, "mallory"+tag)
			x, _, _ := newTestClient(t, tn.addr, "xavier"+tag)
			y, _, _ := newTestClient(t, tn.addr, "yolanda"+tag)
			ga, res, err := a.CreateGroupWithMembers(ctx, &GroupOptions{Name: "applied"}, []identity.InboxID{h.InboxID(), m.InboxID()})
			if err != nil || len(res.Added) != 2 {
				t.Fatalf("create: %+v %v", res, err)
			}
			alice := &hostileMember{name: "alice", c: a, g: ga, logs: aLogs}
			mal := &hostileMember{name: "mallory", c: m, g: joinOne(t, m), logs: mLogs}
			w := &appliedWorld{creator: alice, mal: mal, outsider: x, outsider2: y,
				members: []*hostileMember{alice, {name: "henry", c: h, g: joinOne(t, h), logs: hLogs}, mal}}
			var tc hostileCase
			for _, c := range hostileCases(t, m, a, h, x, y) {
				if c.name == name {
					tc = c
				}
			}
			if !tc.applied {
				t.Fatalf("%s is not an applied case", name)
			}
			epoch := alice.epoch(t)
			w.res = sendApplied(t, m, mal.g, tc.build)
			for _, mb := range w.members {
				mb.expectApplied(t, epoch)
			}
			checkGoEffects(t, w, tc)
			validCommitAfter(t, w)
			for _, from := range w.members {
				text := from.name + " after " + name
				if _, err := from.g.SendText(ctx, text); err != nil {
					t.Fatalf("%s: send: %v", from.name, err)
				}
				for _, to := range w.members {
					if to != from {
						to.expectSender(t, text, from.c.InboxID())
					}
				}
			}
		})
	}
}

// TestHostileLibxmtpParity: each commit libxmtp 1.9.1 applies, in a group
// of its own with a libxmtp member: libxmtp and every Go member apply it
// (the group does not fork), both sides show the same effects, and
// everyone goes on exchanging messages and applying commits.
func TestHostileLibxmtpParity(t *testing.T) {
	env := startInteropEnv(t)
	for i, name := range appliedCases {
		t.Run(name, func(t *testing.T) {
			ig := newInteropGroup(t, env, fmt.Sprint(i))
			tc := ig.cases(t)[name]
			before := ig.alice.epoch(t)
			if le := ig.libEpoch(t); le != before {
				t.Fatalf("libxmtp in epoch %d, alice in %d", le, before)
			}
			w := &appliedWorld{creator: ig.alice, mal: ig.mal, outsider: ig.outsider, outsider2: ig.outsider2,
				members: []*hostileMember{ig.alice, ig.victor, ig.mal}}
			w.res = sendApplied(t, ig.mal.c, ig.mal.g, tc.build)
			for _, mb := range w.members {
				mb.expectApplied(t, before)
			}
			if lib := ig.libEpoch(t); lib != before+1 {
				t.Fatalf("libxmtp went from epoch %d to %d; it no longer applies this commit", before, lib)
			}
			checkGoEffects(t, w, tc)
			ig.checkLibxmtpEffects(t, w, tc)
			ig.exchange(t, name)
			epoch := validCommitAfter(t, w)
			if lib := ig.libEpoch(t); lib != epoch {
				t.Fatalf("libxmtp in epoch %d after the valid commit, Go members in %d", lib, epoch)
			}
			ig.exchange(t, name+" and a valid commit")
		})
	}
}

// checkLibxmtpEffects checks libxmtp's side of checkGoEffects.
func (ig *interopGroup) checkLibxmtpEffects(t *testing.T, w *appliedWorld, tc hostileCase) {
	t.Helper()
	switch tc.name {
	case "AddedCredentialNamesAnotherInbox":
		text := "forged leaf of " + tc.name // sent by checkGoEffects
		if got := waitPeerText(t, ig.p, ig.lib, ig.gid, text)["sender"]; got != string(w.creator.c.InboxID()) {
			t.Errorf("libxmtp attributes the forged leaf's message to %v, want %s (its credential's inbox)", got, w.creator.c.InboxID())
		}
	case "ChangeImmutableMetadata":
		gi := peerGroupInfo(t, ig.p, ig.lib, ig.gid)
		if gi["creator"] != string(w.mal.c.InboxID()) || gi["type"] != "group" {
			t.Errorf("libxmtp: creator %v type %v; want mallory's new creator and a group", gi["creator"], gi["type"])
		}
	case "ImmutableMetadataTurnsGroupIntoDM":
		if gi := peerGroupInfo(t, ig.p, ig.lib, ig.gid); gi["type"] != "dm" {
			t.Errorf("libxmtp: type %v; want the new type dm", gi["type"])
		}
		for typ, want := range map[string]bool{"group": true, "dm": false} {
			if got := ig.libListed(t, typ); got != want {
				t.Errorf("libxmtp lists the group under %s: %v, want %v (its stored type)", typ, got, want)
			}
		}
		if res := ig.p.Try(t, map[string]any{"op": "updateName", "client": ig.lib, "group": ig.gid, "name": "renamed in a DM"}); res["ok"] == true {
			t.Errorf("libxmtp renamed the group after the type change: %v", res)
		}
	default:
		t.Fatalf("no checks for %s", tc.name)
	}
}

// libListed reports whether the libxmtp member lists the group under
// conversation type typ ("group" or "dm").
func (ig *interopGroup) libListed(t *testing.T, typ string) bool {
	t.Helper()
	res := ig.p.Call(t, map[string]any{"op": "listGroups", "client": ig.lib, "type": typ})
	for _, g := range res["groups"].([]any) {
		if g.(map[string]any)["group"] == ig.gid {
			return true
		}
	}
	return false
}

// TestHostileReadd: removing and adding back the same installation in one
// commit is a re-add, allowed only to a super admin (xmtp-groups.md §4
// step 11). A member's re-add is refused as an unexpected removal; the
// super admin's is applied by everyone.
func TestHostileReadd(t *testing.T) {
	tn := startTestNode(t)
	ctx := ctxT(t)
	alice, henry, mal := hostileTrio(t, tn, "readd")
	ga, h, m := alice.g, henry.c, mal.c

	epoch := alice.epoch(t)
	sendHostile(t, m, mal.g, withMembership(nil, func(ctx context.Context, st *groupState, o *mls.CommitOptions) error {
		l, err := leafIndexOf(st, h.InstallationID())
		if err != nil {
			return err
		}
		kp, err := fetchKP(ctx, m, h.InstallationID())
		o.Removes, o.Adds = []mls.LeafIndex{l}, []mls.KeyPackage{kp}
		return err
	}))
	alice.expectRejected(t, RuleUnexpectedRemoved, epoch)
	henry.expectRejected(t, RuleUnexpectedRemoved, epoch)

	n := mal.logs.len()
	if _, err := ga.ReaddInstallations(ctx, []identity.InstallationID{h.InstallationID()}); err != nil {
		t.Fatalf("super admin re-add: %v", err)
	}
	if err := mal.g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := mal.epoch(t), alice.epoch(t); got != want || want <= epoch {
		t.Fatalf("mallory in epoch %d, alice in %d (from %d): the re-add was not applied", got, want, epoch)
	}
	for _, r := range mal.logs.since(n) {
		if strings.Contains(r, "commit rejected") {
			t.Fatalf("mallory rejected a commit: %s", r)
		}
	}
	text := "after the re-add"
	if _, err := ga.SendText(ctx, text); err != nil {
		t.Fatal(err)
	}
	mal.expectText(t, text)
}

// TestRejectedCommitKeyReused: libxmtp builds a commit in a rolled-back
// transaction, so when its commit is rejected (e.g. a metadata change the
// permissions deny, which libxmtp publishes and only then refuses) its
// next commit of the epoch is encrypted with the same handshake key. A
// member that rejects the first commit must not consume that key: the
// second commit, valid, is then merged by everyone else.
func TestRejectedCommitKeyReused(t *testing.T) {
	tn := startTestNode(t)
	ctx := ctxT(t)
	a, _, aLogs := newWatchedClient(t, tn.addr, "alice")
	h, _, hLogs := newWatchedClient(t, tn.addr, "henry")
	m, _, _ := newWatchedClient(t, tn.addr, "mallory")
	ga, _, err := a.CreateGroupWithMembers(ctx, &GroupOptions{Name: "reuse"}, []identity.InboxID{h.InboxID(), m.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	honest := []*hostileMember{{name: "alice", c: a, g: ga, logs: aLogs}, {name: "henry", c: h, g: joinOne(t, h), logs: hLogs}}
	gm := joinOne(t, m)
	epoch := honest[0].epoch(t)
	// mallory publishes a commit as libxmtp does: built, sent, and
	// forgotten (her state is reloaded from the database afterwards).
	publish := func(build commitBuilder) {
		t.Helper()
		err := m.withGroup(ctx, gm.id, func(ctx context.Context, st *groupState) error {
			opts, err := build(ctx, st)
			if err != nil {
				return err
			}
			res, err := st.mls.Commit(opts)
			if err != nil {
				return err
			}
			payload, err := res.Commit.Bytes()
			if err != nil {
				return err
			}
			st.broken = true
			return m.sendGroupMessage(ctx, st, payload, false)
		})
		if err != nil {
			t.Fatalf("publish commit: %v", err)
		}
	}
	// mallory, a member, makes herself an admin: the permissions deny it.
	publish(withExtensionBytes(ExtensionMutableMetadata, func(_ *groupState, old []byte) ([]byte, error) {
		var md content.GroupMutableMetadataV1
		if err := proto.Unmarshal(old, &md); err != nil {
			return nil, err
		}
		md.AdminList.InboxIds = append(md.AdminList.InboxIds, string(m.InboxID()))
		return proto.Marshal(&md)
	}))
	for _, mb := range honest {
		mb.expectRejected(t, string(policy.RuleAddAdmin), epoch)
	}
	// The same epoch, the same handshake key: a valid rename.
	publish(withExtensionBytes(ExtensionMutableMetadata, func(_ *groupState, old []byte) ([]byte, error) {
		var md content.GroupMutableMetadataV1
		if err := proto.Unmarshal(old, &md); err != nil {
			return nil, err
		}
		md.Attributes[AttrGroupName] = "renamed by mallory"
		return proto.Marshal(&md)
	}))
	for _, mb := range honest {
		if err := mb.g.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		info, err := mb.g.Info(ctx)
		if err != nil || info.Epoch != epoch+1 || info.Name() != "renamed by mallory" {
			t.Fatalf("%s: epoch %d name %q (%v); want epoch %d and mallory's name (the rejected commit consumed its key?)",
				mb.name, info.Epoch, info.Name(), err, epoch+1)
		}
	}
}
