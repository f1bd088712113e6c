package bot

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mlsbridge/internal/interoptest"
)

// TestInteropLibxmtpUser: people using the official libxmtp client (npm
// @xmtp/node-bindings 1.9.1, driven by ../shared/interop's
// libxmtp-peer.mjs) add the bot to a group and talk to it: !help gets the
// command list, a reply "!ping" to that answer gets pong, and a member's
// leave request is processed by the bot (made super admin) through the
// members.pending plugin.
func TestInteropLibxmtpUser(t *testing.T) {
	dir := interoptest.Dir(t)
	addr := startNode(t)
	b := newBot(t, addr, nil)
	b.start(t)
	p := interoptest.StartPeer(t, dir)
	libxmtp := func(name string) string {
		res := p.Call(t, map[string]any{"op": "create", "client": name, "db": filepath.Join(t.TempDir(), name+".db3"),
			"host": "http://" + addr, "register": true})
		return res["inboxId"].(string)
	}
	alice, bob := libxmtp("alice"), libxmtp("bob")
	g := p.Call(t, map[string]any{"op": "newGroup", "client": "alice", "members": []string{string(b.InboxID()), bob}, "name": "with a bot"})
	gid := g["group"].(string)

	p.Call(t, map[string]any{"op": "send", "client": "alice", "group": gid, "text": "!help"})
	help := waitBotMessage(t, p, "alice", gid, string(b.InboxID()), "Commands:")
	if !strings.Contains(help["text"].(string), "!ping") {
		t.Errorf("help lacks !ping: %q", help["text"])
	}

	// A libxmtp reply (xmtp.org/reply:1.0 around text) is read as a command.
	p.Call(t, map[string]any{"op": "sendReply", "client": "alice", "group": gid, "messageId": help["id"], "text": "!ping"})
	waitBotMessage(t, p, "alice", gid, string(b.InboxID()), "pong")

	// Make the bot the group's only super admin and let it process leave
	// requests.
	p.Call(t, map[string]any{"op": "addSuperAdmin", "client": "alice", "group": gid, "inbox": string(b.InboxID())})
	p.Call(t, map[string]any{"op": "send", "client": "alice", "group": gid, "text": "!plugins enable members.pending"})
	waitBotMessage(t, p, "alice", gid, string(b.InboxID()), "members.pending is now on here.")
	p.Call(t, map[string]any{"op": "removeSuperAdmin", "client": "alice", "group": gid, "inbox": alice})
	p.Call(t, map[string]any{"op": "waitGroup", "client": "bob", "group": gid})
	p.Call(t, map[string]any{"op": "leaveGroup", "client": "bob", "group": gid})
	p.Call(t, map[string]any{"op": "waitMembers", "client": "alice", "group": gid, "exclude": []string{bob}, "timeoutMs": 60000})
	waitFor(t, func() bool { return b.log.has("member asked to leave", "inbox_id="+bob) })
}

// waitBotMessage polls a libxmtp client's messages of a group until one
// from the bot contains want, failing after 60 s.
func waitBotMessage(t *testing.T, p *interoptest.Peer, client, group, bot, want string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	seen := []string{}
	for {
		res := p.Call(t, map[string]any{"op": "messages", "client": client, "group": group})
		for _, m := range res["messages"].([]any) {
			msg := m.(map[string]any)
			text, _ := msg["text"].(string)
			if msg["sender"] == bot && strings.Contains(text, want) {
				return msg
			}
			if msg["sender"] == bot && !slices.Contains(seen, text) {
				seen = append(seen, text)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no bot message containing %q; the bot said %q", want, seen)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
