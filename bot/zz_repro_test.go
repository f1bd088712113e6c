package bot

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"mlsbridge/client"
	"mlsbridge/identity"
)

func TestReproStreamTwoGroups(t *testing.T) {
	addr := startNode(t)
	alice := newUser(t, addr, "alice")
	carol := newUser(t, addr, "carol")
	carolID := carol.InboxID()
	botc := newUser(t, addr, "bot")
	s, err := botc.StreamAllMessages(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cs, err := botc.StreamConversations(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	go func() {
		for {
			g, err := cs.Next(context.Background())
			if err != nil {
				return
			}
			if info, err := g.Info(context.Background()); err == nil && info.AddedByInboxID == carolID {
				_ = g.UpdateConsentState(context.Background(), client.ConsentDenied)
			} else {
				_ = g.UpdateConsentState(context.Background(), client.ConsentAllowed)
			}
		}
	}()

	cg, _, err := carol.CreateGroupWithMembers(ctxT(t), nil, []identity.InboxID{botc.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cg.SendText(ctxT(t), "from carol"); err != nil {
		t.Fatal(err)
	}
	ag, _, err := alice.CreateGroupWithMembers(ctxT(t), nil, []identity.InboxID{botc.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ag.SendText(ctxT(t), "from alice"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	got := 0
	for got < 1 {
		m, err := s.Next(ctx)
		if err != nil {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			for _, g := range strings.Split(string(buf), "\n\n") {
				if strings.Contains(g, "mlsbridge/client") {
					t.Log(g)
				}
			}
			t.Fatalf("got %d messages: %v", got, err)
		}
		if m.Kind == client.KindApplication {
			got++
		}
	}
}
