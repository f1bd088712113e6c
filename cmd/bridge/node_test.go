package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"mlsbridge/node"
	"mlsbridge/wire/mlsapi"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunNodeServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errb syncBuffer
	db := filepath.Join(t.TempDir(), "node.db")
	done := make(chan int, 1)
	go func() {
		done <- runNode(ctx, []string{"--listen", "127.0.0.1:0", "--db", db}, &errb, func(n *node.Node) {
			conn, err := grpc.NewClient(n.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Errorf("dial: %v", err)
			} else {
				defer conn.Close()
				cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
				defer ccancel()
				resp, err := mlsapi.NewMlsApiClient(conn).FetchKeyPackages(cctx, &mlsapi.FetchKeyPackagesRequest{InstallationKeys: [][]byte{{1}}})
				if err != nil || len(resp.GetKeyPackages()) != 1 {
					t.Errorf("FetchKeyPackages = %v, %v", resp, err)
				}
			}
			cancel() // as SIGINT would
		})
	}()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("bridge node did not stop")
	}
	out := errb.String()
	for _, want := range []string{"node ready", "addr=127.0.0.1:", "node stopped", "database closed"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestRunNodeRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--nope"}, {"extra"}, {"--log-level", "loud"}} {
		var errb bytes.Buffer
		if code := runNode(context.Background(), args, &errb, nil); code != 2 {
			t.Errorf("runNode(%q) = %d, want 2", args, code)
		}
	}
	var errb bytes.Buffer
	if code := run([]string{"node", "--listen", "256.0.0.1:1", "--db", filepath.Join(t.TempDir(), "x.db")}, &errb, &errb); code != 1 {
		t.Errorf("unusable listen address: exit %d, want 1", code)
	}
}
