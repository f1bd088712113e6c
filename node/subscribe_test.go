package node

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"mlsbridge/mls"
	"mlsbridge/wire/mlsapi"
)

// recvGroup reads n messages from stream.
func recvGroup(t *testing.T, stream grpc.ServerStreamingClient[mlsapi.GroupMessage], n int) []*mlsapi.GroupMessage_V1 {
	t.Helper()
	out := make([]*mlsapi.GroupMessage_V1, 0, n)
	for len(out) < n {
		m, err := stream.Recv()
		if err != nil {
			t.Fatalf("recv after %d of %d: %v", len(out), n, err)
		}
		out = append(out, m.GetV1())
	}
	return out
}

// checkSequence fails unless got equals want id for id.
func checkSequence(t *testing.T, got, want []*mlsapi.GroupMessage_V1) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].GetId() != want[i].GetId() || !bytes.Equal(got[i].GetData(), want[i].GetData()) {
			t.Fatalf("message %d: id %d, want %d", i, got[i].GetId(), want[i].GetId())
		}
	}
}

func TestSubscribeGroupMessagesHeadersFirst(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{})
	for _, filters := range [][]*mlsapi.SubscribeGroupMessagesRequest_Filter{nil, {{GroupId: []byte("quiet")}}} {
		stream, err := tn.mls.SubscribeGroupMessages(ctx, &mlsapi.SubscribeGroupMessagesRequest{Filters: filters})
		if err != nil {
			t.Fatal(err)
		}
		// Header() blocks until the server sends headers: with no backlog
		// it must still return.
		if _, err := stream.Header(); err != nil {
			t.Fatalf("headers: %v", err)
		}
	}
	stream, err := tn.mls.SubscribeGroupMessages(ctx, &mlsapi.SubscribeGroupMessagesRequest{Filters: []*mlsapi.SubscribeGroupMessagesRequest_Filter{{}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = stream.Recv()
	wantCode(t, err, codes.InvalidArgument)
}

// TestSubscribeReplayThenLive subscribes from a cursor in the middle of a
// backlog while another client keeps sending, and checks that the stream
// is exactly the stored sequence after the cursor: no gap, no duplicate.
func TestSubscribeReplayThenLive(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{})
	g, other := []byte("stream-group"), []byte("stream-other")
	tn.sendApp(ctx, g, "old", 150)
	backlog := tn.allGroupMessages(ctx, g)
	cursor := backlog[19].GetId()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // concurrent writer to the group and to another group
		defer wg.Done()
		for i := range 60 {
			_, err := tn.mls.SendGroupMessages(ctx, &mlsapi.SendGroupMessagesRequest{Messages: []*mlsapi.GroupMessageInput{
				groupInput(privateMessage(t, g, mls.ContentTypeApplication, "live"+itoa(i))),
				groupInput(privateMessage(t, other, mls.ContentTypeApplication, "noise"+itoa(i))),
			}})
			if err != nil {
				t.Errorf("live send %d: %v", i, err)
				return
			}
		}
	}()
	stream, err := tn.mls.SubscribeGroupMessages(ctx, &mlsapi.SubscribeGroupMessagesRequest{Filters: []*mlsapi.SubscribeGroupMessagesRequest_Filter{
		{GroupId: g, IdCursor: cursor}}})
	if err != nil {
		t.Fatal(err)
	}
	got := recvGroup(t, stream, 130+60)
	wg.Wait()
	want := tn.allGroupMessages(ctx, g)[20:]
	checkSequence(t, got, want)
}

// TestSubscribeSlowReaderCatchesUp overflows a tiny live queue: the
// subscriber must still get every message once, in order.
func TestSubscribeSlowReaderCatchesUp(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{SubscriptionBuffer: 2})
	g1, g2 := []byte("slow-1"), []byte("slow-2")
	stream, err := tn.mls.SubscribeGroupMessages(ctx, &mlsapi.SubscribeGroupMessagesRequest{Filters: []*mlsapi.SubscribeGroupMessagesRequest_Filter{
		{GroupId: g1}, {GroupId: g2}, {GroupId: g1, IdCursor: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Header(); err != nil {
		t.Fatal(err)
	}
	for i := range 120 { // nobody reads while these are published
		g := g1
		if i%3 == 0 {
			g = g2
		}
		tn.sendApp(ctx, g, "burst"+itoa(i), 1)
	}
	got := recvGroup(t, stream, 120)
	want1, want2 := tn.allGroupMessages(ctx, g1), tn.allGroupMessages(ctx, g2)
	var got1, got2 []*mlsapi.GroupMessage_V1
	for _, m := range got {
		if bytes.Equal(m.GetGroupId(), g1) {
			got1 = append(got1, m)
		} else {
			got2 = append(got2, m)
		}
	}
	checkSequence(t, got1, want1)
	checkSequence(t, got2, want2)
}

func TestSubscribeWelcomeMessages(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{})
	inst := bytes.Repeat([]byte{3}, 32)
	if _, err := tn.mls.SendWelcomeMessages(ctx, &mlsapi.SendWelcomeMessagesRequest{Messages: []*mlsapi.WelcomeMessageInput{
		welcomeV1(inst, "w0", 1), welcomeV1(inst, "w1", 1)}}); err != nil {
		t.Fatal(err)
	}
	first, err := tn.mls.QueryWelcomeMessages(ctx, &mlsapi.QueryWelcomeMessagesRequest{InstallationKey: inst,
		PagingInfo: &mlsapi.PagingInfo{Direction: mlsapi.SortDirection_SORT_DIRECTION_ASCENDING}})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := tn.mls.SubscribeWelcomeMessages(ctx, &mlsapi.SubscribeWelcomeMessagesRequest{Filters: []*mlsapi.SubscribeWelcomeMessagesRequest_Filter{
		{InstallationKey: inst, IdCursor: first.GetMessages()[0].GetV1().GetId()}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Header(); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.mls.SendWelcomeMessages(ctx, &mlsapi.SendWelcomeMessagesRequest{Messages: []*mlsapi.WelcomeMessageInput{
		welcomeV1(inst, "w2", 1), welcomeV1(bytes.Repeat([]byte{4}, 32), "elsewhere", 1)}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"w1", "w2"} {
		m, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if string(m.GetV1().GetData()) != want {
			t.Fatalf("welcome %q, want %q", m.GetV1().GetData(), want)
		}
	}
	for name, req := range map[string]*mlsapi.SubscribeWelcomeMessagesRequest{
		"no filters": {},
		"empty key":  {Filters: []*mlsapi.SubscribeWelcomeMessagesRequest_Filter{{}}},
	} {
		s, err := tn.mls.SubscribeWelcomeMessages(ctx, req)
		if err == nil {
			_, err = s.Recv()
		}
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		wantCode(t, err, codes.InvalidArgument)
	}
}

// TestShutdownEndsStreams checks graceful shutdown: open streams end with
// UNAVAILABLE, and a stream resumed from its cursor on a restarted node
// continues without loss or duplicate.
func TestShutdownEndsStreamsAndResumeAcrossRestart(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{})
	g := []byte("restart-stream")
	stream, err := tn.mls.SubscribeGroupMessages(ctx, &mlsapi.SubscribeGroupMessagesRequest{Filters: []*mlsapi.SubscribeGroupMessagesRequest_Filter{{GroupId: g}}})
	if err != nil {
		t.Fatal(err)
	}
	tn.sendApp(ctx, g, "a", 10)
	got := recvGroup(t, stream, 10)
	path := tn.path
	stopped := make(chan struct{})
	go func() { // stop the node but keep the client connection
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tn.n.Stop(sctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		close(stopped)
	}()
	_, err = stream.Recv()
	if err == io.EOF || err == nil {
		t.Fatalf("stream ended with %v, want an UNAVAILABLE status", err)
	}
	wantCode(t, err, codes.Unavailable)
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("shutdown did not finish")
	}

	tn2 := startTestNode(t, path, Config{})
	tn2.sendApp(ctx, g, "b", 5) // sent while nobody is subscribed
	stream, err = tn2.mls.SubscribeGroupMessages(ctx, &mlsapi.SubscribeGroupMessagesRequest{Filters: []*mlsapi.SubscribeGroupMessagesRequest_Filter{
		{GroupId: g, IdCursor: got[len(got)-1].GetId()}}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = stream.Header()
	tn2.sendApp(ctx, g, "c", 5)
	got = append(got, recvGroup(t, stream, 10)...)
	checkSequence(t, got, tn2.allGroupMessages(ctx, g))
}
