package node

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"mlsbridge/internal/interoptest"
	"mlsbridge/wire/mlsapi"
)

// TestInteropGovernance runs the shared 122-step, four-client governance
// scenario (permissions, admins, metadata, reactions, replies, deletion,
// consent, leaving, disappearing messages, installation revocation).
func TestInteropGovernance(t *testing.T) {
	runSharedScenario(t, "governance-smoke.mjs", "122 passed, 0 failed", 15*time.Minute)
}

// poll retries check until it returns true or the deadline passes.
func poll(t *testing.T, what string, timeout time.Duration, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// texts returns the text of each message of a peer "messages" result.
func texts(res map[string]any) []string {
	var out []string
	msgs, _ := res["messages"].([]any)
	for _, m := range msgs {
		if s, ok := m.(map[string]any)["text"].(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func count(xs []string, x string) int {
	n := 0
	for _, s := range xs {
		if s == x {
			n++
		}
	}
	return n
}

// TestInteropScenarios drives three libxmtp clients through the issue's
// further scenarios: remove and re-add a member, a key-package rotation, a
// DM, 260 messages paged both ways, and a stream that resumes across a
// node restart with no loss or duplicate.
func TestInteropScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("libxmtp interop test skipped in -short mode")
	}
	dir := interoptest.Dir(t)
	tn := startTestNodeLevel(t, "", Config{}, slog.LevelInfo)
	host := "http://" + tn.addr().String()
	p := interoptest.StartPeer(t, dir)
	work := t.TempDir()
	ids := map[string]map[string]any{}
	for _, name := range []string{"alice", "bob", "carol"} {
		ids[name] = p.Call(t, map[string]any{"op": "create", "client": name, "db": filepath.Join(work, name+".db3"), "host": host, "register": true})
	}
	inbox := func(name string) string { return ids[name]["inboxId"].(string) }
	// as runs cmd as the named client, failing t (the current subtest).
	as := func(t *testing.T, name string, cmd map[string]any) map[string]any {
		t.Helper()
		cmd["client"] = name
		return p.Call(t, cmd)
	}

	g := as(t, "alice", map[string]any{"op": "newGroup", "name": "trio", "members": []string{inbox("bob"), inbox("carol")}})["group"].(string)
	as(t, "alice", map[string]any{"op": "send", "group": g, "text": "hello trio"})
	for _, who := range []string{"bob", "carol"} {
		as(t, who, map[string]any{"op": "waitMessage", "group": g, "text": "hello trio", "timeoutMs": 30000})
	}

	t.Run("remove and re-add a member", func(t *testing.T) {
		as(t, "alice", map[string]any{"op": "removeMembers", "group": g, "members": []string{inbox("carol")}})
		as(t, "bob", map[string]any{"op": "waitMembers", "group": g, "exclude": []string{inbox("carol")}, "timeoutMs": 30000})
		poll(t, "carol to see her removal", 30*time.Second, func() bool {
			info := as(t, "carol", map[string]any{"op": "groupInfo", "group": g, "sync": true})
			return info["isActive"] == false
		})
		as(t, "alice", map[string]any{"op": "send", "group": g, "text": "without carol"})
		as(t, "bob", map[string]any{"op": "waitMessage", "group": g, "text": "without carol", "timeoutMs": 30000})
		if n := count(texts(as(t, "carol", map[string]any{"op": "messages", "group": g, "sync": false})), "without carol"); n != 0 {
			t.Fatal("a removed member read a later message")
		}
		as(t, "alice", map[string]any{"op": "addMembers", "group": g, "members": []string{inbox("carol")}})
		poll(t, "carol to be active again", 30*time.Second, func() bool {
			as(t, "carol", map[string]any{"op": "sync"}) // her new welcome
			return as(t, "carol", map[string]any{"op": "groupInfo", "group": g})["isActive"] == true
		})
		as(t, "alice", map[string]any{"op": "send", "group": g, "text": "welcome back"})
		as(t, "carol", map[string]any{"op": "waitMessage", "group": g, "text": "welcome back", "timeoutMs": 30000})
	})

	t.Run("key package rotation", func(t *testing.T) {
		// libxmtp rotates its key package after a welcome sync that saw a
		// welcome: carol has been welcomed twice.
		inst, err := hex.DecodeString(ids["carol"]["installationId"].(string))
		if err != nil {
			t.Fatal(err)
		}
		poll(t, "carol's key package to rotate", 60*time.Second, func() bool {
			as(t, "carol", map[string]any{"op": "sync"})
			n, err := tn.storage().KeyPackageHistoryLen(context.Background(), inst)
			return err == nil && n >= 2
		})
		// Adding her elsewhere uses the rotated package.
		g2 := as(t, "bob", map[string]any{"op": "newGroup", "name": "after rotation", "members": []string{inbox("carol")}})["group"].(string)
		as(t, "bob", map[string]any{"op": "send", "group": g2, "text": "fresh key package"})
		as(t, "carol", map[string]any{"op": "waitMessage", "group": g2, "text": "fresh key package", "timeoutMs": 30000})
	})

	t.Run("dm", func(t *testing.T) {
		dm := as(t, "alice", map[string]any{"op": "dm", "inbox": inbox("bob")})["group"].(string)
		as(t, "alice", map[string]any{"op": "send", "group": dm, "text": "just us"})
		as(t, "bob", map[string]any{"op": "waitMessage", "group": dm, "text": "just us", "timeoutMs": 30000})
		as(t, "bob", map[string]any{"op": "send", "group": dm, "text": "indeed"})
		as(t, "alice", map[string]any{"op": "waitMessage", "group": dm, "text": "indeed", "timeoutMs": 30000})
	})

	t.Run("260 messages paged both ways", func(t *testing.T) {
		const n = 260
		for i := range n {
			as(t, "bob", map[string]any{"op": "send", "group": g, "text": fmt.Sprintf("bulk %03d", i)})
		}
		for _, who := range []string{"alice", "carol"} {
			got := texts(as(t, who, map[string]any{"op": "messages", "group": g}))
			var bulk []string
			for _, s := range got {
				if len(s) == 8 && s[:5] == "bulk " {
					bulk = append(bulk, s)
				}
			}
			if len(bulk) != n {
				t.Fatalf("%s has %d bulk messages, want %d", who, len(bulk), n)
			}
			for i, s := range bulk {
				if s != fmt.Sprintf("bulk %03d", i) {
					t.Fatalf("%s: message %d is %q", who, i, s)
				}
			}
		}
		groupID, err := hex.DecodeString(g)
		if err != nil {
			t.Fatal(err)
		}
		ctx := ctxT(t)
		asc := tn.allGroupMessages(ctx, groupID)
		var desc []*mlsapi.GroupMessage_V1
		cursor := uint64(0)
		for {
			resp, err := tn.mls.QueryGroupMessages(ctx, &mlsapi.QueryGroupMessagesRequest{GroupId: groupID,
				PagingInfo: &mlsapi.PagingInfo{Direction: mlsapi.SortDirection_SORT_DIRECTION_DESCENDING, IdCursor: cursor}})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range resp.GetMessages() {
				desc = append(desc, m.GetV1())
			}
			if cursor = resp.GetPagingInfo().GetIdCursor(); cursor == 0 {
				break
			}
		}
		if len(asc) < n || len(asc) != len(desc) {
			t.Fatalf("ascending paging found %d messages, descending %d (want ≥ %d, equal)", len(asc), len(desc), n)
		}
		for i := range asc {
			if d := desc[len(desc)-1-i]; d.GetId() != asc[i].GetId() || !bytes.Equal(d.GetData(), asc[i].GetData()) {
				t.Fatalf("paging directions disagree at %d", i)
			}
		}
	})

	t.Run("stream across a node restart", func(t *testing.T) {
		as(t, "bob", map[string]any{"op": "stream", "group": g})
		as(t, "alice", map[string]any{"op": "send", "group": g, "text": "before restart"})
		as(t, "bob", map[string]any{"op": "waitMessage", "group": g, "text": "before restart", "viaStream": true, "timeoutMs": 30000})

		addr, path := tn.addr().String(), tn.path
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := tn.n.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		n, err := Start(context.Background(), Options{Listen: addr, Database: path, Logger: testLogger(t, slog.LevelInfo)})
		if err != nil {
			t.Fatalf("restart node on %s: %v", addr, err)
		}
		tn.n = n // the cleanup stops the new node
		poll(t, "bob's stream to notice the restart", 30*time.Second, func() bool {
			res := as(t, "bob", map[string]any{"op": "streamed", "group": g})
			streams, _ := res["streams"].([]any)
			return len(streams) > 0 && streams[0].(map[string]any)["closed"] == true
		})
		as(t, "alice", map[string]any{"op": "send", "group": g, "text": "while bob is away"})
		as(t, "bob", map[string]any{"op": "stream", "group": g})
		as(t, "alice", map[string]any{"op": "send", "group": g, "text": "after restart"})
		as(t, "bob", map[string]any{"op": "waitMessage", "group": g, "text": "after restart", "viaStream": true, "timeoutMs": 30000})
		as(t, "bob", map[string]any{"op": "waitMessage", "group": g, "text": "while bob is away", "timeoutMs": 30000})

		streamed := texts(as(t, "bob", map[string]any{"op": "streamed", "group": g}))
		for _, s := range []string{"before restart", "after restart"} {
			if c := count(streamed, s); c != 1 {
				t.Errorf("bob's streams delivered %q %d times, want once", s, c)
			}
		}
		if c := count(streamed, "while bob is away"); c > 1 {
			t.Errorf("bob's streams delivered %q %d times", "while bob is away", c)
		}
		all := texts(as(t, "bob", map[string]any{"op": "messages", "group": g}))
		for _, s := range []string{"before restart", "while bob is away", "after restart"} {
			if c := count(all, s); c != 1 {
				t.Errorf("bob's history has %q %d times, want once", s, c)
			}
		}
	})
}
