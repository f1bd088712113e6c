package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"mlsbridge/client"
)

// The stream ops of `bridge client`, as libxmtp-peer.mjs has them:
// "stream" starts a collector (all conversations, or one group) that
// keeps every streamed message; "streamed" lists what was collected; and
// "waitMessage" looks at the collected messages first (only at them with
// viaStream: true).

func init() {
	registerClientOps(map[string]opFunc{"stream": opStream, "streamed": opStreamed})
}

// streamSet is a client's running stream collectors and what they have
// collected, in arrival order. Its methods are safe for concurrent use
// and on a nil *streamSet (a client that never streamed).
type streamSet struct {
	mu       sync.Mutex
	wg       sync.WaitGroup
	streams  []*streamRec
	messages []messageJSON
}

// streamRec is one collector: its target ("all" or a group id), the
// stream, and whether and why it ended.
type streamRec struct {
	target string
	s      *client.Stream[client.Message]
	closed bool
	err    error
}

// start runs a collector for s until the stream ends.
func (ss *streamSet) start(target string, s *client.Stream[client.Message]) {
	rec := &streamRec{target: target, s: s}
	ss.mu.Lock()
	ss.streams = append(ss.streams, rec)
	ss.mu.Unlock()
	ss.wg.Add(1)
	go func() {
		defer ss.wg.Done()
		for {
			m, err := s.Next(context.Background())
			if err != nil {
				ss.mu.Lock()
				rec.closed = true
				if !errors.Is(err, client.ErrStreamClosed) {
					rec.err = err
				}
				ss.mu.Unlock()
				return
			}
			j := messageOf(&m)
			ss.mu.Lock()
			ss.messages = append(ss.messages, j)
			ss.mu.Unlock()
		}
	}()
}

// stop closes every stream and waits for the collectors.
func (ss *streamSet) stop() {
	if ss == nil {
		return
	}
	ss.mu.Lock()
	recs := append([]*streamRec(nil), ss.streams...)
	ss.mu.Unlock()
	for _, r := range recs {
		_ = r.s.Close()
	}
	ss.wg.Wait()
}

// collected returns the messages collected so far, of one group or (group
// "") of all.
func (ss *streamSet) collected(group string) []messageJSON {
	out := []messageJSON{}
	if ss == nil {
		return out
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, m := range ss.messages {
		if group == "" || m.Group == group {
			out = append(out, m)
		}
	}
	return out
}

// streamJSON is one entry of streamed's "streams".
type streamJSON struct {
	Target string  `json:"target"`
	Closed bool    `json:"closed"`
	Error  *string `json:"error"`
}

// status returns the collectors' state and whether there is at least one
// and all have ended.
func (ss *streamSet) status() (recs []streamJSON, allClosed bool) {
	recs = []streamJSON{}
	if ss == nil {
		return recs, false
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	allClosed = len(ss.streams) > 0
	for _, r := range ss.streams {
		j := streamJSON{Target: r.target, Closed: r.closed}
		if r.err != nil {
			e := r.err.Error()
			j.Error = &e
		}
		recs = append(recs, j)
		allClosed = allClosed && r.closed
	}
	return recs, allClosed
}

// streamedHit returns the first collected message of the command's group
// (with its text, when given), or nil.
func (sc *sessionClient) streamedHit(cmd *command) *messageJSON {
	for _, m := range sc.streams.collected(cmd.Group) {
		if cmd.Text == nil || (m.Text != nil && *m.Text == *cmd.Text) {
			return &m
		}
	}
	return nil
}

func opStream(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	// The stream outlives this command: it ends on exit (client Close).
	sctx := context.WithoutCancel(ctx)
	target := "all"
	var st *client.Stream[client.Message]
	if cmd.Group != "" {
		g, err := sc.group(ctx, cmd.Group)
		if err != nil {
			return nil, err
		}
		target = cmd.Group
		st, err = g.Stream(sctx, &client.StreamOptions{IncludeDeniedSenders: true})
		if err != nil {
			return nil, fmt.Errorf("stream group: %w", err)
		}
	} else {
		consent, err := consentList(cmd.Consent)
		if err != nil {
			return nil, err
		}
		st, err = sc.c.StreamAllMessages(sctx, &client.StreamOptions{ConsentStates: consent, IncludeDeniedSenders: true})
		if err != nil {
			return nil, fmt.Errorf("stream all messages: %w", err)
		}
	}
	if sc.streams == nil {
		sc.streams = &streamSet{}
	}
	sc.streams.start(target, st)
	return obj{{"streaming", target}}, nil
}

func opStreamed(_ context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	recs, _ := sc.streams.status()
	return obj{{"messages", sc.streams.collected(cmd.Group)}, {"streams", recs}}, nil
}

// waitViaStream is waitMessage with viaStream: true. Like the peer, it
// only looks at what the client's streams collected, and fails at once
// when every stream of the client has ended.
func waitViaStream(ctx context.Context, sc *sessionClient, cmd *command) (obj, error) {
	timeout, every := 15*time.Second, 300*time.Millisecond
	if cmd.TimeoutMs != nil {
		timeout = time.Duration(*cmd.TimeoutMs) * time.Millisecond
	}
	if cmd.PollMs != nil {
		every = time.Duration(*cmd.PollMs) * time.Millisecond
	}
	deadline := time.Now().Add(timeout)
	for {
		if hit := sc.streamedHit(cmd); hit != nil {
			return obj{{"message", hit}, {"via", "stream"}}, nil
		}
		if _, allClosed := sc.streams.status(); allClosed {
			return nil, errors.New("all streams of this client are closed")
		}
		if time.Now().After(deadline) {
			text := "undefined"
			if cmd.Text != nil {
				text = strconv.Quote(*cmd.Text)
			}
			return nil, fmt.Errorf("timeout waiting for message %s in %s", text, cmd.Group)
		}
		if !sleepFor(ctx, every) {
			return nil, ctx.Err()
		}
	}
}

// sleepFor waits d or until ctx ends, reporting whether d passed.
func sleepFor(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
