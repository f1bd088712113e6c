package client

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mlsbridge/identity"
	"mlsbridge/internal/interoptest"
	"mlsbridge/node"
)

// Benchmarks of our client next to libxmtp 1.9.1 (through the
// libxmtp-peer.mjs process) doing the same operation against the same
// node in the same run. Results and method: docs/benchmarks.md, "Client
// vs libxmtp".
//
// Each operation is timed for both clients in every iteration. The Go
// client's time is the benchmark's own (ns/op, B/op, allocs/op: the timer
// runs only around the Go client's call). libxmtp's time is the sum of
// the peer's "ms" fields: libxmtp-peer.mjs measures each op around the
// awaited node-bindings call, so it excludes the JSON pipe between the
// two processes; the wall time of the same calls minus the measured
// round trip of a no-op command is reported beside it as a cross-check.
// The node runs in a helper process (this test binary re-executed), so
// the allocations counted are the Go client's alone and neither client
// shares a process with the node.

// benchNodeEnv makes TestBenchNodeHelper serve a node over this database.
const benchNodeEnv = "MLSBRIDGE_BENCH_NODE_DB"

// TestBenchNodeHelper is the node process of the interop benchmarks: run
// with $MLSBRIDGE_BENCH_NODE_DB set, it serves a node on 127.0.0.1:0,
// prints "node-addr ADDR" and stops once its stdin closes. Otherwise it
// skips.
func TestBenchNodeHelper(t *testing.T) {
	db := os.Getenv(benchNodeEnv)
	if db == "" {
		t.Skip("the interop benchmarks' node process; runs only when they start it")
	}
	n, err := node.Start(context.Background(), node.Options{Listen: "127.0.0.1:0", Database: db})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("node-addr %s\n", n.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// startNodeProcess runs TestBenchNodeHelper in a child process and returns
// the node's address; it stops at cleanup.
func startNodeProcess(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchNodeHelper$")
	cmd.Env = append(os.Environ(), benchNodeEnv+"="+filepath.Join(b.TempDir(), "node.db"))
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = in.Close()
		done := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, out); _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "node-addr "); ok {
				addr <- a
				return
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			b.Fatal("the node process ended without an address")
		}
		return a
	case <-time.After(60 * time.Second):
		b.Fatal("the node process printed no address within 60s")
	}
	return ""
}

// benchEnv is what the interop benchmarks share: the node process, one
// libxmtp process, the measured round trip of a no-op peer command, and a
// pool of registered Go installations to use as members.
type benchEnv struct {
	ctx  context.Context
	addr string
	dir  string
	peer *interoptest.Peer
	ipc  time.Duration
	pool []identity.InboxID
	seq  int

	mu   sync.Mutex
	open []*Client // closed with the env
}

func startBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	b.Cleanup(cancel)
	e := &benchEnv{ctx: ctx, dir: b.TempDir()}
	e.addr = startNodeProcess(b)
	b.Cleanup(func() {
		for _, c := range e.open {
			_ = c.Close()
		}
	})
	e.peer = interoptest.StartPeer(b, interoptest.Dir(b))
	e.libxmtp(b, "bench-ipc")
	var rt []time.Duration
	for range 21 {
		_, inPeer, wall := e.call(b, map[string]any{"op": "inboxId", "client": "bench-ipc"})
		rt = append(rt, wall-inPeer)
	}
	slices.Sort(rt)
	e.ipc = rt[len(rt)/2]
	return e
}

// goClient opens and registers a Go installation with a fresh wallet.
func (e *benchEnv) goClient(name string) (*Client, error) {
	w, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		return nil, err
	}
	c, err := New(e.ctx, w, Options{NodeAddress: e.addr, DBPath: filepath.Join(e.dir, name+".db3")})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.open = append(e.open, c)
	e.mu.Unlock()
	if err := c.Register(e.ctx); err != nil {
		return nil, fmt.Errorf("%s: register: %w", name, err)
	}
	return c, nil
}

// mustGoClient is goClient failing tb.
func (e *benchEnv) mustGoClient(tb testing.TB, name string) *Client {
	tb.Helper()
	c, err := e.goClient(name)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// members returns n registered inboxes not used as members before,
// registering Go installations four at a time (then closing them: members
// need only their identity and key package on the node).
func (e *benchEnv) members(tb testing.TB, n int) []identity.InboxID {
	tb.Helper()
	for len(e.pool) < e.seq+n {
		need := e.seq + n - len(e.pool)
		ids := make([]identity.InboxID, need)
		errs := make([]error, need)
		sem := make(chan struct{}, 4)
		var wg sync.WaitGroup
		for i := range need {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				w, err := identity.GenerateEthereumSigner(nil)
				if err != nil {
					errs[i] = err
					return
				}
				c, err := New(e.ctx, w, Options{NodeAddress: e.addr, DBPath: filepath.Join(e.dir, fmt.Sprintf("m%d.db3", len(e.pool)+i))})
				if err != nil {
					errs[i] = err
					return
				}
				defer func() { _ = c.Close() }()
				errs[i] = c.Register(e.ctx)
				ids[i] = c.InboxID()
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				tb.Fatalf("register members: %v", err)
			}
		}
		e.pool = append(e.pool, ids...)
	}
	out := e.pool[e.seq : e.seq+n]
	e.seq += n
	return slices.Clone(out)
}

// libxmtp creates and registers a libxmtp client named name and returns
// its inbox.
func (e *benchEnv) libxmtp(tb testing.TB, name string) identity.InboxID {
	tb.Helper()
	res := e.peer.Call(tb, map[string]any{"op": "create", "client": name, "db": filepath.Join(e.dir, name+".db3"), "host": "http://" + e.addr, "register": true})
	return inboxOf(res)
}

// call runs one peer command and returns its result, the op's duration
// as the peer measured it ("ms") and the wall time of the whole call.
func (e *benchEnv) call(tb testing.TB, cmd map[string]any) (map[string]any, time.Duration, time.Duration) {
	tb.Helper()
	t0 := time.Now()
	res := e.peer.Call(tb, cmd)
	wall := time.Since(t0)
	ms, ok := res["ms"].(float64)
	if !ok {
		tb.Fatalf("peer %v: no ms in %v", cmd["op"], res)
	}
	return res, time.Duration(ms * float64(time.Millisecond)), wall
}

// versus accumulates both clients' times over a benchmark's iterations.
type versus struct {
	env         *benchEnv
	goT         time.Duration
	lxT, lxWall time.Duration
	lxCalls     int
	goStart     time.Time
}

// goBegin starts the timer and the Go clock.
func (v *versus) goBegin(b *testing.B) {
	b.StartTimer()
	v.goStart = time.Now()
}

// goEnd stops both.
func (v *versus) goEnd(b *testing.B) {
	v.goT += time.Since(v.goStart)
	b.StopTimer()
}

// lx runs a timed libxmtp op (with the benchmark timer stopped).
func (v *versus) lx(b *testing.B, cmd map[string]any) map[string]any {
	b.Helper()
	res, inPeer, wall := v.env.call(b, cmd)
	v.lxT += inPeer
	v.lxWall += wall
	v.lxCalls++
	return res
}

// report adds libxmtp's time per op (as the peer measured it, and as wall
// time minus the no-op round trip) and the ratio Go / libxmtp.
func (v *versus) report(b *testing.B) {
	n := float64(b.N)
	b.ReportMetric(float64(v.lxT.Nanoseconds())/n, "libxmtp-ns/op")
	b.ReportMetric(float64((v.lxWall-time.Duration(v.lxCalls)*v.env.ipc).Nanoseconds())/n, "libxmtp-wall-ipc-ns/op")
	if v.lxT > 0 {
		b.ReportMetric(float64(v.goT)/float64(v.lxT), "go/libxmtp")
	}
}

// The sizes of issue 4: a group of 50 created, one member added to a
// group of 100, 100 messages sent and synced. Setup (registering ~150 Go
// members) takes a few seconds, so CI's single run uses them too.
const (
	benchCreateSize = 50
	benchAddToSize  = 100
	benchMessages   = 100
)

// BenchmarkInterop times our client and libxmtp side by side: creating a
// group, adding one member to a big group, sending and syncing messages.
func BenchmarkInterop(b *testing.B) {
	e := startBenchEnv(b)
	b.Logf("node %s, no-op peer round trip %v", e.addr, e.ipc)
	b.Run(fmt.Sprintf("CreateGroup/members=%d", benchCreateSize), benchCreateGroup(e, benchCreateSize))
	b.Run(fmt.Sprintf("AddMember/members=%d", benchAddToSize), benchAddMember(e, benchAddToSize))
	b.Run(fmt.Sprintf("Send/messages=%d", benchMessages), benchSend(e, benchMessages))
	b.Run(fmt.Sprintf("Sync/messages=%d", benchMessages), benchSync(e, benchMessages))
}

// once returns a function running setup on its first call only (a
// sub-benchmark's function runs again for each b.N; what setup opens
// belongs to the parent benchmark's env).
func once[T any](setup func(*testing.B) T) func(*testing.B) T {
	var v T
	done := false
	return func(b *testing.B) T {
		if !done {
			v, done = setup(b), true
		}
		return v
	}
}

func inboxStrings(ids []identity.InboxID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

type createSetup struct {
	goc      *Client
	lxName   string
	goM, lxM []identity.InboxID // the members each creator adds
	groups   int
}

// benchCreateGroup: a Go client and a libxmtp client each create a group
// of n with the same n-2 Go members, plus each other.
func benchCreateGroup(e *benchEnv, n int) func(*testing.B) {
	setup := once(func(b *testing.B) *createSetup {
		s := &createSetup{goc: e.mustGoClient(b, "cg-go"), lxName: "cg-lx"}
		lx := e.libxmtp(b, s.lxName)
		common := e.members(b, n-2)
		s.goM = append([]identity.InboxID{lx}, common...)
		s.lxM = append([]identity.InboxID{s.goc.InboxID()}, common...)
		return s
	})
	return func(b *testing.B) {
		s := setup(b)
		v := &versus{env: e}
		b.ReportAllocs()
		b.StopTimer()
		b.ResetTimer()
		for range b.N {
			s.groups++
			name := fmt.Sprintf("bench %d", s.groups)
			v.goBegin(b)
			_, res, err := s.goc.CreateGroupWithMembers(e.ctx, &GroupOptions{Name: name}, s.goM)
			v.goEnd(b)
			if err != nil || len(res.Added) != n-1 {
				b.Fatalf("go creates a group of %d: %+v %v", n, res, err)
			}
			v.lx(b, map[string]any{"op": "newGroup", "client": s.lxName, "members": inboxStrings(s.lxM), "name": name})
		}
		v.report(b)
	}
}

type addSetup struct {
	goG    *Group
	lxName string
	lxG    string
	extra  []identity.InboxID
}

// benchAddMember: each client adds one member to a group of n it created
// (and removes it again, untimed).
func benchAddMember(e *benchEnv, n int) func(*testing.B) {
	setup := once(func(b *testing.B) *addSetup {
		goc := e.mustGoClient(b, "am-go")
		s := &addSetup{lxName: "am-lx"}
		lx := e.libxmtp(b, s.lxName)
		common := e.members(b, n-2)
		s.extra = e.members(b, 1)
		g, res, err := goc.CreateGroupWithMembers(e.ctx, &GroupOptions{Name: "add"}, append([]identity.InboxID{lx}, common...))
		if err != nil || len(res.Added) != n-1 {
			b.Fatalf("go creates a group of %d: %+v %v", n, res, err)
		}
		s.goG = g
		s.lxG = e.peer.Call(b, map[string]any{"op": "newGroup", "client": s.lxName, "name": "add",
			"members": inboxStrings(append([]identity.InboxID{goc.InboxID()}, common...))})["group"].(string)
		return s
	})
	return func(b *testing.B) {
		s := setup(b)
		v := &versus{env: e}
		b.ReportAllocs()
		b.StopTimer()
		b.ResetTimer()
		for range b.N {
			v.goBegin(b)
			res, err := s.goG.AddMembers(e.ctx, s.extra)
			v.goEnd(b)
			if err != nil || len(res.Added) != 1 {
				b.Fatalf("go adds one member: %+v %v", res, err)
			}
			if _, err := s.goG.RemoveMembers(e.ctx, s.extra); err != nil {
				b.Fatal(err)
			}
			v.lx(b, map[string]any{"op": "addMembers", "client": s.lxName, "group": s.lxG, "members": inboxStrings(s.extra)})
			e.peer.Call(b, map[string]any{"op": "removeMembers", "client": s.lxName, "group": s.lxG, "members": inboxStrings(s.extra)})
		}
		v.report(b)
	}
}

type msgSetup struct {
	g      *Group // the Go member's
	sender *Group // benchSync's third member's
	lxName string
	gid    string
	rounds int
}

// benchSend: in a group of the two, the Go client sends n messages, then
// the libxmtp client does; each first syncs (untimed) what the other sent.
func benchSend(e *benchEnv, n int) func(*testing.B) {
	setup := once(func(b *testing.B) *msgSetup {
		s := &msgSetup{lxName: "sd-lx"}
		lx := e.libxmtp(b, s.lxName)
		g, res, err := e.mustGoClient(b, "sd-go").CreateGroupWithMembers(e.ctx, &GroupOptions{Name: "send"}, []identity.InboxID{lx})
		if err != nil || len(res.Added) != 1 {
			b.Fatalf("create: %+v %v", res, err)
		}
		s.g, s.gid = g, g.ID().String()
		e.peer.Call(b, map[string]any{"op": "waitGroup", "client": s.lxName, "group": s.gid, "timeoutMs": 30000})
		return s
	})
	return func(b *testing.B) {
		s := setup(b)
		v := &versus{env: e}
		b.ReportAllocs()
		b.StopTimer()
		b.ResetTimer()
		for range b.N {
			if err := s.g.Sync(e.ctx); err != nil {
				b.Fatal(err)
			}
			v.goBegin(b)
			for j := range n {
				if _, err := s.g.SendText(e.ctx, fmt.Sprintf("go %d.%d", s.rounds, j)); err != nil {
					b.Fatal(err)
				}
			}
			v.goEnd(b)
			e.peer.Call(b, map[string]any{"op": "syncGroup", "client": s.lxName, "group": s.gid})
			for j := range n {
				v.lx(b, map[string]any{"op": "send", "client": s.lxName, "group": s.gid, "text": fmt.Sprintf("lx %d.%d", s.rounds, j)})
			}
			s.rounds++
		}
		v.report(b)
	}
}

// benchSync: a third member (Go) sends n messages (untimed); then the Go
// member and the libxmtp member each sync the group.
func benchSync(e *benchEnv, n int) func(*testing.B) {
	setup := once(func(b *testing.B) *msgSetup {
		s := &msgSetup{lxName: "sy-lx"}
		lx := e.libxmtp(b, s.lxName)
		goc := e.mustGoClient(b, "sy-go")
		sender, res, err := e.mustGoClient(b, "sy-sender").CreateGroupWithMembers(e.ctx, &GroupOptions{Name: "sync"},
			[]identity.InboxID{lx, goc.InboxID()})
		if err != nil || len(res.Added) != 2 {
			b.Fatalf("create: %+v %v", res, err)
		}
		s.sender, s.gid = sender, sender.ID().String()
		e.peer.Call(b, map[string]any{"op": "waitGroup", "client": s.lxName, "group": s.gid, "timeoutMs": 30000})
		e.peer.Call(b, map[string]any{"op": "syncGroup", "client": s.lxName, "group": s.gid})
		if _, err := goc.SyncWelcomes(e.ctx); err != nil {
			b.Fatal(err)
		}
		if s.g, err = goc.Group(e.ctx, sender.ID()); err != nil {
			b.Fatal(err)
		}
		if err := s.g.Sync(e.ctx); err != nil {
			b.Fatal(err)
		}
		return s
	})
	return func(b *testing.B) {
		s := setup(b)
		v := &versus{env: e}
		b.ReportAllocs()
		b.StopTimer()
		b.ResetTimer()
		for range b.N {
			for j := range n {
				if _, err := s.sender.SendMessageOptimistic(e.ctx, EncodeText(fmt.Sprintf("m %d.%d", s.rounds, j)), nil); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.sender.PublishMessages(e.ctx); err != nil {
				b.Fatal(err)
			}
			s.rounds++
			before := e.appCount(b, s.g)
			v.goBegin(b)
			err := s.g.Sync(e.ctx)
			v.goEnd(b)
			if err != nil {
				b.Fatal(err)
			}
			if got := e.appCount(b, s.g); got != before+n {
				b.Fatalf("go synced %d messages, want %d", got-before, n)
			}
			v.lx(b, map[string]any{"op": "syncGroup", "client": s.lxName, "group": s.gid})
		}
		res := e.peer.Call(b, map[string]any{"op": "messages", "client": s.lxName, "group": s.gid, "sync": false})
		if got := len(res["messages"].([]any)); got != s.rounds*n {
			b.Fatalf("libxmtp has %d messages, want %d", got, s.rounds*n)
		}
		v.report(b)
	}
}

// appCount returns how many application messages g has stored.
func (e *benchEnv) appCount(b *testing.B, g *Group) int {
	b.Helper()
	msgs, err := g.FindMessages(e.ctx, &MessageQuery{Kind: KindApplication})
	if err != nil {
		b.Fatal(err)
	}
	return len(msgs)
}
