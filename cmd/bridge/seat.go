package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Seating: `bridge client -seat alice=libxmtp,bob=go -libxmtp-peer PATH`
// runs one command session whose clients are each seated either in our Go
// client or in the official libxmtp, behind one child libxmtp-peer.mjs
// process. A seatRouter reads the peer protocol, resolves "$name.field"
// references and keeps "as" results itself (so they work across both
// seats), sends each command to the seat of its client (the command's
// "client", or the last created one) and writes the result with its own
// seq numbering. The child's stderr is ours; lines it writes to stdout
// that are not results (libxmtp's own logs) go to our stderr too.

// Seat names.
const (
	seatGo      = "go"
	seatLibXMTP = "libxmtp"
)

// seatOptions are the seating flags of `bridge client`.
type seatOptions struct {
	spec string
	peer string
}

// addSeatFlags defines -seat and -libxmtp-peer on fs.
func addSeatFlags(fs *flag.FlagSet) *seatOptions {
	o := &seatOptions{}
	fs.StringVar(&o.spec, "seat", "", "seat clients: comma-separated NAME=go|libxmtp (NAME * sets the default, go when absent); "+
		"libxmtp-seated clients run in a child libxmtp-peer.mjs (see -libxmtp-peer)")
	fs.StringVar(&o.peer, "libxmtp-peer", "", "path of libxmtp-peer.mjs, run with node, for the clients seated libxmtp")
	return o
}

// enabled reports whether seating was asked for; without it `bridge
// client` runs every client in Go, without a router.
func (o *seatOptions) enabled() bool { return o.spec != "" || o.peer != "" }

// seating maps client names to seats.
type seating struct {
	seats map[string]string
	def   string
}

// parseSeating reads a -seat value.
func parseSeating(spec string) (seating, error) {
	st := seating{seats: map[string]string{}, def: seatGo}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, seat, ok := strings.Cut(part, "=")
		name, seat = strings.TrimSpace(name), strings.ToLower(strings.TrimSpace(seat))
		if !ok || name == "" {
			return st, fmt.Errorf("seat %q: want NAME=go or NAME=libxmtp", part)
		}
		if seat != seatGo && seat != seatLibXMTP {
			return st, fmt.Errorf("seat %q: unknown seat %q; one of: go, libxmtp", part, seat)
		}
		if name == "*" {
			st.def = seat
		} else {
			st.seats[name] = seat
		}
	}
	return st, nil
}

// of returns the seat of client name.
func (st seating) of(name string) string {
	if s, ok := st.seats[name]; ok {
		return s
	}
	return st.def
}

// usesLibXMTP reports whether any client may be seated libxmtp.
func (st seating) usesLibXMTP() bool {
	if st.def == seatLibXMTP {
		return true
	}
	for _, s := range st.seats {
		if s == seatLibXMTP {
			return true
		}
	}
	return false
}

func (st seating) String() string {
	names := make([]string, 0, len(st.seats))
	for n := range st.seats {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names)+1)
	for _, n := range names {
		parts = append(parts, n+"="+st.seats[n])
	}
	return strings.Join(append(parts, "*="+st.def), ",")
}

// serve runs the seated session on stdin and returns the exit code: 0
// when every command succeeded, 1 otherwise, 2 for bad flags.
func (o *seatOptions) serve(ctx context.Context, s *clientSession, stdin io.Reader, stdout, stderr io.Writer) int {
	st, err := parseSeating(o.spec)
	if err != nil {
		fmt.Fprintf(stderr, "bridge client: -seat: %v\n", err)
		return 2
	}
	if st.usesLibXMTP() && o.peer == "" {
		fmt.Fprintln(stderr, "bridge client: -seat puts a client in libxmtp but -libxmtp-peer is not set")
		return 2
	}
	r := newSeatRouter(s, st, stdout)
	if st.usesLibXMTP() {
		child, err := startPeerChild(ctx, o.peer, stderr)
		if err != nil {
			s.log.Error("start libxmtp peer", "path", o.peer, "err", err)
			return 1
		}
		r.child = child
	}
	s.log.Info("seated client session", "seats", st.String(), "libxmtp_peer", o.peer)
	return r.serve(ctx, stdin)
}

// childCaller runs one command in the libxmtp seat and returns its result
// line; *peerChild implements it (tests use a fake).
type childCaller interface {
	call(ctx context.Context, cmd map[string]any) ([]byte, error)
	close() error
}

// seatRouter is the state of a seated session. Like clientSession, it
// runs one command at a time on the caller's goroutine.
type seatRouter struct {
	log      *slog.Logger
	out      io.Writer
	st       seating
	goSess   *clientSession
	goOut    *bytes.Buffer
	child    childCaller // nil: no client is seated libxmtp
	saved    map[string]map[string]any
	clients  map[string]map[string]any // created clients: inboxId, address, installationId
	current  string
	seq      int
	failures int
	exited   bool
}

func newSeatRouter(s *clientSession, st seating, out io.Writer) *seatRouter {
	buf := &bytes.Buffer{}
	s.out = buf // the Go seat's result lines come back to the router
	return &seatRouter{log: s.log, out: out, st: st, goSess: s, goOut: buf,
		saved: map[string]map[string]any{}, clients: map[string]map[string]any{}}
}

// serve runs the commands read from in, closes the child and returns the
// exit code.
func (r *seatRouter) serve(ctx context.Context, in io.Reader) int {
	err := serveCommandLines(in, func() bool { return r.exited }, func(err error) {
		r.seq++
		r.emitFailure(nil, "bad JSON: "+err.Error())
	}, func(raw any) { r.run(ctx, raw) })
	if err != nil {
		r.log.Error("read commands", "err", err)
		r.failures++
	}
	if r.child != nil {
		if err := r.child.close(); err != nil {
			r.log.Warn("libxmtp peer did not end cleanly", "err", err)
		}
	}
	if r.failures > 0 {
		return 1
	}
	return 0
}

// run routes one command and writes its result line.
func (r *seatRouter) run(ctx context.Context, raw any) {
	r.seq++
	rawMap, _ := raw.(map[string]any)
	var op any
	if rawMap != nil {
		op = rawMap["op"]
	}
	resolved, err := r.resolveRefs(raw)
	if err != nil {
		r.emitFailure(op, err.Error())
		return
	}
	cmd, _ := resolved.(map[string]any)
	if cmd == nil {
		r.relay(r.runGo(ctx, resolved), nil) // the Go session reports the bad command
		return
	}
	if op == "exit" {
		r.exit(ctx)
		return
	}
	clientName, _ := cmd["client"].(string)
	if op == "create" {
		if clientName == "" {
			clientName = "default"
		}
	} else if clientName == "" && r.current != "" {
		clientName = r.current
		cmd["client"] = clientName // the seats' own "last created" may differ
	}
	var line []byte
	if r.st.of(clientName) == seatLibXMTP {
		line, err = r.child.call(ctx, cmd)
		if err != nil {
			r.emitFailure(op, err.Error())
			return
		}
	} else {
		line = r.runGo(ctx, cmd)
	}
	res := r.relay(line, op)
	if ok, _ := res["ok"].(bool); !ok {
		return
	}
	if as, _ := cmd["as"].(string); as != "" {
		saved := map[string]any{}
		for k, v := range res {
			switch k {
			case "seq", "op", "ok", "at", "ms": // not result fields, as in the peer
			default:
				saved[k] = v
			}
		}
		r.saved[as] = saved
	}
	if op == "create" {
		info := map[string]any{}
		for _, k := range []string{"inboxId", "address", "installationId"} {
			info[k] = res[k]
		}
		r.clients[clientName] = info
		r.current = clientName
	}
}

// runGo runs cmd in the Go seat and returns its result line.
func (r *seatRouter) runGo(ctx context.Context, cmd any) []byte {
	r.goOut.Reset()
	r.goSess.run(ctx, cmd)
	return bytes.TrimRight(r.goOut.Bytes(), "\n")
}

var seqPrefix = regexp.MustCompile(`^\{"seq":-?\d+`)

// relay writes a seat's result line with the router's seq and returns it
// decoded; a line that is not a result object becomes a failure.
func (r *seatRouter) relay(line []byte, op any) map[string]any {
	var res map[string]any
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	if err := d.Decode(&res); err != nil || !seqPrefix.Match(line) {
		r.emitFailure(op, fmt.Sprintf("seat answered with %q, not a result line", line))
		return nil
	}
	out := seqPrefix.ReplaceAll(line, fmt.Appendf(nil, `{"seq":%d`, r.seq))
	res["seq"] = json.Number(fmt.Sprint(r.seq))
	if ok, _ := res["ok"].(bool); !ok {
		r.failures++
	}
	r.write(out)
	return res
}

// exit ends the session: the child ends after its own "exit", the Go
// clients when runClient returns.
func (r *seatRouter) exit(ctx context.Context) {
	started := time.Now()
	r.exited = true
	if r.child != nil {
		if _, err := r.child.call(ctx, map[string]any{"op": "exit"}); err != nil {
			r.log.Warn("libxmtp peer exit", "err", err)
		}
	}
	b, err := json.Marshal(obj{{"seq", r.seq}, {"op", "exit"}, {"ok", true}, {"at", started.UnixMilli()},
		{"ms", time.Since(started).Milliseconds()}})
	if err == nil {
		r.write(b)
	}
}

// emitFailure writes a failed result for the current seq.
func (r *seatRouter) emitFailure(op any, msg string) {
	r.failures++
	if op == "" {
		op = nil
	}
	b, err := json.Marshal(obj{{"seq", r.seq}, {"op", op}, {"ok", false}, {"error", msg}})
	if err != nil {
		b = fmt.Appendf(nil, `{"seq":%d,"op":null,"ok":false,"error":%q}`, r.seq, msg)
	}
	r.write(b)
}

func (r *seatRouter) write(line []byte) {
	if _, err := r.out.Write(append(line, '\n')); err != nil {
		r.log.Error("write result", "err", err)
	}
}

// resolveRefs replaces every "$name.field" string in v (deeply) by a saved
// result's field or a created client's inboxId, address or installationId,
// whichever seat ran it.
func (r *seatRouter) resolveRefs(v any) (any, error) {
	return resolveRefs(v, func(name, field string) (any, bool) {
		if res, ok := r.saved[name]; ok {
			if f, ok := res[field]; ok {
				return f, true
			}
		}
		if info, ok := r.clients[name]; ok {
			if f, ok := info[field]; ok && f != nil {
				return f, true
			}
		}
		return nil, false
	})
}

// peerChild is the child libxmtp-peer.mjs process of the libxmtp seat.
type peerChild struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan []byte // result lines; closed when its stdout ends
	wg    sync.WaitGroup
	dead  bool
}

// childGrace bounds how long the child may take beyond a command's own
// opTimeoutMs (which the child enforces itself), and to exit.
const childGrace = 30 * time.Second

// startPeerChild runs `node path` with its stderr on ours.
func startPeerChild(ctx context.Context, path string, stderr io.Writer) (*peerChild, error) {
	cmd := exec.CommandContext(ctx, "node", path)
	cmd.Stderr = stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run node %s: %w", path, err)
	}
	p := &peerChild{cmd: cmd, in: in, lines: make(chan []byte, 1)}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(p.lines)
		br := bufio.NewReaderSize(outp, 1<<20)
		for {
			line, err := br.ReadBytes('\n')
			if bytes.HasPrefix(line, []byte(`{"seq":`)) {
				p.lines <- bytes.TrimRight(line, "\r\n")
			} else if len(bytes.TrimSpace(line)) > 0 {
				_, _ = stderr.Write(line) // libxmtp's own logging
			}
			if err != nil {
				return
			}
		}
	}()
	return p, nil
}

// call sends one command and waits for its result line.
func (p *peerChild) call(ctx context.Context, cmd map[string]any) ([]byte, error) {
	if p.dead {
		return nil, errors.New("libxmtp peer is gone")
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("encode command: %w", err)
	}
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		p.dead = true
		return nil, fmt.Errorf("write to libxmtp peer: %w", err)
	}
	limit := defaultOpTimeout
	if n, ok := cmd["opTimeoutMs"].(json.Number); ok {
		if ms, err := n.Int64(); err == nil && ms > 0 {
			limit = time.Duration(ms) * time.Millisecond
		}
	}
	t := time.NewTimer(limit + childGrace)
	defer t.Stop()
	select {
	case line, ok := <-p.lines:
		if !ok {
			p.dead = true
			return nil, errors.New("libxmtp peer exited")
		}
		return line, nil
	case <-t.C:
		// Its answer would now be out of step: stop it.
		p.dead = true
		_ = p.cmd.Process.Kill()
		return nil, fmt.Errorf("libxmtp peer did not answer within %s", limit+childGrace)
	case <-ctx.Done():
		p.dead = true
		return nil, ctx.Err()
	}
}

// close ends the child's input and waits for it to exit (killing it after
// childGrace).
func (p *peerChild) close() error {
	_ = p.in.Close()
	done := make(chan struct{})
	go func() {
		for range p.lines { // results after the last command: none expected
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(childGrace):
		_ = p.cmd.Process.Kill()
		<-done
	}
	p.wg.Wait()
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return nil // the exit code counts the peer's failed commands; we counted them ourselves
	}
	return err
}
