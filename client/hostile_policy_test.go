package client

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mlsbridge/identity"
	"mlsbridge/internal/interoptest"
	"mlsbridge/mls"
	"mlsbridge/policy"
	"mlsbridge/wire/content"
)

// The hostile policy tests: a malicious Go member, whose sender-side
// permission checks are bypassed (it builds each GroupContextExtensions
// commit itself from its group state, with the new 0xFF00, 0xFF01 or
// 0xFF02 bytes), breaks one permission or metadata rule of xmtp-groups.md
// §3.4 and §4 (steps 4, 14 and 15) per case, first in a group shared with
// two honest Go members and an honest libxmtp member, then in a DM whose
// other inbox has two Go installations and a libxmtp one. Every honest
// member refuses each such commit, as libxmtp 1.9.1 does, stays in its
// epoch, and goes on exchanging messages with everyone, the hostile member
// included. The commits the rules let through (a DM's name, values exactly
// at a byte limit, non-numeric disappearing settings) are applied by
// everyone alike.

// policyRoom is one conversation of the hostile policy test.
type policyRoom struct {
	p *interoptest.Peer
	// lib is the libxmtp member's client name; gid the conversation id.
	lib, gid string
	honest   []*hostileMember
	mal      *hostileMember
}

// policyCase is one commit the hostile member sends. A case with a rule
// breaks it: honest Go members drop the commit naming rule (a substring of
// the reason), and libxmtp must not apply it either. A case without one is
// valid: everyone applies it, and check, when set, looks at the result.
type policyCase struct {
	name  string
	rule  string
	build commitBuilder
	check func(t *testing.T, r *policyRoom)
}

func (r *policyRoom) goMembers() []*hostileMember { return append(slices.Clone(r.honest), r.mal) }

// libEpoch is the libxmtp member's epoch after a sync.
func (r *policyRoom) libEpoch(t *testing.T) uint64 {
	t.Helper()
	e, err := strconv.ParseUint(fmt.Sprint(peerGroupInfo(t, r.p, r.lib, r.gid)["epoch"]), 10, 64)
	if err != nil {
		t.Fatalf("libxmtp epoch: %v", err)
	}
	return e
}

// epoch syncs everyone and returns the epoch they all are in.
func (r *policyRoom) epoch(t *testing.T) uint64 {
	t.Helper()
	var e uint64
	for i, mb := range r.goMembers() {
		if err := mb.g.Sync(ctxT(t)); err != nil {
			t.Fatalf("%s: sync: %v", mb.name, err)
		}
		got := mb.epoch(t)
		if i == 0 {
			e = got
		} else if got != e {
			t.Fatalf("%s is in epoch %d, %s in %d", mb.name, got, r.honest[0].name, e)
		}
	}
	if le := r.libEpoch(t); le != e {
		t.Fatalf("libxmtp is in epoch %d, the Go members in %d", le, e)
	}
	return e
}

// run sends tc's commit, checks what every member made of it, and has
// everyone exchange a message.
func (r *policyRoom) run(t *testing.T, tc policyCase) {
	t.Helper()
	before := r.epoch(t)
	if tc.rule != "" {
		sendHostile(t, r.mal.c, r.mal.g, tc.build)
		for _, mb := range r.honest {
			mb.expectRejected(t, tc.rule, before)
		}
		if le := r.libEpoch(t); le != before {
			t.Fatalf("libxmtp went from epoch %d to %d: it applied a commit Go rejects for %q (parity gap)", before, le, tc.rule)
		}
	} else {
		r.expectApplied(t, tc, before)
	}
	r.exchange(t, tc.name)
}

// expectApplied has the hostile member publish tc's commit as its own
// (merged when it comes back) and checks that every member applied it.
func (r *policyRoom) expectApplied(t *testing.T, tc policyCase, before uint64) {
	t.Helper()
	marks := make([]int, len(r.honest))
	for i, mb := range r.honest {
		marks[i] = mb.logs.len()
	}
	sendOwn(t, r.mal.c, r.mal.g, tc.build)
	for i, mb := range r.goMembers() {
		if err := mb.g.Sync(ctxT(t)); err != nil {
			t.Fatalf("%s: sync: %v", mb.name, err)
		}
		if got := mb.epoch(t); got != before+1 {
			var rejected []string
			if i < len(marks) {
				for _, rec := range mb.logs.since(marks[i]) {
					if strings.Contains(rec, "commit rejected") {
						rejected = append(rejected, rec)
					}
				}
			}
			t.Fatalf("%s: epoch %d, want %d (the commit is valid); rejections %q", mb.name, got, before+1, rejected)
		}
	}
	if le := r.libEpoch(t); le != before+1 {
		t.Fatalf("libxmtp in epoch %d, want %d: it did not apply a commit Go applies (parity gap)", le, before+1)
	}
	if tc.check != nil {
		tc.check(t, r)
	}
}

// exchange has every member, the hostile one included, send a message,
// and checks that each of them receives all the others'.
func (r *policyRoom) exchange(t *testing.T, tag string) {
	t.Helper()
	var all []string
	for _, mb := range r.goMembers() {
		text := mb.name + " after " + tag
		if _, err := mb.g.SendText(ctxT(t), text); err != nil {
			t.Fatalf("%s: send: %v", mb.name, err)
		}
		all = append(all, text)
	}
	libText := "libxmtp after " + tag
	r.p.Call(t, map[string]any{"op": "send", "client": r.lib, "group": r.gid, "text": libText})
	all = append(all, libText)
	for _, mb := range r.goMembers() {
		mb.expectTexts(t, without(all, mb.name+" after "+tag))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got []string
		for _, m := range peerMessages(t, r.p, r.lib, r.gid) {
			if s, ok := m["text"].(string); ok {
				got = append(got, s)
			}
		}
		missing := missingTexts(got, without(all, libText))
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("libxmtp: no messages %q", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// expectTexts syncs mb until its conversation has every text of want.
func (mb *hostileMember) expectTexts(t *testing.T, want []string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := mb.g.Sync(ctxT(t)); err != nil {
			t.Fatalf("%s: sync: %v", mb.name, err)
		}
		missing := missingTexts(appTexts(t, mb.g), want)
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no messages %q", mb.name, missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func without(list []string, s string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(x string) bool { return x == s })
}

func missingTexts(got, want []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			out = append(out, w)
		}
	}
	return out
}

// sendOwn has c publish build's commit through its intent queue, as its
// own commits go, but without the sender-side permission check: c merges
// it when it comes back if its own receiver checks pass.
func sendOwn(t *testing.T, c *Client, g *Group, build commitBuilder) {
	t.Helper()
	err := c.withGroup(ctxT(t), g.id, func(ctx context.Context, st *groupState) error {
		if err := c.settleCommits(ctx, st); err != nil {
			return err
		}
		opts, err := build(ctx, st)
		if err != nil {
			return err
		}
		in, err := c.stageContextCommit(ctx, st, &contextPlan{kind: IntentMetadataUpdate, exts: opts.GroupContextExtensions})
		if err != nil {
			return err
		}
		_, err = c.publishCommit(ctx, st, in)
		return err
	})
	if err != nil {
		t.Fatalf("send own commit: %v", err)
	}
}

// editMutable returns a GCE commit whose mutable metadata (0xFF00) is the
// current one changed by edit.
func editMutable(edit func(md *content.GroupMutableMetadataV1)) commitBuilder {
	return withExtensionBytes(ExtensionMutableMetadata, func(_ *groupState, old []byte) ([]byte, error) {
		md, err := decodeMutableMetadata(old)
		if err != nil {
			return nil, err
		}
		if md.Attributes == nil {
			md.Attributes = map[string]string{}
		}
		edit(md)
		return deterministic.Marshal(md)
	})
}

// setAttrs returns a GCE commit setting attributes (key, value, key, …).
func setAttrs(kv ...string) commitBuilder {
	return editMutable(func(md *content.GroupMutableMetadataV1) {
		for i := 0; i+1 < len(kv); i += 2 {
			md.Attributes[kv[i]] = kv[i+1]
		}
	})
}

// editPermissions returns a GCE commit whose permissions (0xFF02) are the
// current ones changed by edit.
func editPermissions(edit func(ps *policy.PolicySet)) commitBuilder {
	return withExtensionBytes(ExtensionGroupPermissions, func(_ *groupState, old []byte) ([]byte, error) {
		ps, err := policy.Unmarshal(old)
		if err != nil {
			return nil, err
		}
		ps = ps.Clone()
		edit(&ps)
		return policy.Marshal(ps)
	})
}

// addInboxCommit returns a commit adding of (its inbox at its latest
// sequence id and its installation's key package), as built by c.
func addInboxCommit(c, of *Client) commitBuilder {
	return func(ctx context.Context, st *groupState) (mls.CommitOptions, error) {
		seq, err := latestSeq(ctx, c, of.InboxID())
		if err != nil {
			return mls.CommitOptions{}, err
		}
		kp, err := fetchKP(ctx, c, of.InstallationID())
		if err != nil {
			return mls.CommitOptions{}, err
		}
		return withMembership(func(gm *content.GroupMembership) { gm.Members[string(of.InboxID())] = seq },
			func(_ context.Context, _ *groupState, o *mls.CommitOptions) error {
				o.Adds = append(o.Adds, kp)
				return nil
			})(ctx, st)
	}
}

// removeInboxCommit returns a commit removing inbox in: its membership
// entry and every leaf of it.
func removeInboxCommit(in identity.InboxID) commitBuilder {
	return withMembership(func(gm *content.GroupMembership) { delete(gm.Members, string(in)) },
		func(_ context.Context, st *groupState, o *mls.CommitOptions) error {
			for _, m := range st.mls.Members() {
				if got, err := inboxOfLeaf(&m.LeafNode); err == nil && got == in {
					o.Removes = append(o.Removes, m.Index)
				}
			}
			if len(o.Removes) == 0 {
				return fmt.Errorf("inbox %s has no leaf", in)
			}
			return nil
		})
}

// openWatchedClient opens a new installation of signer's inbox (created
// when new), registers it, and keeps its logs.
func openWatchedClient(t *testing.T, addr, name string, signer *identity.EthereumSigner) (*Client, *logStore) {
	t.Helper()
	store := &logStore{}
	log := slog.New(&captureHandler{store: store, next: testLogger(t, name).Handler()})
	c, err := New(ctxT(t), signer, Options{NodeAddress: addr, DBPath: filepath.Join(t.TempDir(), name+".db3"), Logger: log})
	if err != nil {
		t.Fatalf("%s: new client: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Register(ctxT(t)); err != nil {
		t.Fatalf("%s: register: %v", name, err)
	}
	return c, store
}

// frozenField is an attribute the test group's permissions deny to all.
const frozenField = "frozen_topic"

// TestHostilePolicy runs the hostile member's rule-breaking commits against
// one node and one libxmtp process: first in a group, as a plain member,
// then as admin, then as super admin; then in a DM.
func TestHostilePolicy(t *testing.T) {
	env := startInteropEnv(t)
	ctx := ctxT(t)
	lib := env.libxmtp(t, "hp-lib", "")
	a, _, aLogs := newWatchedClient(t, env.node.addr, "alice")
	v, vWallet, vLogs := newWatchedClient(t, env.node.addr, "victor")
	m, _, mLogs := newWatchedClient(t, env.node.addr, "mallory")
	w, _, _ := newTestClient(t, env.node.addr, "wendy")
	x, _, _ := newTestClient(t, env.node.addr, "xavier")

	// Admins add members; everyone edits name, description, image and app
	// data; update_permissions says admins, but only super admins may
	// change permissions whatever it says (xmtp-groups.md §3.4).
	ps := policy.Default().Clone()
	ps.AddMember = policy.NewMembershipPolicy(policy.AllowIfAdmin)
	ps.UpdatePermissions = policy.NewPermissionsPolicy(policy.AllowIfAdmin)
	ps.UpdateMetadata[frozenField] = policy.NewMetadataPolicy(policy.Deny)
	ga, res, err := a.CreateGroupWithMembers(ctx, &GroupOptions{Name: "hostile policy", Permissions: &ps},
		[]identity.InboxID{inboxOf(lib), v.InboxID(), m.InboxID(), w.InboxID()})
	if err != nil || len(res.Added) != 4 {
		t.Fatalf("create: %+v %v", res, err)
	}
	if err := ga.AddSuperAdmin(ctx, v.InboxID()); err != nil {
		t.Fatalf("make victor super admin: %v", err)
	}
	gid := ga.ID().String()
	env.peer.Call(t, map[string]any{"op": "waitGroup", "client": "hp-lib", "group": gid, "count": 1, "timeoutMs": 30000})
	r := &policyRoom{p: env.peer, lib: "hp-lib", gid: gid,
		honest: []*hostileMember{{name: "alice", c: a, g: ga, logs: aLogs}, {name: "victor", c: v, g: joinOne(t, v), logs: vLogs}},
		mal:    &hostileMember{name: "mallory", c: m, g: joinOne(t, m), logs: mLogs}}
	r.exchange(t, "setup")

	runCases := func(cases []policyCase) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) { r.run(t, tc) })
		}
	}
	runCases(memberCases(m, w, x))
	promote := func(name string, f func(context.Context, identity.InboxID) error) {
		t.Run(name, func(t *testing.T) {
			if err := f(ctxT(t), m.InboxID()); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			r.exchange(t, name)
		})
	}
	promote("MalloryMadeAdmin", ga.AddAdmin)
	runCases(adminCases(v, m))
	promote("MalloryMadeSuperAdmin", ga.AddSuperAdmin)
	runCases(superAdminCases(a))

	dm := newPolicyDM(t, env, r, v, vWallet)
	for _, tc := range dmCases(dm.mal.c, v, x) {
		t.Run("DM"+tc.name, func(t *testing.T) { dm.run(t, tc) })
	}
	t.Run("DMMinVersionAboveLibxmtp", func(t *testing.T) { dmMinVersionPause(t, dm) })
}

// memberCases are the commits mallory, a plain member, may not make in the
// test group (alice and victor are its super admins, wendy a member, xavier
// an outsider); and two valid ones at the byte limits.
func memberCases(m, w, x *Client) []policyCase {
	e := strings.Repeat("é", 50) // 100 bytes in 50 characters
	return []policyCase{
		{name: "AddMemberInAdminsOnlyGroup", rule: string(policy.RuleAddMember), build: addInboxCommit(m, x)},
		{name: "RemoveMemberAsMember", rule: string(policy.RuleRemoveMember), build: removeInboxCommit(w.InboxID())},
		{name: "DisappearingAsMember", rule: string(policy.RuleUpdateMetadata),
			build: setAttrs(AttrDisappearFromNs, "1", AttrDisappearInNs, "3600000000000")},
		{name: "MinVersionAsMember", rule: string(policy.RuleUpdateMetadata), build: setAttrs(AttrMinVersion, "1.0.0")},
		{name: "DeniedFieldAsMember", rule: string(policy.RuleUpdateMetadata), build: setAttrs(frozenField, "mine")},
		{name: "UnknownFieldAsMember", rule: string(policy.RuleMetadataFallback), build: setAttrs("topic", "mine")},
		{name: "SuperAdminFieldAsMember", rule: string(policy.RuleMetadataFallback), build: setAttrs("_bridge", "mine")},
		{name: "AddAdminAsMember", rule: string(policy.RuleAddAdmin), build: editMutable(func(md *content.GroupMutableMetadataV1) {
			md.AdminList.InboxIds = appendInbox(md.AdminList.InboxIds, m.InboxID())
		})},
		{name: "AddSuperAdminAsMember", rule: string(policy.RuleAddSuperAdmin), build: editMutable(func(md *content.GroupMutableMetadataV1) {
			md.SuperAdminList.InboxIds = appendInbox(md.SuperAdminList.InboxIds, m.InboxID())
		})},
		{name: "PermissionsAsMember", rule: string(policy.RuleUpdatePermissions), build: editPermissions(func(ps *policy.PolicySet) {
			ps.AddMember = policy.NewMembershipPolicy(policy.Allow)
		})},
		{name: "NameOverLimit", rule: string(policy.RuleLengthLimit), build: setAttrs(AttrGroupName, e+"a")},
		{name: "DescriptionOverLimit", rule: string(policy.RuleLengthLimit), build: setAttrs(AttrDescription, strings.Repeat(e, 10)+"a")},
		{name: "ImageURLOverLimit", rule: string(policy.RuleLengthLimit),
			build: setAttrs(AttrImageURLSquare, "https://example.com/"+strings.Repeat("i", 2048-len("https://example.com/")+1))},
		{name: "AppDataOverLimit", rule: string(policy.RuleLengthLimit), build: setAttrs(AttrAppData, strings.Repeat("d", 8193))},
		{name: "ValuesAtLimitsApplied", build: setAttrs(AttrGroupName, e, AttrDescription, strings.Repeat(e, 10),
			AttrImageURLSquare, strings.Repeat("i", 2048), AttrAppData, strings.Repeat("d", 8192)),
			check: func(t *testing.T, r *policyRoom) {
				info := peerGroupInfo(t, r.p, r.lib, r.gid)
				if info["name"] != e || len(fmt.Sprint(info["appData"])) != 8192 {
					t.Fatalf("libxmtp reads name %q, app data of %d bytes", info["name"], len(fmt.Sprint(info["appData"])))
				}
				gi, err := r.honest[0].g.Info(ctxT(t))
				if err != nil || gi.Name() != e {
					t.Fatalf("alice reads name %q (%v)", gi.Name(), err)
				}
			}},
	}
}

// adminCases are the commits mallory, now an admin, may not make.
func adminCases(v, m *Client) []policyCase {
	return []policyCase{
		{name: "RemoveSuperAdminAsAdmin", rule: string(policy.RuleSuperAdminNotRemovable), build: removeInboxCommit(v.InboxID())},
		{name: "DemoteSuperAdminAsAdmin", rule: string(policy.RuleRemoveSuperAdmin), build: editMutable(func(md *content.GroupMutableMetadataV1) {
			md.SuperAdminList.InboxIds = removeInbox(md.SuperAdminList.InboxIds, v.InboxID())
		})},
		{name: "AddSuperAdminAsAdmin", rule: string(policy.RuleAddSuperAdmin), build: editMutable(func(md *content.GroupMutableMetadataV1) {
			md.SuperAdminList.InboxIds = appendInbox(md.SuperAdminList.InboxIds, m.InboxID())
		})},
		{name: "RemoveAdminAsAdmin", rule: string(policy.RuleRemoveAdmin), build: editMutable(func(md *content.GroupMutableMetadataV1) {
			md.AdminList.InboxIds = removeInbox(md.AdminList.InboxIds, m.InboxID())
		})},
		{name: "PermissionsAsAdmin", rule: string(policy.RuleUpdatePermissions), build: editPermissions(func(ps *policy.PolicySet) {
			ps.UpdateMetadata[policy.FieldGroupName] = policy.NewMetadataPolicy(policy.AllowIfAdmin)
		})},
		{name: "MinVersionAsAdmin", rule: string(policy.RuleUpdateMetadata), build: setAttrs(AttrMinVersion, "1.0.0")},
		{name: "CommitLogSignerAsAdmin", rule: string(policy.RuleMetadataFallback),
			build: setAttrs(AttrCommitLogSigner, strings.Repeat("ab", commitLogSignerKeySize))},
	}
}

// superAdminCases are the commits mallory, now a super admin, may not make,
// and a valid one libxmtp parses leniently.
func superAdminCases(a *Client) []policyCase {
	return []policyCase{
		{name: "RemoveSuperAdminAsSuperAdmin", rule: string(policy.RuleSuperAdminNotRemovable), build: removeInboxCommit(a.InboxID())},
		{name: "RemoveLastSuperAdmins", rule: string(policy.RuleLastSuperAdmin), build: editMutable(func(md *content.GroupMutableMetadataV1) {
			md.SuperAdminList.InboxIds = []string{}
		})},
		{name: "DeniedFieldAsSuperAdmin", rule: string(policy.RuleUpdateMetadata), build: setAttrs(frozenField, "mine")},
		{name: "MalformedMinVersion", rule: "invalid version", build: setAttrs(AttrMinVersion, "not-a-version")},
		// libxmtp parses the settings only to use them (an unparsable one
		// reads as unset); commit validation does not look at them.
		{name: "NonNumericDisappearingApplied", build: setAttrs(AttrDisappearFromNs, "soon", AttrDisappearInNs, "later"),
			check: func(t *testing.T, r *policyRoom) {
				if info := peerGroupInfo(t, r.p, r.lib, r.gid); info["disappearingEnabled"] == true {
					t.Fatalf("libxmtp reads disappearing settings %v", info["disappearing"])
				}
				for _, mb := range r.honest {
					if s, ok, err := mb.g.DisappearingSettings(ctxT(t)); err != nil || ok && s.Enabled() {
						t.Fatalf("%s reads disappearing settings %+v %v (%v)", mb.name, s, ok, err)
					}
				}
			}},
	}
}

// newPolicyDM starts a DM from mallory to victor's inbox, which first gets
// a second Go installation and a libxmtp one (from victor's wallet): the
// honest members are victor's three installations.
func newPolicyDM(t *testing.T, env *interopEnv, r *policyRoom, v *Client, vWallet *identity.EthereumSigner) *policyRoom {
	t.Helper()
	ctx := ctxT(t)
	v2, v2Logs := openWatchedClient(t, env.node.addr, "victor2", vWallet)
	res := env.libxmtp(t, "hp-victor-lib", "0x"+hex.EncodeToString(vWallet.PrivateKey()))
	if inboxOf(res) != v.InboxID() {
		t.Fatalf("libxmtp installation of victor has inbox %s, want %s", inboxOf(res), v.InboxID())
	}
	mal := r.mal
	dm, _, err := mal.c.FindOrCreateDM(ctx, v.InboxID())
	if err != nil {
		t.Fatalf("mallory's DM: %v", err)
	}
	gid := dm.ID().String()
	env.peer.Call(t, map[string]any{"op": "waitGroup", "client": "hp-victor-lib", "type": "dm", "group": gid, "count": 1, "timeoutMs": 30000})
	vic := r.honest[1]
	d := &policyRoom{p: env.peer, lib: "hp-victor-lib", gid: gid,
		honest: []*hostileMember{{name: "victor", c: v, g: joinOne(t, v), logs: vic.logs}, {name: "victor2", c: v2, g: joinOne(t, v2), logs: v2Logs}},
		mal:    &hostileMember{name: "mallory", c: mal.c, g: dm, logs: mal.logs}}
	d.exchange(t, "DM setup")
	return d
}

// dmCases are the commits mallory may not make in her DM with victor
// (xmtp-groups.md §3.2 DM policy set, §4 step 14), and a rename, which
// the DM policy set allows on the wire (only libxmtp's sender refuses it).
func dmCases(m, v, x *Client) []policyCase {
	const name = "renamed DM"
	return []policyCase{
		{name: "RenameApplied", build: setAttrs(AttrGroupName, name), check: func(t *testing.T, r *policyRoom) {
			if info := peerGroupInfo(t, r.p, r.lib, r.gid); info["name"] != name {
				t.Fatalf("libxmtp reads DM name %q", info["name"])
			}
		}},
		{name: "AddMember", rule: string(policy.RuleAddMember), build: addInboxCommit(m, x)},
		{name: "RemoveMember", rule: string(policy.RuleRemoveMember), build: removeInboxCommit(v.InboxID())},
		{name: "AddAdmin", rule: string(policy.RuleAddAdmin), build: editMutable(func(md *content.GroupMutableMetadataV1) {
			md.AdminList.InboxIds = appendInbox(md.AdminList.InboxIds, m.InboxID())
		})},
		{name: "AddSuperAdmin", rule: string(policy.RuleAddSuperAdmin), build: editMutable(func(md *content.GroupMutableMetadataV1) {
			md.SuperAdminList.InboxIds = appendInbox(md.SuperAdminList.InboxIds, m.InboxID())
		})},
		{name: "Permissions", rule: string(policy.RuleUpdatePermissions), build: editPermissions(func(ps *policy.PolicySet) {
			ps.AddMember = policy.NewMembershipPolicy(policy.Allow)
		})},
		{name: "CommitLogSigner", rule: string(policy.RuleMetadataFallback),
			build: setAttrs(AttrCommitLogSigner, strings.Repeat("cd", commitLogSignerKeySize))},
		{name: "AppDataOverLimit", rule: string(policy.RuleLengthLimit), build: setAttrs(AttrAppData, strings.Repeat("d", 8193))},
		{name: "MalformedMinVersion", rule: "invalid version", build: setAttrs(AttrMinVersion, "not-a-version")},
	}
}

// dmMinVersionPause: a DM member may set the minimum supported protocol
// version (the DM policy set allows every supported field). Set above
// 1.9.1, libxmtp's version and ours, it pauses the DM for every honest
// member (xmtp-groups.md §4 step 15, §4.1): libxmtp and the Go members
// stay in their epoch, paused for it, sync without error and without
// moving, and refuse to send with libxmtp's error. The hostile member's own
// commit fails her own check: it is not merged, and she is not paused. A
// Go member upgraded to the floor lifts the pause at its next sync,
// applies the commit and sends again; the others stay paused.
func dmMinVersionPause(t *testing.T, d *policyRoom) {
	const floor = "99.0.0"
	before := d.epoch(t)
	err := d.mal.c.withGroup(ctxT(t), d.mal.g.id, func(ctx context.Context, st *groupState) error {
		opts, err := setAttrs(AttrMinVersion, floor)(ctx, st)
		if err != nil {
			return err
		}
		in, err := d.mal.c.stageContextCommit(ctx, st, &contextPlan{kind: IntentMetadataUpdate, exts: opts.GroupContextExtensions})
		if err != nil {
			return err
		}
		_, err = d.mal.c.publishCommit(ctx, st, in)
		return err
	})
	if !errors.Is(err, ErrCommitConflict) {
		t.Fatalf("mallory's own commit: %v, want it refused by her own check (ErrCommitConflict)", err)
	}
	if got := d.mal.epoch(t); got != before {
		t.Fatalf("mallory in epoch %d, want %d", got, before)
	}
	if v, err := d.mal.g.PausedForVersion(ctxT(t)); err != nil || v != "" {
		t.Fatalf("mallory paused for %q (%v), want not paused", v, err)
	}
	for _, mb := range d.honest {
		mb.expectPaused(t, floor, before)
	}
	expectLibPaused(t, d, floor, before)

	up := d.honest[1]
	up.c.setVersion(floor)
	n := up.logs.len()
	if err := up.g.Sync(ctxT(t)); err != nil {
		t.Fatalf("%s: sync after the upgrade: %v", up.name, err)
	}
	gi, err := up.g.Info(ctxT(t))
	if err != nil || gi.PausedForVersion != "" || gi.Epoch != before+1 || gi.MinimumSupportedProtocolVersion() != floor {
		t.Fatalf("%s upgraded: %+v (%v); want unpaused in epoch %d with floor %s", up.name, gi, err, before+1, floor)
	}
	if !slices.ContainsFunc(up.logs.since(n), func(r string) bool { return strings.HasPrefix(r, "group pause lifted") }) {
		t.Fatalf("%s: no pause lifted in %q", up.name, up.logs.since(n))
	}
	if _, err := up.g.SendText(ctxT(t), "upgraded"); err != nil {
		t.Fatalf("%s: send after the upgrade: %v", up.name, err)
	}
	d.honest[0].expectPaused(t, floor, before)
	expectLibPaused(t, d, floor, before)
}
