package client

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"mlsbridge/identity"
	"mlsbridge/internal/interoptest"
	"mlsbridge/storage"
	"mlsbridge/wire/mlsapi"
)

// The crash tests kill a real client process at every crash point
// (crashpoint.go) and check that the reopened client loses nothing,
// repeats nothing and stays in step with the group.
//
// TestCrash runs one node (127.0.0.1, SQLite) and one libxmtp peer for
// every case. Per case the parent builds the group with a Go client A (the
// one that crashes) and its peers, closes A, and re-executes the test
// binary as TestCrashChild: that child reopens A's database, runs one
// operation (send, add a member, sync, join, open a DM) and, at the n-th
// time it reaches the chosen point, ends the process with os.Exit(3): no
// deferred call, no Close, the SQLite file as a killed process leaves it.
// A "twice" case then crashes a second child in its PublishPending. The
// parent then reopens the same database, does what a restarted application
// does (PublishPending, retrying the operation that never returned, Sync),
// and checks: every message once for every member, the node holding each
// of our messages and commits once, no intent left, each commit recorded
// once, equal epochs, and then every member sends one message that every
// other member reads. A libxmtp member takes part in the send cases (it
// receives) and the add-libxmtp cases (it is added); the others are Go
// only, to keep the run near a minute.

const (
	crashChildEnv = "MLSBRIDGE_CRASH_CHILD"
	crashExitCode = 3
)

// crashSpec is what the parent tells the child (JSON in crashChildEnv).
type crashSpec struct {
	Scenario string `json:"scenario"`
	Point    string `json:"point"`
	Hit      int    `json:"hit"`
	Addr     string `json:"addr"`
	DB       string `json:"db"`
	Group    string `json:"group"`
	Add      string `json:"add,omitempty"`
}

// crashOps are the operations a child runs on the reopened client A.
var crashOps = map[string]func(ctx context.Context, c *Client, spec crashSpec) error{
	// send: two messages, each with Send (queue, publish, sync).
	"send": func(ctx context.Context, c *Client, spec crashSpec) error {
		g, err := crashGroupOf(ctx, c, spec)
		if err != nil {
			return err
		}
		for i := 1; i <= 2; i++ {
			if _, err := g.Send(ctx, EncodeText(fmt.Sprintf("m%d", i)), &SendOptions{IdempotencyKey: fmt.Sprintf("k%d", i)}); err != nil {
				return err
			}
		}
		return nil
	},
	// add: one membership commit adding spec.Add.
	"add": func(ctx context.Context, c *Client, spec crashSpec) error {
		g, err := crashGroupOf(ctx, c, spec)
		if err != nil {
			return err
		}
		_, err = g.AddMembers(ctx, []identity.InboxID{identity.InboxID(spec.Add)})
		return err
	},
	// sync: receive what the other members sent.
	"sync": func(ctx context.Context, c *Client, spec crashSpec) error {
		g, err := crashGroupOf(ctx, c, spec)
		if err != nil {
			return err
		}
		return g.Sync(ctx)
	},
	// dm: open a DM with spec.Add and send dm1 in it.
	"dm": func(ctx context.Context, c *Client, spec crashSpec) error {
		g, _, err := c.FindOrCreateDM(ctx, identity.InboxID(spec.Add))
		if err != nil {
			return err
		}
		_, err = g.Send(ctx, EncodeText("dm1"), &SendOptions{IdempotencyKey: "dm1"})
		return err
	},
	// pending: what a restarted client does first.
	"pending": func(ctx context.Context, c *Client, _ crashSpec) error {
		return c.PublishPending(ctx)
	},
	// join: process a welcome (and rotate the key package after it).
	"join": func(ctx context.Context, c *Client, _ crashSpec) error {
		_, err := c.SyncWelcomes(ctx)
		return err
	},
}

func crashGroupOf(ctx context.Context, c *Client, spec crashSpec) (*Group, error) {
	id, err := hex.DecodeString(spec.Group)
	if err != nil {
		return nil, err
	}
	return c.Group(ctx, id)
}

// TestCrashChild is the crashing process of TestCrash; run directly it
// skips.
func TestCrashChild(t *testing.T) {
	raw := os.Getenv(crashChildEnv)
	if raw == "" {
		t.Skip("runs only as the child process of TestCrash")
	}
	var spec crashSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatalf("crash spec: %v", err)
	}
	op, ok := crashOps[spec.Scenario]
	if !ok {
		t.Fatalf("unknown crash scenario %q", spec.Scenario)
	}
	var hits atomic.Int32
	crashHook = func(point string) {
		if point == spec.Point && int(hits.Add(1)) == spec.Hit {
			fmt.Printf("CRASH at %s#%d\n", point, spec.Hit)
			os.Exit(crashExitCode)
		}
	}
	t.Cleanup(func() { crashHook = nil })
	ctx := ctxT(t)
	c, err := New(ctx, nil, Options{NodeAddress: spec.Addr, DBPath: spec.DB, Logger: crashLogger(t, "crashing")})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer c.Close()
	if err := op(ctx, c, spec); err != nil {
		t.Fatalf("%s: %v", spec.Scenario, err)
	}
	t.Logf("%s ended without reaching %s#%d (reached it %d times)", spec.Scenario, spec.Point, spec.Hit, hits.Load())
}

// crashLogger logs warnings and errors only: the crash cases are many.
func crashLogger(t *testing.T, component string) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelWarn})).With("component", component)
}

// crashScenario is one operation interrupted at several points.
type crashScenario struct {
	// op names the child's operation in crashOps.
	op string
	// libxmtp puts a libxmtp member in the group from the start.
	libxmtp bool
	// prepare runs before the child: what its operation finds.
	prepare func(t *testing.T, r *crashRun)
	// recover is what the restarted application does with A reopened.
	recover func(t *testing.T, r *crashRun)
	// check runs after the generic checks, before the final exchange.
	check func(t *testing.T, r *crashRun)
}

// crashCase crashes a scenario's operation at the first point; each
// further point crashes the restarted client's PublishPending.
type crashCase struct {
	name    string
	sc      *crashScenario
	crashes []crashAt
}

// crashAt is the hit-th time a process reaches point.
type crashAt struct {
	point string
	hit   int
}

// parseCrashes reads "point[#hit]" joined by "+".
func parseCrashes(s string) []crashAt {
	var out []crashAt
	for _, p := range strings.Split(s, "+") {
		at := crashAt{point: p, hit: 1}
		if i := strings.IndexByte(p, '#'); i >= 0 {
			at.point = p[:i]
			if _, err := fmt.Sscan(p[i+1:], &at.hit); err != nil {
				panic(fmt.Sprintf("crash case %q: %v", s, err))
			}
		}
		out = append(out, at)
	}
	return out
}

func crashCases() []crashCase {
	send := &crashScenario{op: "send", libxmtp: true, prepare: prepareSend, recover: recoverSend, check: checkSend}
	addGo := &crashScenario{op: "add", prepare: prepareAdd(false, false), recover: recoverAdd, check: checkAdd}
	addLibxmtp := &crashScenario{op: "add", prepare: prepareAdd(true, false), recover: recoverAdd, check: checkAdd}
	addRace := &crashScenario{op: "add", prepare: prepareAdd(false, true), recover: recoverAdd, check: checkAdd}
	recv := &crashScenario{op: "sync", prepare: prepareRecv, recover: recoverSync, check: checkRecv}
	pages := &crashScenario{op: "sync", prepare: preparePages, recover: recoverSync}
	join := &crashScenario{op: "join", prepare: prepareJoin, recover: recoverJoin}
	dm := &crashScenario{op: "dm", prepare: prepareDM, recover: recoverDM}
	var out []crashCase
	add := func(prefix string, sc *crashScenario, points ...string) {
		for _, p := range points {
			out = append(out, crashCase{name: prefix + "/" + p, sc: sc, crashes: parseCrashes(p)})
		}
	}
	// Sending (with a libxmtp member receiving): before and after the
	// message and its intent are stored, the payload is built, the node
	// accepts it, the intent is marked, and its echo is confirmed; the
	// second message after the first went out.
	add("send", send, "send.before_enqueue", "send.after_enqueue", "send.build.before_save", "send.before_publish",
		"send.after_publish", "send.after_mark_published", "sync.message_processed", "sync.before_save",
		"send.after_enqueue#2", "send.before_publish#2", "send.after_publish#2")
	// A membership commit adding a Go installation: staging, publishing,
	// marking, the echo merged in memory, stored, and the welcomes.
	add("add", addGo, "commit.before_stage_save", "commit.before_publish", "commit.after_publish",
		"commit.after_mark_published", "sync.message_processed", "sync.before_save", "sync.after_save",
		"commit.welcomes.before_send", "commit.welcomes.after_send")
	// The same adding a libxmtp installation (its welcome handling,
	// duplicates included).
	add("add-libxmtp", addLibxmtp, "commit.after_publish", "sync.after_save", "commit.welcomes.after_send")
	// Another member commits while A is down with its commit staged (or
	// published): A's commit loses the epoch or wins it.
	add("add-race", addRace, "commit.before_publish", "commit.after_publish")
	// Receiving a commit and two messages in one page: mid-page in
	// memory, before and after the page's transaction.
	add("recv", recv, "sync.message_processed", "sync.message_processed#2", "sync.before_save", "sync.after_save")
	// Two pages: after the first page is stored, and mid second page.
	add("pages", pages, "sync.after_save", "sync.message_processed#103")
	// Joining by welcome and rotating the key package after it.
	add("join", join, "welcome.before_store", "welcome.after_store", "welcome.before_rotate",
		"keypackage.after_store", "keypackage.after_upload")
	// Opening a DM with B and sending in it: after the DM is stored,
	// before and after its commit adding B is stored, and after the
	// message went out.
	add("dm", dm, "dm.after_create", "commit.before_stage_save", "commit.before_publish", "send.after_publish")
	// Crashing again while the restarted client publishes what is
	// pending: republishing a commit, merging it, sending its welcomes,
	// confirming a message.
	add("twice", addGo, "commit.before_publish+commit.after_publish", "commit.after_publish+commit.welcomes.after_send")
	add("twice", send, "send.after_publish#2+sync.before_save")
	return out
}

// TestCrash kills a client at every crash point during send, commit, sync
// and join, and checks the group after the restart (see the file comment).
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash tests (a process per case, libxmtp) skipped in -short mode")
	}
	env := &interopEnv{node: startTestNode(t)}
	env.peer = interoptest.StartPeer(t, interoptest.Dir(t))
	for i, tc := range crashCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := newCrashRun(t, env, fmt.Sprintf("cr%02d", i), tc.sc.libxmtp)
			tc.sc.prepare(t, r)
			r.crash(t, tc)
			tc.sc.recover(t, r)
			r.checkSettled(t)
			if tc.sc.check != nil {
				tc.sc.check(t, r)
			}
			for _, g := range r.groups {
				r.exchange(t, g)
			}
		})
	}
}

// TestCrashPointsCovered: every crash point in the client's code is
// crashed at by some TestCrash case, and every case names a real point.
func TestCrashPointsCovered(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`crashPoint\("([^"]+)"\)`)
	inCode := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			inCode[m[1]] = true
		}
	}
	tested := map[string]bool{}
	for _, tc := range crashCases() {
		for _, at := range tc.crashes {
			tested[at.point] = true
			if !inCode[at.point] {
				t.Errorf("case %s: no crash point %q in the code", tc.name, at.point)
			}
		}
	}
	for p := range inCode {
		if !tested[p] {
			t.Errorf("crash point %q is not tested", p)
		}
	}
	if len(inCode) < 20 {
		t.Errorf("%d crash points, want at least 20", len(inCode))
	}
}

// crashRun is one case's world: A (crashing), its peers and groups.
type crashRun struct {
	env   *interopEnv
	tag   string
	aPath string
	a     *Client
	b     *Client
	// main is the group A created with B (and a libxmtp member).
	main   *crashGroup
	groups []*crashGroup
	// add is the inbox the add scenarios add.
	add identity.InboxID
	// addMember is the member that add joins once it is in.
	addMember *crashMember
	// race is the Go client B adds while A is down (add-race).
	race *Client
}

// crashGroup is a group of a case, with what each member must read.
type crashGroup struct {
	id      GroupID
	members []*crashMember
	// wire is how many messages the node must hold for the group before
	// the final exchange (0: not checked).
	wire int
}

// crashMember is one member of a crashGroup: a Go client or a libxmtp
// client of the shared peer.
type crashMember struct {
	name string
	c    *Client
	g    *Group
	peer string
	// want are the texts of the application messages it must hold, each
	// exactly once.
	want []string
}

func (g *crashGroup) member(name string) *crashMember {
	for _, m := range g.members {
		if m.name == name {
			return m
		}
	}
	return nil
}

// expect adds texts to every member's expectations.
func (g *crashGroup) expect(texts ...string) {
	for _, m := range g.members {
		m.want = append(m.want, texts...)
	}
}

// newCrashRun registers A and B (and a libxmtp client), lets A create the
// main group with them in it and has them join.
func newCrashRun(t *testing.T, env *interopEnv, tag string, withLibxmtp bool) *crashRun {
	ctx := ctxT(t)
	r := &crashRun{env: env, tag: tag}
	r.a, _, r.aPath = newCrashClient(t, env, "a")
	r.b, _, _ = newCrashClient(t, env, "b")
	add := []identity.InboxID{r.b.InboxID()}
	var peerName string
	if withLibxmtp {
		peerName = tag + "-c"
		add = append(add, inboxOf(env.libxmtp(t, peerName, "")))
	}
	ga, res, err := r.a.CreateGroupWithMembers(ctx, &GroupOptions{Name: "crash " + tag}, add)
	if err != nil || len(res.Added) != len(add) {
		t.Fatalf("create group: %+v %v", res, err)
	}
	r.main = &crashGroup{id: ga.ID(), members: []*crashMember{{name: "a", c: r.a, g: ga}, {name: "b", c: r.b, g: joinOne(t, r.b)}}}
	if withLibxmtp {
		env.peer.Call(t, map[string]any{"op": "sync", "client": peerName})
		r.main.members = append(r.main.members, &crashMember{name: "c", peer: peerName})
	}
	r.groups = []*crashGroup{r.main}
	return r
}

// newCrashClient registers a Go client with its own database.
func newCrashClient(t *testing.T, env *interopEnv, name string) (*Client, *identity.EthereumSigner, string) {
	t.Helper()
	w, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name+".db3")
	c, err := New(ctxT(t), w, Options{NodeAddress: env.node.addr, DBPath: path, Logger: crashLogger(t, name)})
	if err != nil {
		t.Fatalf("%s: new client: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Register(ctxT(t)); err != nil {
		t.Fatalf("%s: register: %v", name, err)
	}
	return c, w, path
}

// crash closes A, runs the children on A's database until each dies at
// its point, and reopens A.
func (r *crashRun) crash(t *testing.T, tc crashCase) {
	t.Helper()
	if err := r.a.Close(); err != nil {
		t.Fatal(err)
	}
	for i, at := range tc.crashes {
		spec := crashSpec{Scenario: tc.sc.op, Point: at.point, Hit: at.hit, Addr: r.env.node.addr, DB: r.aPath,
			Group: r.main.id.String(), Add: string(r.add)}
		if i > 0 {
			spec.Scenario = "pending"
		}
		runCrashChild(t, spec)
	}
	a, err := New(ctxT(t), nil, Options{NodeAddress: r.env.node.addr, DBPath: r.aPath, Logger: crashLogger(t, "a-restarted")})
	if err != nil {
		t.Fatalf("reopen after the crash: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	r.a = a
	for _, g := range r.groups {
		if m := g.member("a"); m != nil {
			m.c, m.g = a, &Group{c: a, id: g.id}
		}
	}
}

// runCrashChild re-executes the test binary as TestCrashChild with spec
// and requires that it died at the point.
func runCrashChild(t *testing.T, spec crashSpec) {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+string(b))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != crashExitCode {
		t.Fatalf("child did not crash at %s#%d (%v); its output:\n%s", spec.Point, spec.Hit, err, out)
	}
	if strings.Contains(string(out), "DATA RACE") {
		t.Fatalf("child reported a data race:\n%s", out)
	}
}

// checkSettled: A has no intent left and no failed message, and the node
// holds each group's messages once.
func (r *crashRun) checkSettled(t *testing.T) {
	t.Helper()
	ctx := ctxT(t)
	left, err := r.a.db.Intents(ctx, nil, int16(IntentToPublish), int16(IntentPublished), int16(IntentCommitted), int16(IntentFailed))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range left {
		t.Errorf("A still has intent %d: kind %d state %d, last error %q", in.ID, in.Kind, in.State, in.LastError)
	}
	for _, g := range r.groups {
		if m := g.member("a"); m != nil {
			failed, err := m.g.FindMessages(ctx, &MessageQuery{DeliveryStatus: StatusFailed})
			if err != nil {
				t.Fatal(err)
			}
			if len(failed) != 0 {
				t.Errorf("A has failed messages: %v", texts(failed))
			}
			unpublished, err := m.g.FindMessages(ctx, &MessageQuery{DeliveryStatus: StatusUnpublished})
			if err != nil {
				t.Fatal(err)
			}
			if len(unpublished) != 0 {
				t.Errorf("A has unpublished messages: %v", texts(unpublished))
			}
		}
		if g.wire == 0 {
			continue
		}
		env := nodeGroupMessages(t, r.env.node.addr, g.id)
		seen := map[string]bool{}
		for _, e := range env {
			if seen[string(e)] {
				t.Errorf("the node holds one message twice")
			}
			seen[string(e)] = true
		}
		if len(env) != g.wire {
			t.Errorf("the node holds %d messages of the group, want %d (a message or commit published twice, or lost)", len(env), g.wire)
		}
	}
}

// exchange: every member sends one message, then every member holds each
// expected text exactly once and all are in the same epoch.
func (r *crashRun) exchange(t *testing.T, g *crashGroup) {
	t.Helper()
	ctx := ctxT(t)
	p := r.env.peer
	for _, m := range g.members {
		text := "after the crash from " + m.name
		if m.peer != "" {
			p.Call(t, map[string]any{"op": "send", "client": m.peer, "group": g.id.String(), "text": text})
		} else if _, err := m.g.SendText(ctx, text); err != nil {
			t.Fatalf("%s sends after the crash: %v", m.name, err)
		}
		g.expect(text)
	}
	epochs := map[string]string{}
	for _, m := range g.members {
		var got []string
		if m.peer != "" {
			for _, other := range g.members {
				if other != m {
					waitPeerText(t, p, m.peer, g.id.String(), "after the crash from "+other.name)
				}
			}
			for _, msg := range peerMessages(t, p, m.peer, g.id.String()) {
				s, _ := msg["text"].(string)
				got = append(got, s)
			}
			epochs[m.name] = fmt.Sprint(peerGroupInfo(t, p, m.peer, g.id.String())["epoch"])
		} else {
			if err := m.g.Sync(ctx); err != nil {
				t.Fatalf("%s syncs: %v", m.name, err)
			}
			got = appTexts(t, m.g)
			info, err := m.g.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			epochs[m.name] = fmt.Sprint(info.Epoch)
		}
		want := slices.Clone(m.want)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s holds %q, want each of %q once", m.name, got, want)
		}
	}
	for _, e := range epochs {
		if e != epochs["a"] {
			t.Errorf("epochs differ (forked group?): %v", epochs)
			break
		}
	}
}

// nodeGroupMessages returns the payloads the node holds for group id.
func nodeGroupMessages(t *testing.T, addr string, id GroupID) [][]byte {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	api := mlsapi.NewMlsApiClient(conn)
	var out [][]byte
	var cursor uint64
	for {
		resp, err := api.QueryGroupMessages(ctxT(t), &mlsapi.QueryGroupMessagesRequest{GroupId: id,
			PagingInfo: &mlsapi.PagingInfo{Direction: mlsapi.SortDirection_SORT_DIRECTION_ASCENDING, Limit: pageSize, IdCursor: cursor}})
		if err != nil {
			t.Fatalf("query group messages: %v", err)
		}
		for _, m := range resp.GetMessages() {
			out = append(out, m.GetV1().GetData())
			cursor = m.GetV1().GetId()
		}
		if len(resp.GetMessages()) < pageSize {
			return out
		}
	}
}

// addedRecords counts g's membership-change records that add inbox.
func addedRecords(t *testing.T, g *Group, inbox identity.InboxID) int {
	t.Helper()
	msgs, err := g.FindMessages(ctxT(t), &MessageQuery{Kind: KindMembershipChange})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		gu, err := m.GroupUpdated()
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range gu.GetAddedInboxes() {
			if in.GetInboxId() == string(inbox) {
				n++
			}
		}
	}
	return n
}

// --- send

func prepareSend(_ *testing.T, r *crashRun) {
	r.main.expect("m1", "m2")
	r.main.wire = 3 // the commit adding B and C, m1, m2
}

// recoverSend: the restarted application publishes what is pending and
// sends both messages again with their idempotency keys (it cannot know
// which Send calls completed).
func recoverSend(t *testing.T, r *crashRun) {
	ctx := ctxT(t)
	if err := r.a.PublishPending(ctx); err != nil {
		t.Fatalf("PublishPending: %v", err)
	}
	g := r.main.member("a").g
	for i := 1; i <= 2; i++ {
		if _, err := g.Send(ctx, EncodeText(fmt.Sprintf("m%d", i)), &SendOptions{IdempotencyKey: fmt.Sprintf("k%d", i)}); err != nil {
			t.Fatalf("send m%d again: %v", i, err)
		}
	}
}

func checkSend(t *testing.T, r *crashRun) {
	ctx := ctxT(t)
	for i := 1; i <= 2; i++ {
		enc, err := deterministic.Marshal(EncodeText(fmt.Sprintf("m%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		m, err := r.a.FindMessage(ctx, computeMessageID(r.main.id, fmt.Sprintf("k%d", i), enc))
		if err != nil {
			t.Fatalf("m%d: %v", i, err)
		}
		if m.DeliveryStatus != StatusPublished || m.Cursor == 0 {
			t.Errorf("m%d: status %v cursor %d, want published with a cursor", i, m.DeliveryStatus, m.Cursor)
		}
	}
}

// --- add

// prepareAdd registers the installation to add (libxmtp or Go). With
// race, a second Go client is registered too, which B adds while A is
// down.
func prepareAdd(libxmtp, race bool) func(t *testing.T, r *crashRun) {
	return func(t *testing.T, r *crashRun) {
		if libxmtp {
			name := r.tag + "-d"
			r.add = inboxOf(r.env.libxmtp(t, name, ""))
			r.addMember = &crashMember{name: "d", peer: name}
		} else {
			d, _, _ := newCrashClient(t, r.env, "d")
			r.add = d.InboxID()
			r.addMember = &crashMember{name: "d", c: d}
		}
		r.main.wire = 2 // the commits adding B and D
		if race {
			r.race, _, _ = newCrashClient(t, r.env, "e")
			r.main.wire = 3
		}
	}
}

// recoverAdd: (with race, B first adds E while A is down,) then the
// restarted application publishes what is pending and asks for the add
// again; D joins.
func recoverAdd(t *testing.T, r *crashRun) {
	ctx := ctxT(t)
	if r.race != nil {
		if _, err := r.main.member("b").g.AddMembers(ctx, []identity.InboxID{r.race.InboxID()}); err != nil {
			t.Fatalf("B adds E: %v", err)
		}
		r.main.members = append(r.main.members, &crashMember{name: "e", c: r.race, g: joinOne(t, r.race)})
	}
	if err := r.a.PublishPending(ctx); err != nil {
		t.Fatalf("PublishPending: %v", err)
	}
	if _, err := r.main.member("a").g.AddMembers(ctx, []identity.InboxID{r.add}); err != nil {
		t.Fatalf("add again: %v", err)
	}
	d := r.addMember
	if d.peer != "" {
		res := r.env.peer.Call(t, map[string]any{"op": "listGroups", "client": d.peer, "sync": true})
		n := 0
		for _, g := range res["groups"].([]any) {
			if g.(map[string]any)["group"] == r.main.id.String() {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("libxmtp D lists the group %d times: %v", n, res["groups"])
		}
	} else {
		joined, err := d.c.SyncWelcomes(ctx)
		if err != nil || len(joined) != 1 || joined[0].ID().String() != r.main.id.String() {
			t.Fatalf("D joined %v (%v), want the group once", joined, err)
		}
		d.g = joined[0]
		if again, err := d.c.SyncWelcomes(ctx); err != nil || len(again) != 0 {
			t.Fatalf("D joins again: %v %v", again, err)
		}
	}
	r.main.members = append(r.main.members, d)
}

// checkAdd: A and B recorded the commit adding D once.
func checkAdd(t *testing.T, r *crashRun) {
	if err := r.main.member("b").g.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		if n := addedRecords(t, r.main.member(name).g, r.add); n != 1 {
			t.Errorf("%s recorded D added %d times", name, n)
		}
	}
}

// --- receive

// prepareRecv: B adds E (a commit), then sends r1 and r2 in the new
// epoch; A has not seen any of it.
func prepareRecv(t *testing.T, r *crashRun) {
	ctx := ctxT(t)
	e, _, _ := newCrashClient(t, r.env, "e")
	gb := r.main.member("b").g
	if _, err := gb.AddMembers(ctx, []identity.InboxID{e.InboxID()}); err != nil {
		t.Fatal(err)
	}
	r.add = e.InboxID()
	r.main.members = append(r.main.members, &crashMember{name: "e", c: e, g: joinOne(t, e)})
	for i := 1; i <= 2; i++ {
		if _, err := gb.Send(ctx, EncodeText(fmt.Sprintf("r%d", i)), &SendOptions{IdempotencyKey: fmt.Sprintf("r%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	r.main.expect("r1", "r2")
}

func recoverSync(t *testing.T, r *crashRun) {
	if err := r.main.member("a").g.Sync(ctxT(t)); err != nil {
		t.Fatalf("sync after the crash: %v", err)
	}
}

// checkRecv: A applied B's commit once.
func checkRecv(t *testing.T, r *crashRun) {
	if n := addedRecords(t, r.main.member("a").g, r.add); n != 1 {
		t.Errorf("A recorded E added %d times", n)
	}
}

// preparePages: B sends 105 messages (two pages for A).
func preparePages(t *testing.T, r *crashRun) {
	ctx := ctxT(t)
	gb := r.main.member("b").g
	var want []string
	for i := 1; i <= pageSize+5; i++ {
		text := fmt.Sprintf("p%03d", i)
		if _, err := gb.SendMessageOptimistic(ctx, EncodeText(text), &SendOptions{IdempotencyKey: text}); err != nil {
			t.Fatal(err)
		}
		want = append(want, text)
	}
	if err := gb.PublishMessages(ctx); err != nil {
		t.Fatal(err)
	}
	r.main.expect(want...)
}

// --- join

// prepareJoin: B creates a second group with A in it.
func prepareJoin(t *testing.T, r *crashRun) {
	g2, _, err := r.b.CreateGroupWithMembers(ctxT(t), nil, []identity.InboxID{r.a.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	r.groups = append(r.groups, &crashGroup{id: g2.ID(), members: []*crashMember{{name: "b", c: r.b, g: g2}}})
}

// recoverJoin: A syncs its welcomes and holds the second group once, with
// one "added" record; then B adds A to a third group (to the key package
// the node hands out now), and A joins it.
func recoverJoin(t *testing.T, r *crashRun) {
	ctx := ctxT(t)
	if _, err := r.a.SyncWelcomes(ctx); err != nil {
		t.Fatalf("SyncWelcomes after the crash: %v", err)
	}
	g2 := r.groups[1]
	ga2, err := r.a.Group(ctx, g2.id)
	if err != nil {
		t.Fatalf("A lost the group it was joining: %v", err)
	}
	if n := addedRecords(t, ga2, r.a.InboxID()); n != 1 {
		t.Errorf("A recorded its own join %d times", n)
	}
	g2.members = append(g2.members, &crashMember{name: "a", c: r.a, g: ga2})
	g3, _, err := r.b.CreateGroupWithMembers(ctx, nil, []identity.InboxID{r.a.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	joined, err := r.a.SyncWelcomes(ctx)
	if err != nil || len(joined) != 1 || joined[0].ID().String() != g3.ID().String() {
		t.Fatalf("A joins a third group: %v %v", joined, err)
	}
	r.groups = append(r.groups, &crashGroup{id: g3.ID(), members: []*crashMember{{name: "b", c: r.b, g: g3}, {name: "a", c: r.a, g: joined[0]}}})
}

// --- DM

func prepareDM(_ *testing.T, r *crashRun) { r.add = r.b.InboxID() }

// recoverDM: the restarted application opens the DM with B again and
// sends dm1 again; B joins the DM (one) and A has one DM with B.
func recoverDM(t *testing.T, r *crashRun) {
	ctx := ctxT(t)
	g, _, err := r.a.FindOrCreateDM(ctx, r.b.InboxID())
	if err != nil {
		t.Fatalf("FindOrCreateDM after the crash: %v", err)
	}
	if _, err := g.Send(ctx, EncodeText("dm1"), &SendOptions{IdempotencyKey: "dm1"}); err != nil {
		t.Fatalf("send dm1 again: %v", err)
	}
	dms, err := r.a.db.FindGroups(ctx, storage.GroupQuery{DmID: string(ComputeDMID(r.a.InboxID(), r.b.InboxID()))})
	if err != nil {
		t.Fatal(err)
	}
	if len(dms) != 1 {
		t.Errorf("A has %d DMs with B, want 1", len(dms))
	}
	joined, err := r.b.SyncWelcomes(ctx)
	if err != nil || len(joined) != 1 || joined[0].ID().String() != g.ID().String() {
		t.Fatalf("B joins the DM %s: %v %v", g.ID(), joined, err)
	}
	dg := &crashGroup{id: g.ID(), members: []*crashMember{{name: "a", c: r.a, g: g}, {name: "b", c: r.b, g: joined[0]}}, wire: 2}
	dg.expect("dm1")
	r.groups = append(r.groups, dg)
}
