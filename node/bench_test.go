package node

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"mlsbridge/mls"
	"mlsbridge/wire/mlsapi"
)

// Loopback benchmarks of the node over a real SQLite file (or PostgreSQL,
// see storagetest). Results are recorded in docs/benchmarks.md.

// startBenchNode is startTestNode for benchmarks, logging nothing.
func startBenchNode(b *testing.B, cfg Config) *testNode {
	b.Helper()
	n, err := Start(context.Background(), Options{Listen: "127.0.0.1:0", Database: benchDatabase(b), Server: cfg})
	if err != nil {
		b.Fatal(err)
	}
	conn, err := dialNode(n.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	tn := &testNode{n: n, conn: conn, mls: mlsapi.NewMlsApiClient(conn)}
	b.Cleanup(func() {
		_ = conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Stop(ctx)
	})
	return tn
}

func reportLatencies(b *testing.B, name string, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), name+"-p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), name+"-p99-µs")
}

func benchMessage(b *testing.B, group []byte, i int) *mlsapi.SendGroupMessagesRequest {
	m := &mls.MLSMessage{Version: mls.ProtocolVersionMLS10, WireFormat: mls.WireFormatPrivateMessage,
		PrivateMessage: &mls.PrivateMessage{GroupID: group, Epoch: 1, ContentType: mls.ContentTypeApplication,
			AuthenticatedData: []byte{}, EncryptedSenderData: make([]byte, 32), Ciphertext: []byte(fmt.Sprintf("%0256d", i))}}
	data, err := m.Bytes()
	if err != nil {
		b.Fatal(err)
	}
	return &mlsapi.SendGroupMessagesRequest{Messages: []*mlsapi.GroupMessageInput{groupInput(data)}}
}

// BenchmarkSendGroupMessages publishes one 300-byte message per call and
// reports its latency percentiles and the ratio to a no-op round trip
// (FetchKeyPackages with no keys: same server stack, no database work).
func BenchmarkSendGroupMessages(b *testing.B) {
	b.ReportAllocs()
	tn := startBenchNode(b, Config{})
	ctx := context.Background()
	group := []byte("bench-send")
	var send, noop []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := tn.mls.FetchKeyPackages(ctx, &mlsapi.FetchKeyPackagesRequest{}); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if _, err := tn.mls.SendGroupMessages(ctx, benchMessage(b, group, i)); err != nil {
			b.Fatal(err)
		}
		noop = append(noop, mid.Sub(start))
		send = append(send, time.Since(mid))
	}
	reportLatencies(b, "send", send)
	reportLatencies(b, "noop", noop)
	if len(noop) > 0 {
		b.ReportMetric(float64(send[len(send)/2])/float64(noop[len(noop)/2]), "send/noop-p50")
	}
}

// BenchmarkQueryGroupMessages reads full 100-message pages.
func BenchmarkQueryGroupMessages(b *testing.B) {
	b.ReportAllocs()
	tn := startBenchNode(b, Config{})
	ctx := context.Background()
	group := []byte("bench-query")
	for i := range 300 {
		if _, err := tn.mls.SendGroupMessages(ctx, benchMessage(b, group, i)); err != nil {
			b.Fatal(err)
		}
	}
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		resp, err := tn.mls.QueryGroupMessages(ctx, &mlsapi.QueryGroupMessagesRequest{GroupId: group,
			PagingInfo: &mlsapi.PagingInfo{Direction: mlsapi.SortDirection_SORT_DIRECTION_ASCENDING, Limit: 100}})
		if err != nil || len(resp.GetMessages()) != 100 {
			b.Fatalf("query: %d messages, %v", len(resp.GetMessages()), err)
		}
		lat = append(lat, time.Since(start))
	}
	reportLatencies(b, "page", lat)
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkFanOut100 publishes to a group with 100 subscribers and waits
// until every subscriber has the message; latency is publish to last
// delivery.
func BenchmarkFanOut100(b *testing.B) {
	b.ReportAllocs()
	tn := startBenchNode(b, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	group := []byte("bench-fanout")
	const subs = 100
	got := make(chan int, subs*64)
	var wg sync.WaitGroup
	for range subs {
		stream, err := tn.mls.SubscribeGroupMessages(ctx, &mlsapi.SubscribeGroupMessagesRequest{
			Filters: []*mlsapi.SubscribeGroupMessagesRequest_Filter{{GroupId: group}}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := stream.Header(); err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, err := stream.Recv(); err != nil {
					return
				}
				got <- 1
			}
		}()
	}
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := tn.mls.SendGroupMessages(ctx, benchMessage(b, group, i)); err != nil {
			b.Fatal(err)
		}
		for range subs {
			<-got
		}
		lat = append(lat, time.Since(start))
	}
	reportLatencies(b, "fanout", lat)
	cancel()
	wg.Wait()
}
