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
	"regexp"
	"slices"
	"strings"
	"time"

	"mlsbridge/client"
	"mlsbridge/identity"
)

// The `bridge client` subcommand speaks the command protocol of
// shared/interop/libxmtp-peer.mjs with our Go client behind it, so a test
// (or a person) can drive a Go installation exactly as it drives libxmtp:
// JSON commands on stdin, one per line (an object or an array of them),
// one JSON result line per command on stdout, logs on stderr.

// defaultOpTimeout bounds one command unless it carries opTimeoutMs.
const defaultOpTimeout = 60 * time.Second

// peerOps lists every op libxmtp-peer.mjs knows; those we do not implement
// answer "not supported", the rest "unknown op".
var peerOps = []string{"create", "register", "inboxId", "canMessage", "findInbox", "inboxState", "newGroup",
	"addMembers", "removeMembers", "send", "sync", "syncAll", "syncGroup", "listGroups", "messages", "members",
	"groupInfo", "updateName", "updateDescription", "addAdmin", "removeAdmin", "addSuperAdmin", "dm", "stream",
	"streamed", "waitMessage", "waitGroup", "removeSuperAdmin", "isAdmin", "isSuperAdmin", "permissions",
	"updatePermission", "updateImageUrl", "updateAppData", "sendReaction", "sendReply", "enriched", "deleteMessage",
	"deleteLocalMessage", "leaveGroup", "waitMembers", "setConsent", "getConsent", "updateDisappearing",
	"removeDisappearing", "addMembersByAddress", "removeMembersByAddress", "revokeInstallations",
	"revokeAllOtherInstallations", "apiStats", "sleep", "exit"}

// runClient implements `bridge client`: it reads commands from stdin until
// EOF or an "exit" command and returns 0 when every command succeeded, 1
// otherwise.
func runClient(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bridge client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	level := fs.String("log-level", "warn", "log level: debug, info, warn or error")
	seats := addSeatFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bridge client: unexpected arguments %q (commands are read from stdin)\n", fs.Args())
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "bridge client: -log-level: %v\n", err)
		return 2
	}
	s := newClientSession(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})), stdout)
	defer s.close()
	if seats.enabled() {
		return seats.serve(ctx, s, stdin, stdout, stderr)
	}
	return s.serve(ctx, stdin)
}

// clientSession is the state of one `bridge client` run: its clients, the
// saved results and the result counter. It runs one command at a time on
// the caller's goroutine.
type clientSession struct {
	log      *slog.Logger
	out      io.Writer
	clients  map[string]*sessionClient
	current  string
	saved    map[string]map[string]any
	seq      int
	failures int
	exited   bool
}

// sessionClient is one named Go client with its wallet.
type sessionClient struct {
	c      *client.Client
	wallet *identity.EthereumSigner
	// streams are the client's "stream" collectors (nil: none yet).
	streams *streamSet
}

func newClientSession(log *slog.Logger, out io.Writer) *clientSession {
	return &clientSession{log: log, out: out, clients: map[string]*sessionClient{}, saved: map[string]map[string]any{}}
}

// close closes every client of the session.
func (s *clientSession) close() {
	for name, sc := range s.clients {
		sc.streams.stop()
		if err := sc.c.Close(); err != nil {
			s.log.Warn("close client", "client", name, "err", err)
		}
	}
	s.clients = map[string]*sessionClient{}
}

// serve runs the commands read from in and returns the exit code.
func (s *clientSession) serve(ctx context.Context, in io.Reader) int {
	err := serveCommandLines(in, func() bool { return s.exited }, func(err error) {
		s.seq++
		s.failures++
		s.write(obj{{"seq", s.seq}, {"op", nil}, {"ok", false}, {"error", "bad JSON: " + err.Error()}})
	}, func(raw any) { s.run(ctx, raw) })
	if err != nil {
		s.log.Error("read commands", "err", err)
		s.failures++
	}
	if s.failures > 0 {
		return 1
	}
	return 0
}

// serveCommandLines reads the command lines of in until it ends or exited
// reports true: each line holds a command object or an array of them, run
// in order by run (those after an exit are skipped); a line that is not
// goes to bad. It returns the read error, nil at the end of the input.
func serveCommandLines(in io.Reader, exited func() bool, bad func(error), run func(raw any)) error {
	r := bufio.NewReaderSize(in, 1<<20)
	for !exited() {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			if cmds, err := parseCommandLine(line); err != nil {
				bad(err)
			} else {
				for _, c := range cmds {
					if exited() {
						break
					}
					run(c)
				}
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
	return nil
}

// parseCommandLine decodes one input line: a command object or an array
// of them.
func parseCommandLine(line []byte) ([]any, error) {
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	switch x := v.(type) {
	case []any:
		return x, nil
	case map[string]any:
		return []any{x}, nil
	}
	return nil, errors.New("a line must hold a command object or an array of them")
}

// run executes one command and writes its result line.
func (s *clientSession) run(ctx context.Context, raw any) {
	s.seq++
	rawMap, _ := raw.(map[string]any)
	var rawOp any
	if rawMap != nil {
		rawOp = rawMap["op"]
	}
	resolved, err := s.resolveRefs(raw)
	if err != nil {
		s.fail(rawOp, nil, err)
		return
	}
	var cmd command
	if err := remarshal(resolved, &cmd); err != nil {
		s.fail(rawOp, nil, fmt.Errorf("bad command: %w", err))
		return
	}
	cmd.raw = resolved
	fn, known := clientOps[cmd.Op]
	if !known {
		if slices.Contains(peerOps, cmd.Op) {
			s.fail(cmd.Op, nil, fmt.Errorf("op %s is not supported by the Go client", cmd.Op))
		} else {
			s.fail(rawOp, nil, fmt.Errorf("unknown op %q; known: %s", cmd.Op, strings.Join(peerOps, ",")))
		}
		return
	}
	started := time.Now()
	limit := defaultOpTimeout
	if cmd.OpTimeoutMs != nil {
		limit = time.Duration(*cmd.OpTimeoutMs) * time.Millisecond
	}
	octx, cancel := context.WithTimeout(ctx, limit)
	res, err := s.call(octx, fn, &cmd)
	cancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && octx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("op %s did not finish within %d ms (opTimeoutMs): %w", cmd.Op, limit.Milliseconds(), err)
		}
		s.fail(cmd.Op, &started, err)
		return
	}
	if res == nil {
		res = obj{}
	}
	head := obj{{"seq", s.seq}, {"op", cmd.Op}, {"ok", true}, {"at", started.UnixMilli()}, {"ms", time.Since(started).Milliseconds()}}
	line := s.write(append(head, res...))
	if cmd.As != "" {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err == nil {
			s.saved[cmd.As] = m
		}
	}
}

// call runs fn, turning a panic into an error (a handler boundary,
// STYLE.md §6).
func (s *clientSession) call(ctx context.Context, fn opFunc, cmd *command) (res obj, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("op panicked", "op", cmd.Op, "panic", r)
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return fn(ctx, s, cmd)
}

// fail writes a failed result; started is nil when the op never ran.
func (s *clientSession) fail(op any, started *time.Time, err error) {
	s.failures++
	s.log.Debug("command failed", "seq", s.seq, "op", op, "err", err)
	if op == "" {
		op = nil
	}
	res := obj{{"seq", s.seq}, {"op", op}, {"ok", false}}
	if started != nil {
		res = append(res, kv{"at", started.UnixMilli()}, kv{"ms", time.Since(*started).Milliseconds()})
	}
	s.write(append(res, kv{"error", err.Error()}))
}

// write prints v as one JSON line and returns the line without its
// newline.
func (s *clientSession) write(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encode result", "err", err)
		b = []byte(fmt.Sprintf(`{"seq":%d,"op":null,"ok":false,"error":%q}`, s.seq, "encode result: "+err.Error()))
	}
	if _, err := s.out.Write(append(b, '\n')); err != nil {
		s.log.Error("write result", "err", err)
	}
	return b
}

var refPattern = regexp.MustCompile(`^\$([A-Za-z_][\w-]*)\.(\w+)$`)

// resolveRefs replaces every "$name.field" string in v (deeply) by a saved
// result's field or a client's inboxId, address or installationId.
func (s *clientSession) resolveRefs(v any) (any, error) {
	return resolveRefs(v, func(name, field string) (any, bool) {
		if r, ok := s.saved[name]; ok {
			if f, ok := r[field]; ok {
				return f, true
			}
		}
		if sc, ok := s.clients[name]; ok {
			switch field {
			case "inboxId":
				return string(sc.c.InboxID()), true
			case "address":
				return string(sc.c.Address()), true
			case "installationId":
				return sc.c.InstallationID().String(), true
			}
		}
		return nil, false
	})
}

// resolveRefs returns a copy of v in which every "$name.field" string, at
// any depth, is replaced by lookup(name, field); a reference lookup does
// not find is an error.
func resolveRefs(v any, lookup func(name, field string) (any, bool)) (any, error) {
	switch x := v.(type) {
	case string:
		m := refPattern.FindStringSubmatch(x)
		if m == nil {
			return x, nil
		}
		if f, ok := lookup(m[1], m[2]); ok {
			return f, nil
		}
		return nil, fmt.Errorf("unresolved reference %s", x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := resolveRefs(e, lookup)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := resolveRefs(e, lookup)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

// peer returns the command's client: cmd.client, or the last created one.
func (s *clientSession) peer(cmd *command) (*sessionClient, error) {
	name := cmd.Client
	if name == "" {
		name = s.current
	}
	sc, ok := s.clients[name]
	if !ok {
		return nil, fmt.Errorf(`no client %q; run {"op":"create"} first`, name)
	}
	return sc, nil
}

// kv is one field of an obj.
type kv struct {
	k string
	v any
}

// obj is a JSON object that keeps its field order, so result lines read
// like libxmtp-peer's.
type obj []kv

// MarshalJSON implements json.Marshaler.
func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.k)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.v)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func remarshal(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
