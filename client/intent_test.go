package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"mlsbridge/identity"
)

// TestSendOptimisticAndIdempotency: an optimistic message is stored as
// unpublished and goes out with PublishMessages; the same content with the
// same idempotency key is one message.
func TestSendOptimisticAndIdempotency(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, _, _ := newTestClient(t, addr, "alice")
	b, _, _ := newTestClient(t, addr, "bob")
	g, _, err := a.CreateGroupWithMembers(ctx, nil, []identity.InboxID{b.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	bg := joinOne(t, b)
	id1, err := g.SendMessageOptimistic(ctx, EncodeText("first"), nil)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := g.SendMessageOptimistic(ctx, EncodeText("second"), &SendOptions{IdempotencyKey: "k2"})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := a.FindMessage(ctx, id1); m.DeliveryStatus != StatusUnpublished {
		t.Fatalf("optimistic message status %v", m.DeliveryStatus)
	}
	if err := bg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := appTexts(t, bg); len(got) != 0 {
		t.Fatalf("optimistic messages went out: %v", got)
	}
	if err := g.PublishMessages(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []MessageID{id1, id2} {
		if m, _ := a.FindMessage(ctx, id); m.DeliveryStatus != StatusPublished || m.Cursor == 0 {
			t.Fatalf("published message %s: status %v cursor %d", id, m.DeliveryStatus, m.Cursor)
		}
	}
	again, err := g.Send(ctx, EncodeText("second"), &SendOptions{IdempotencyKey: "k2"})
	if err != nil || string(again) != string(id2) {
		t.Fatalf("same key and content: id %s (%v), want %s", again, err, id2)
	}
	if err := bg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := appTexts(t, bg); !slices.Equal(got, []string{"first", "second"}) {
		t.Fatalf("bob read %v", got)
	}
	if m, err := b.FindMessage(ctx, id2); err != nil || m.IdempotencyKey != "k2" {
		t.Fatalf("bob's copy of the keyed message: %+v %v", m, err)
	}
}

// TestQueuedMessageFailsWhenRemoved: a message queued before we were
// removed fails instead of going out.
func TestQueuedMessageFailsWhenRemoved(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, _, _ := newTestClient(t, addr, "alice")
	b, _, _ := newTestClient(t, addr, "bob")
	g, _, err := a.CreateGroupWithMembers(ctx, nil, []identity.InboxID{b.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	bg := joinOne(t, b)
	id, err := bg.SendMessageOptimistic(ctx, EncodeText("too late"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.RemoveMembers(ctx, []identity.InboxID{b.InboxID()}); err != nil {
		t.Fatal(err)
	}
	if err := bg.PublishMessages(ctx); err == nil {
		t.Fatal("publishing in a group we were removed from succeeded")
	}
	if m, _ := b.FindMessage(ctx, id); m.DeliveryStatus != StatusFailed {
		t.Fatalf("status %v, want failed", m.DeliveryStatus)
	}
}

// TestQueueSurvivesRestart: messages queued, and one built but never
// published, go out after the client is reopened, each once.
func TestQueueSurvivesRestart(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, aw, aPath := newTestClient(t, addr, "alice")
	b, _, _ := newTestClient(t, addr, "bob")
	g, _, err := a.CreateGroupWithMembers(ctx, nil, []identity.InboxID{b.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	bg := joinOne(t, b)
	if _, err := g.SendMessageOptimistic(ctx, EncodeText("queued"), nil); err != nil {
		t.Fatal(err)
	}
	built, err := g.SendMessageOptimistic(ctx, EncodeText("built"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Build the second one's payload (state advanced and stored), then
	// "crash" before anything is sent.
	err = a.withGroup(ctx, g.ID(), func(ctx context.Context, st *groupState) error {
		ins, err := a.db.Intents(ctx, g.ID(), int16(IntentToPublish))
		if err != nil {
			return err
		}
		for i := range ins {
			if string(ins[i].MessageID) == string(built) {
				return a.buildMessage(ctx, st, &ins[i])
			}
		}
		t.Fatal("no intent for the built message")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = a.Close()
	a = openTestClient(t, addr, aw, aPath, "alice2")
	if err := a.PublishPending(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.PublishPending(ctx); err != nil { // nothing left: no duplicate
		t.Fatal(err)
	}
	if err := bg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := appTexts(t, bg); !slices.Equal(got, []string{"queued", "built"}) {
		t.Fatalf("bob read %v", got)
	}
	if left, _ := a.db.Intents(ctx, nil); len(left) != 0 {
		t.Fatalf("intents left: %+v", left)
	}
}

// TestWelcomesSurviveCrashAfterCommit: the process dies after publishing a
// commit that adds a member but before sending the welcome; after a
// reopen the welcome goes out, with the commit's cursor.
func TestWelcomesSurviveCrashAfterCommit(t *testing.T) {
	for _, published := range []bool{true, false} {
		name := map[bool]string{true: "after publish", false: "before publish"}[published]
		t.Run(name, func(t *testing.T) {
			n := startNode(t)
			addr := n.Addr().String()
			ctx := ctxT(t)
			a, aw, aPath := newTestClient(t, addr, "alice")
			b, _, _ := newTestClient(t, addr, "bob")
			g, err := a.CreateGroup(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			crashAfterStaging(t, a, g, []identity.InboxID{b.InboxID()}, published)
			if got, _ := b.SyncWelcomes(ctx); len(got) != 0 {
				t.Fatalf("welcome sent before the crash: %v", got)
			}
			_ = a.Close()
			a = openTestClient(t, addr, aw, aPath, "alice2")
			if err := a.PublishPending(ctx); err != nil {
				t.Fatal(err)
			}
			bg := joinOne(t, b)
			g, _ = a.Group(ctx, g.ID())
			if _, err := g.SendText(ctx, "after the crash"); err != nil {
				t.Fatal(err)
			}
			if err := bg.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if got := appTexts(t, bg); !slices.Equal(got, []string{"after the crash"}) {
				t.Fatalf("bob read %v", got)
			}
		})
	}
}

// crashAfterStaging stages a commit adding inboxes, publishes it if
// published, and returns without syncing: what a process that dies right
// then leaves behind.
func crashAfterStaging(t *testing.T, c *Client, g *Group, add []identity.InboxID, published bool) {
	t.Helper()
	err := c.withGroup(ctxT(t), g.ID(), func(ctx context.Context, st *groupState) error {
		plan, err := c.planMembership(ctx, st, add, nil)
		if err != nil {
			return err
		}
		in, err := c.stageCommit(ctx, st, plan)
		if err != nil {
			return err
		}
		if !published {
			return nil
		}
		if err := c.sendGroupMessage(ctx, st, in.Payload, false); err != nil {
			return err
		}
		in.State = int16(IntentPublished)
		return c.db.UpdateIntent(ctx, in, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	if ins, _ := c.db.Intents(ctxT(t), g.ID()); len(ins) != 1 || ins[0].PostCommit == nil {
		t.Fatalf("staged intents = %+v", ins)
	}
}

func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("send group message: %w", status.Error(codes.Unavailable, "down")), true},
		{fmt.Errorf("send group message: %w", status.Error(codes.InvalidArgument, "bad")), false},
		{context.DeadlineExceeded, true},
		{errors.New("other"), true},
	} {
		if got := retryable(tc.err); got != tc.want {
			t.Errorf("retryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestLeaveRequestEchoAfterReload: the echo of our own leave request is
// processed when the group was reloaded from the database between
// publishing it and its echo (loadGroup carries the message's content
// type into the pending payloads): the publish fails right after the node
// accepted the message (a panic at the crash point, which the group's
// goroutine turns into an error and a reload), and the next sync puts us
// in the pending-removal list and in MembershipPendingRemove.
func TestLeaveRequestEchoAfterReload(t *testing.T) {
	var armed, fired atomic.Bool
	crashHook = func(point string) {
		if point == "send.after_publish" && armed.CompareAndSwap(true, false) {
			fired.Store(true)
			panic("publish fails after the node accepted it")
		}
	}
	t.Cleanup(func() { crashHook = nil }) // runs after the clients close
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, _, _ := newTestClient(t, addr, "alice")
	b, _, _ := newTestClient(t, addr, "bob")
	if _, _, err := a.CreateGroupWithMembers(ctx, nil, []identity.InboxID{b.InboxID()}); err != nil {
		t.Fatal(err)
	}
	gb := joinOne(t, b)
	ec, err := LeaveRequestCodec{}.Encode(&LeaveRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gb.SendMessageOptimistic(ctx, ec, nil); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	if err := gb.PublishMessages(ctx); !errors.Is(err, ErrInternal) || !fired.Load() {
		t.Fatalf("publish that fails after the node accepted it: %v (hook fired %v), want ErrInternal", err, fired.Load())
	}
	if err := gb.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	pending, err := gb.PendingRemovals(ctx)
	if err != nil || !slices.Contains(pending, b.InboxID()) {
		t.Fatalf("pending removals %v (%v), want bob's own request", pending, err)
	}
	info, err := gb.Info(ctx)
	if err != nil || info.MembershipState != MembershipPendingRemove {
		t.Fatalf("bob's membership state %v (%v), want %v", info.MembershipState, err, MembershipPendingRemove)
	}
}
