package client

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"mlsbridge/identity"
)

// TestStreamSurvivesNodeRestart: a group stream and an all-conversations
// stream keep going across a node restart, resuming from their cursors:
// every message arrives once, in order, including those sent while the
// streams were reconnecting and those a concurrent sync processed first.
func TestStreamSurvivesNodeRestart(t *testing.T) {
	tn := startTestNode(t)
	ctx := ctxT(t)
	a, _, _ := newTestClient(t, tn.addr, "alice")
	b, _, _ := newTestClient(t, tn.addr, "bob")
	g, _, err := a.CreateGroupWithMembers(ctx, &GroupOptions{Name: "streamed"}, []identity.InboxID{b.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	bg := joinOne(t, b)
	gs, err := bg.Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer gs.Close()
	all, err := b.StreamAllMessages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()

	send := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if _, err := g.SendText(ctx, fmt.Sprintf("m%d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(0, 3)
	if err := bg.Sync(ctx); err != nil { // a sync may get there first
		t.Fatal(err)
	}
	send(3, 5)
	if got := texts(nextN(t, gs, 5, 20*time.Second)); !slices.Equal(got, []string{"m0", "m1", "m2", "m3", "m4"}) {
		t.Fatalf("group stream before restart = %v", got)
	}
	tn.restart()
	send(5, 10)
	want := []string{"m5", "m6", "m7", "m8", "m9"}
	if got := texts(nextN(t, gs, 5, 30*time.Second)); !slices.Equal(got, want) {
		t.Fatalf("group stream after restart = %v", got)
	}
	if got := texts(nextN(t, all, 10, 30*time.Second)); !slices.Equal(got, []string{"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"}) {
		t.Fatalf("all-messages stream = %v", got)
	}
	// Nothing was repeated: the next message is the next one sent.
	send(10, 11)
	if got := texts(nextN(t, gs, 1, 20*time.Second)); !slices.Equal(got, []string{"m10"}) {
		t.Fatalf("after the restart the group stream gave %v, want m10", got)
	}
	if got := texts(nextN(t, all, 1, 20*time.Second)); !slices.Equal(got, []string{"m10"}) {
		t.Fatalf("after the restart the all-messages stream gave %v, want m10", got)
	}
	// Our own messages come back through the stream too.
	if _, err := bg.SendText(ctx, "own"); err != nil {
		t.Fatal(err)
	}
	if m := nextN(t, gs, 1, 20*time.Second)[0]; texts([]Message{m})[0] != "own" || m.SenderInboxID != b.InboxID() ||
		m.DeliveryStatus != StatusPublished {
		t.Fatalf("own message on the stream = %+v", m)
	}
}

// TestStreamConversations: new conversations (joined from welcomes,
// created here) are streamed, and the all-messages stream follows them.
func TestStreamConversations(t *testing.T) {
	tn := startTestNode(t)
	ctx := ctxT(t)
	a, _, _ := newTestClient(t, tn.addr, "alice")
	b, _, _ := newTestClient(t, tn.addr, "bob")
	convs, err := b.StreamConversations(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer convs.Close()
	all, err := b.StreamAllMessages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()

	g, _, err := a.CreateGroupWithMembers(ctx, &GroupOptions{Name: "new"}, []identity.InboxID{b.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	joined := nextN(t, convs, 1, 20*time.Second)[0]
	if joined.ID().String() != g.ID().String() {
		t.Fatalf("streamed conversation %s, want %s", joined.ID(), g.ID())
	}
	if _, err := g.SendText(ctx, "in the new group"); err != nil {
		t.Fatal(err)
	}
	if got := texts(nextN(t, all, 1, 20*time.Second)); !slices.Equal(got, []string{"in the new group"}) {
		t.Fatalf("all-messages stream = %v", got)
	}
	own, err := b.CreateGroup(ctx, &GroupOptions{Name: "own"})
	if err != nil {
		t.Fatal(err)
	}
	if got := nextN(t, convs, 1, 20*time.Second)[0]; got.ID().String() != own.ID().String() {
		t.Fatalf("streamed %s, want our new group %s", got.ID(), own.ID())
	}
	if err := convs.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := convs.Next(context.Background()); err != ErrStreamClosed {
		t.Fatalf("Next after Close = %v", err)
	}
	// Closing the client ends its streams.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := all.Next(context.Background()); err != ErrStreamClosed {
		t.Fatalf("Next after the client closed = %v", err)
	}
}
