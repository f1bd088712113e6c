package main

// The end-to-end harness: the real bridge binary, built once per test
// run, started from a config written into a temp folder, with libxmtp
// users (../shared/interop's libxmtp-peer.mjs through internal/interoptest)
// talking to its bots. /work/notes/e2e-harness.md describes the API for
// the other e2e tests (plugins, cron jobs, restarts).

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"mlsbridge/internal/interoptest"
)

// e2eBuild is the bridge binary built for this test run.
var e2eBuild struct {
	once sync.Once
	dir  string // removed by TestMain
	path string
	err  error
}

// TestMain removes the e2e binary after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if e2eBuild.dir != "" {
		_ = os.RemoveAll(e2eBuild.dir)
	}
	os.Exit(code)
}

// e2eWait bounds every wait of the harness.
const e2eWait = 90 * time.Second

// bridgeBinary returns the bridge binary, building ./cmd/bridge on first
// use (with -race when MLSBRIDGE_E2E_RACE=1). It skips in -short mode.
func bridgeBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e test skipped in -short mode")
	}
	e2eBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "mlsbridge-e2e-")
		if err != nil {
			e2eBuild.err = err
			return
		}
		e2eBuild.dir, e2eBuild.path = dir, filepath.Join(dir, "bridge")
		args := []string{"build", "-o", e2eBuild.path}
		if os.Getenv("MLSBRIDGE_E2E_RACE") == "1" {
			args = append(args, "-race")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", append(args, ".")...).CombinedOutput()
		if err != nil {
			e2eBuild.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if e2eBuild.err != nil {
		t.Fatal(e2eBuild.err)
	}
	return e2eBuild.path
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// e2eConfig returns a config for a bridge whose files all live in dir:
// the embedded node and /metrics on free loopback ports, every cron job
// off, info logs, and one bot "default" (consent allow_all, key generated
// on first start). Change it before startBridge.
func e2eConfig(t testing.TB, dir string) *Config {
	t.Helper()
	off := scheduleOff
	return &Config{
		Log:     LogConfig{Level: "info", Format: "text"},
		Node:    NodeConfig{Embedded: true, Listen: fmt.Sprintf("127.0.0.1:%d", freePort(t)), Database: filepath.Join(dir, "node.db")},
		Jobs:    JobsConfig{DisappearingSweep: off, InstallationRefresh: off, KeyPackageRotation: off, PendingRemovals: off, StateFile: filepath.Join(dir, "jobs.json")},
		Metrics: MetricsConfig{Listen: fmt.Sprintf("127.0.0.1:%d", freePort(t))},
		Bots:    []BotConfig{{Name: defaultBotName, Database: filepath.Join(dir, "bot-default.db")}},
	}
}

// e2eBridge is one run of the bridge binary.
type e2eBridge struct {
	// Dir holds the config and every file of the run.
	Dir string
	// Config is the config the run was started with; ConfigPath its file.
	Config     *Config
	ConfigPath string
	// Env is added to the process environment (KEY=value).
	Env []string
	// NodeURL is the node's URL for libxmtp ("http://127.0.0.1:port");
	// MetricsURL the base URL of /healthz and /metrics ("" when off).
	NodeURL, MetricsURL string
	// Bots are the bots the bridge printed, by name.
	Bots map[string]e2eBot

	cmd    *exec.Cmd
	stdout *e2eLog
	stderr *e2eLog
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's error, set before exited closes
}

// e2eBot is a bot as the bridge printed it.
type e2eBot struct{ Name, InboxID, Address string }

// e2eLog collects a process's output lines.
type e2eLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *e2eLog) add(line string) {
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
}

func (l *e2eLog) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// startBridge writes cfg to dir/config.yaml and runs the bridge on it
// until the test ends (SIGTERM at cleanup; the exit code must be 0). It
// returns once the bridge printed its ready line.
func startBridge(t testing.TB, dir string, cfg *Config, env ...string) *e2eBridge {
	t.Helper()
	b := &e2eBridge{Dir: dir, Config: cfg, ConfigPath: filepath.Join(dir, "config.yaml"), Env: env}
	b.WriteConfig(t)
	b.start(t)
	t.Cleanup(func() {
		if b.running() {
			b.stop(t, 60*time.Second)
		}
		if t.Failed() {
			b.dump(t)
		}
	})
	return b
}

// WriteConfig writes b.Config to b.ConfigPath. The bridge reads it only
// when it starts: edit b.Config, WriteConfig, then Restart.
func (b *e2eBridge) WriteConfig(t testing.TB) {
	t.Helper()
	data, err := yaml.Marshal(b.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.ConfigPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// start runs the binary and waits for its ready line.
func (b *e2eBridge) start(t testing.TB) {
	t.Helper()
	b.cmd = exec.Command(bridgeBinary(t), "-config", b.ConfigPath)
	b.cmd.Dir = b.Dir
	b.cmd.Env = append(os.Environ(), b.Env...)
	stdout, err := b.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := b.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	b.stdout, b.stderr, b.exited, b.Bots = &e2eLog{}, &e2eLog{}, make(chan struct{}), map[string]e2eBot{}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var readers sync.WaitGroup
	ready := make(chan struct{})
	var once sync.Once
	readers.Go(func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			b.stdout.add(sc.Text())
			if strings.HasPrefix(sc.Text(), "bridge ready:") {
				once.Do(func() { close(ready) })
			}
		}
	})
	readers.Go(func() { scanLines(stderr, b.stderr) })
	go func() {
		readers.Wait() // the pipes must be drained before Wait
		b.err = b.cmd.Wait()
		close(b.exited)
	}()
	select {
	case <-ready:
	case <-b.exited:
		b.dump(t)
		t.Fatalf("bridge exited before it was ready: %v", b.err)
	case <-time.After(e2eWait):
		b.dump(t)
		t.Fatalf("bridge not ready after %s", e2eWait)
	}
	b.parseReady(t)
}

func scanLines(r io.Reader, l *e2eLog) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l.add(sc.Text())
	}
}

var (
	e2eNodeLine = regexp.MustCompile(`^bridge \S+: (?:XMTP node serving|remote XMTP node) at (\S+) `)
	e2eBotLine  = regexp.MustCompile(`^bot (\S+): inbox id ([0-9a-f]{64}), address (0x[0-9a-f]{40});`)
)

// parseReady reads the node URL and the bots from the printed lines.
func (b *e2eBridge) parseReady(t testing.TB) {
	t.Helper()
	for _, l := range b.stdout.snapshot() {
		if m := e2eNodeLine.FindStringSubmatch(l); m != nil {
			b.NodeURL = m[1]
		}
		if m := e2eBotLine.FindStringSubmatch(l); m != nil {
			b.Bots[m[1]] = e2eBot{Name: m[1], InboxID: m[2], Address: m[3]}
		}
	}
	if b.NodeURL == "" || len(b.Bots) != len(b.Config.Bots) {
		t.Fatalf("ready output lacks the node URL or a bot:\n%s", strings.Join(b.stdout.snapshot(), "\n"))
	}
	if l := b.Config.Metrics.Listen; l != "" && l != metricsOff {
		b.MetricsURL = "http://" + l
	}
}

// Bot returns the bot named name (the config's first bot is "default").
func (b *e2eBridge) Bot(t testing.TB, name string) e2eBot {
	t.Helper()
	bot, ok := b.Bots[name]
	if !ok {
		t.Fatalf("no bot %q", name)
	}
	return bot
}

func (b *e2eBridge) running() bool {
	select {
	case <-b.exited:
		return false
	default:
		return b.cmd != nil
	}
}

// Stop sends SIGTERM and waits for a clean exit (code 0) within 60s.
func (b *e2eBridge) Stop(t testing.TB) {
	t.Helper()
	b.stop(t, 60*time.Second)
}

func (b *e2eBridge) stop(t testing.TB, limit time.Duration) {
	t.Helper()
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(limit):
		_ = b.cmd.Process.Kill()
		<-b.exited
		t.Errorf("bridge did not stop within %s of SIGTERM; killed", limit)
		return
	}
	if b.err != nil {
		t.Errorf("bridge exited with %v after SIGTERM", b.err)
	}
}

// Restart stops the bridge and starts it again on the same config and
// files (the node keeps its port, so libxmtp clients stay connected).
func (b *e2eBridge) Restart(t testing.TB) {
	t.Helper()
	b.Stop(t)
	b.start(t)
}

// Stdout and Stderr return what the current run printed (stderr: the logs).
func (b *e2eBridge) Stdout() []string { return b.stdout.snapshot() }

// Stderr returns the current run's log lines.
func (b *e2eBridge) Stderr() []string { return b.stderr.snapshot() }

// LogLine returns the first log line of the current run holding every one
// of parts, or "".
func (b *e2eBridge) LogLine(parts ...string) string {
	for _, l := range b.stderr.snapshot() {
		if containsAll(l, parts...) {
			return l
		}
	}
	return ""
}

// WaitLog waits up to e2eWait for a log line holding every one of parts
// and returns it.
func (b *e2eBridge) WaitLog(t testing.TB, parts ...string) string {
	t.Helper()
	var line string
	waitUntil(t, fmt.Sprintf("a bridge log line with %q", parts), func() bool {
		line = b.LogLine(parts...)
		return line != ""
	})
	return line
}

// dump logs the run's output to t.
func (b *e2eBridge) dump(t testing.TB) {
	t.Helper()
	t.Logf("bridge stdout:\n%s", strings.Join(b.stdout.snapshot(), "\n"))
	lines := b.stderr.snapshot()
	if len(lines) > 400 {
		lines = lines[len(lines)-400:]
	}
	t.Logf("bridge stderr (last %d lines):\n%s", len(lines), strings.Join(lines, "\n"))
}

// Get fetches path ("/healthz", "/metrics") from the metrics server.
func (b *e2eBridge) Get(t testing.TB, path string) (int, string) {
	t.Helper()
	if b.MetricsURL == "" {
		t.Fatal("metrics are off")
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(b.MetricsURL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// Metric returns the sum of the samples of the Prometheus metric name
// whose labels include every one of labels ("job" → "pending_removals"),
// or 0 when there is none.
func (b *e2eBridge) Metric(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	_, body := b.Get(t, "/metrics")
	var sum float64
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		ok := true
		for k, v := range labels {
			ok = ok && strings.Contains(l, k+`="`+v+`"`)
		}
		if i := strings.LastIndexByte(l, ' '); ok && i > 0 {
			if f, err := strconv.ParseFloat(l[i+1:], 64); err == nil {
				sum += f
			}
		}
	}
	return sum
}

// waitUntil polls cond every 100ms for up to e2eWait.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(e2eWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", e2eWait, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// e2eXMTP is a libxmtp-peer.mjs process with named libxmtp users on the
// bridge's node, and the bot they talk to.
type e2eXMTP struct {
	// P is the peer, for ops the helpers do not cover (p.Call(t, map…)).
	P *interoptest.Peer
	// Bot is the inbox id whose messages count as the bot's replies.
	Bot string

	host  string
	dir   string
	users map[string]e2eUser
}

// e2eUser is a libxmtp user.
type e2eUser struct{ Name, InboxID, Address, PrivateKey string }

// newXMTP starts one libxmtp peer on the bridge's node, talking to bot.
func newXMTP(t testing.TB, br *e2eBridge, bot e2eBot) *e2eXMTP {
	t.Helper()
	dir := interoptest.Dir(t)
	return &e2eXMTP{P: interoptest.StartPeer(t, dir), Bot: bot.InboxID, host: br.NodeURL, dir: t.TempDir(), users: map[string]e2eUser{}}
}

// User returns the libxmtp user name, creating and registering it on
// first use (its database in a temp folder).
func (x *e2eXMTP) User(t testing.TB, name string) e2eUser {
	t.Helper()
	if u, ok := x.users[name]; ok {
		return u
	}
	res := x.P.Call(t, map[string]any{"op": "create", "client": name, "db": filepath.Join(x.dir, name+".db3"),
		"host": x.host, "register": true})
	u := e2eUser{Name: name, InboxID: res["inboxId"].(string), Address: res["address"].(string)}
	u.PrivateKey, _ = res["privateKey"].(string)
	x.users[name] = u
	return u
}

// Inbox returns the inbox id of a user name, or s itself when it is no
// user's name (an inbox id).
func (x *e2eXMTP) Inbox(s string) string {
	if u, ok := x.users[s]; ok {
		return u.InboxID
	}
	return s
}

// NewGroup makes creator create a group with members (user names or
// inbox ids; x.Bot is added by naming it), with the extra newGroup fields
// of opts (name, permissions…), waits until every member user has it,
// and returns its id.
func (x *e2eXMTP) NewGroup(t testing.TB, creator string, members []string, opts map[string]any) string {
	t.Helper()
	cmd := map[string]any{"op": "newGroup", "client": creator}
	for k, v := range opts {
		cmd[k] = v
	}
	var ids []string
	for _, m := range members {
		ids = append(ids, x.Inbox(m))
	}
	cmd["members"] = ids
	g := x.P.Call(t, cmd)["group"].(string)
	for _, m := range members {
		if _, ok := x.users[m]; ok {
			x.P.Call(t, map[string]any{"op": "waitGroup", "client": m, "group": g, "timeoutMs": int(e2eWait / time.Millisecond)})
		}
	}
	return g
}

// Send sends text as user to group and returns the message id.
func (x *e2eXMTP) Send(t testing.TB, user, group, text string) string {
	t.Helper()
	return x.P.Call(t, map[string]any{"op": "send", "client": user, "group": group, "text": text})["messageId"].(string)
}

// SendReply sends text as user, as a reply to message id, and returns the
// reply's id.
func (x *e2eXMTP) SendReply(t testing.TB, user, group, id, text string) string {
	t.Helper()
	return x.P.Call(t, map[string]any{"op": "sendReply", "client": user, "group": group, "messageId": id, "text": text})["messageId"].(string)
}

// Messages returns group's application messages as user sees them after
// a sync.
func (x *e2eXMTP) Messages(t testing.TB, user, group string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range x.P.Call(t, map[string]any{"op": "messages", "client": user, "group": group})["messages"].([]any) {
		out = append(out, m.(map[string]any))
	}
	return out
}

// BotMessages returns the bot's messages in group, as user sees them.
func (x *e2eXMTP) BotMessages(t testing.TB, user, group string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range x.Messages(t, user, group) {
		if m["sender"] == x.Bot {
			out = append(out, m)
		}
	}
	return out
}

// BotTexts returns the bot's text messages in group (its replies and
// notices, not its reactions or deletions), as user sees them.
func (x *e2eXMTP) BotTexts(t testing.TB, user, group string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range x.BotMessages(t, user, group) {
		if ct, _ := m["contentType"].(string); strings.HasPrefix(ct, "xmtp.org/text:") {
			out = append(out, m)
		}
	}
	return out
}

// Mark returns the ids of the bot's text messages user sees in group now:
// pass it to WaitBot to wait for what comes after.
func (x *e2eXMTP) Mark(t testing.TB, user, group string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range x.BotTexts(t, user, group) {
		seen[m["id"].(string)] = true
	}
	return seen
}

// WaitBot waits until the bot sent, after mark, a text message holding
// every one of want, and returns its text and the texts of all the bot's
// text messages since mark, in order. It fails after e2eWait, listing
// them.
func (x *e2eXMTP) WaitBot(t testing.TB, user, group string, mark map[string]bool, want ...string) (string, []string) {
	t.Helper()
	deadline := time.Now().Add(e2eWait)
	for {
		var since []string
		found := ""
		for _, m := range x.BotTexts(t, user, group) {
			if mark[m["id"].(string)] {
				continue
			}
			text, _ := m["text"].(string)
			since = append(since, text)
			if found == "" && containsAll(text, want...) {
				found = text
			}
		}
		if found != "" {
			return found, since
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bot sent no message with %q in %s; since the mark it sent %q", want, e2eWait, since)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Command sends text as user, waits for the bot's next message and fails
// unless it holds every one of want; it returns that message's text. The
// bot handles a group's messages in order, so with one command at a time
// (and no plugin talking) its next message is the answer. Use Mark and
// WaitBot when other bot messages may come first.
func (x *e2eXMTP) Command(t testing.TB, user, group, text string, want ...string) string {
	t.Helper()
	mark := x.Mark(t, user, group)
	x.Send(t, user, group, text)
	return x.nextBot(t, user, group, mark, text, want)
}

// ReplyCommand is Command with text sent as a reply to message id.
func (x *e2eXMTP) ReplyCommand(t testing.TB, user, group, id, text string, want ...string) string {
	t.Helper()
	mark := x.Mark(t, user, group)
	x.SendReply(t, user, group, id, text)
	return x.nextBot(t, user, group, mark, text, want)
}

// nextBot waits for the bot's first message after mark and checks it.
func (x *e2eXMTP) nextBot(t testing.TB, user, group string, mark map[string]bool, text string, want []string) string {
	t.Helper()
	_, since := x.WaitBot(t, user, group, mark)
	if !containsAll(since[0], want...) {
		t.Fatalf("%s typed %q; the bot answered %q, want it to contain %q", user, text, since[0], want)
	}
	return since[0]
}

// GroupInfo returns libxmtp's groupInfo of group for user, synced first.
func (x *e2eXMTP) GroupInfo(t testing.TB, user, group string) map[string]any {
	t.Helper()
	return x.P.Call(t, map[string]any{"op": "groupInfo", "client": user, "group": group, "sync": true})
}

// Members returns the member inbox ids of group as user sees them, synced
// first.
func (x *e2eXMTP) Members(t testing.TB, user, group string) []string {
	t.Helper()
	x.P.Call(t, map[string]any{"op": "syncGroup", "client": user, "group": group})
	var ids []string
	for _, m := range x.P.Call(t, map[string]any{"op": "members", "client": user, "group": group})["members"].([]any) {
		ids = append(ids, m.(map[string]any)["inboxId"].(string))
	}
	return ids
}

// WaitMembers waits until user sees every inbox of include and none of
// exclude (user names or inbox ids) among group's members.
func (x *e2eXMTP) WaitMembers(t testing.TB, user, group string, include, exclude []string) {
	t.Helper()
	in, ex := []string{}, []string{}
	for _, s := range include {
		in = append(in, x.Inbox(s))
	}
	for _, s := range exclude {
		ex = append(ex, x.Inbox(s))
	}
	x.P.Call(t, map[string]any{"op": "waitMembers", "client": user, "group": group, "include": in, "exclude": ex,
		"timeoutMs": int(e2eWait / time.Millisecond)})
}

// strs converts a JSON list of strings.
func strs(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, s := range l {
		if str, ok := s.(string); ok {
			out = append(out, str)
		}
	}
	return out
}

// mustContain fails unless s holds every one of parts.
func mustContain(t testing.TB, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Fatalf("%s = %q, want it to contain %q", what, s, p)
		}
	}
}
