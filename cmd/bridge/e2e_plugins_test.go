package main

import (
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"mlsbridge/storage"
)

// The end-to-end tests of the bot's plugins, the cron jobs and restarts,
// on the real bridge binary with libxmtp users (e2e_helpers_test.go).

// pluginGroup makes alice create a group with the bot and members (user
// names) and make the bot a super admin, so that it may delete messages
// and remove members; it returns the group id.
func pluginGroup(t *testing.T, x *e2eXMTP, bot e2eBot, members ...string) string {
	t.Helper()
	g := x.NewGroup(t, "alice", append([]string{bot.InboxID}, members...), nil)
	x.P.Call(t, map[string]any{"op": "addSuperAdmin", "client": "alice", "group": g, "inbox": bot.InboxID})
	return g
}

// setPlugin has alice, a super admin, configure plugin id in group g with
// the key/value pairs of kv, then enable it, all through !plugins.
func setPlugin(t *testing.T, x *e2eXMTP, g, id string, kv ...string) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		x.Command(t, "alice", g, "!plugins config "+id+" "+kv[i]+" "+kv[i+1], "Set "+kv[i]+" of "+id+".")
	}
	x.Command(t, "alice", g, "!plugins enable "+id, id+" is now on here.")
}

// isDeleted reports whether user's enriched view of group g shows message
// id as deleted; it fails when user does not have the message.
func isDeleted(t *testing.T, x *e2eXMTP, user, g, id string) bool {
	t.Helper()
	res := x.P.Call(t, map[string]any{"op": "enriched", "client": user, "group": g})
	for _, m := range res["messages"].([]any) {
		if msg := m.(map[string]any); msg["id"] == id {
			return msg["deleted"] == true
		}
	}
	t.Fatalf("message %s not in %s's enriched view", id, user)
	return false
}

// waitDeleted waits until user sees message id of group g deleted.
func waitDeleted(t *testing.T, x *e2eXMTP, user, g, id, what string) {
	t.Helper()
	waitUntil(t, what+" deleted for "+user, func() bool { return isDeleted(t, x, user, g, id) })
}

// count returns how many of texts hold every one of parts.
func count(texts []string, parts ...string) int {
	n := 0
	for _, s := range texts {
		if containsAll(s, parts...) {
			n++
		}
	}
	return n
}

// removedBy reports whether user sees, in group g, a membership change by
// which committer removed member (listed as left when member had asked to
// leave).
func removedBy(t *testing.T, x *e2eXMTP, user, g, committer, member string) bool {
	t.Helper()
	res := x.P.Call(t, map[string]any{"op": "enriched", "client": user, "group": g, "all": true})
	for _, m := range res["messages"].([]any) {
		gu, _ := m.(map[string]any)["groupUpdated"].(map[string]any)
		if gu != nil && gu["initiatedBy"] == committer && slices.Contains(slices.Concat(strs(gu["removed"]), strs(gu["left"])), member) {
			return true
		}
	}
	return false
}

// TestE2EPlugins: each built-in plugin, configured and enabled through
// !plugins by alice (a libxmtp super admin) in its own group, acts on a
// violating message of bob (a libxmtp member), as carol (another member)
// sees it.
func TestE2EPlugins(t *testing.T) {
	dir := t.TempDir()
	br := startBridge(t, dir, e2eConfig(t, dir))
	bot := br.Bot(t, defaultBotName)
	x := newXMTP(t, br, bot)
	x.User(t, "alice")
	bob, dave := x.User(t, "bob"), x.User(t, "dave")
	x.User(t, "carol")
	bobAt := "@" + bob.InboxID

	t.Run("wordfilter and strikes", func(t *testing.T) {
		g := pluginGroup(t, x, bot, "bob", "carol")
		setPlugin(t, x, g, "moderation.wordfilter", "words", "spam, scam", "patterns", "[0-9]{3}-[0-9]{4}")
		setPlugin(t, x, g, "moderation.strikes", "max_strikes", "2", "appeal_window", "2s")
		x.Send(t, "bob", g, "good morning")

		mark := x.Mark(t, "carol", g)
		word := x.Send(t, "bob", g, "cheap SPAM here")
		_, since := x.WaitBot(t, "carol", g, mark, bobAt+": strike 1 of 2 (blocked word).")
		if n := count(since, bobAt+", your message was removed: it contains a blocked word."); n != 1 {
			t.Fatalf("the bot warned bob %d times, want once: %q", n, since)
		}
		waitDeleted(t, x, "carol", g, word, "the message with a blocked word")

		mark = x.Mark(t, "carol", g)
		pattern := x.Send(t, "bob", g, "call me at 555-1234")
		x.WaitBot(t, "carol", g, mark, bobAt+": strike 2 of 2 (blocked word). You will be removed in 2s unless an admin pardons you.")
		waitDeleted(t, x, "carol", g, pattern, "the message matching a pattern")
		x.WaitBot(t, "carol", g, mark, bobAt+" was removed after 2 strikes.")
		x.WaitMembers(t, "carol", g, nil, []string{"bob"})
		if !removedBy(t, x, "carol", g, bot.InboxID, bob.InboxID) {
			t.Fatal("bob's removal was not committed by the bot")
		}
		if isDeleted(t, x, "carol", g, messageIDOf(t, x, "carol", g, "good morning")) {
			t.Fatal("the bot deleted a message without a blocked word")
		}
	})

	t.Run("links", func(t *testing.T) {
		g := pluginGroup(t, x, bot, "bob", "carol")
		setPlugin(t, x, g, "moderation.links", "allowed_hosts", "example.com")
		mark := x.Mark(t, "carol", g)
		allowed := x.Send(t, "bob", g, "docs at https://www.example.com/guide")
		banned := x.Send(t, "bob", g, "free stuff at https://evil.test/win")
		_, since := x.WaitBot(t, "carol", g, mark, bobAt+", your message was removed: it has a link to a site that isn't allowed here.")
		waitDeleted(t, x, "carol", g, banned, "the message with a banned link")
		x.Command(t, "carol", g, "!ping", "pong") // the bot handled everything before
		_, since = x.WaitBot(t, "carol", g, mark, "pong")
		if n := count(since, "your message was removed"); n != 1 {
			t.Fatalf("the bot warned %d times, want once (for the banned link only): %q", n, since)
		}
		if isDeleted(t, x, "carol", g, allowed) {
			t.Fatal("the bot deleted a message with an allowed link")
		}
	})

	t.Run("flood", func(t *testing.T) {
		g := pluginGroup(t, x, bot, "bob", "carol")
		setPlugin(t, x, g, "moderation.flood", "max_messages", "3", "window", "1m")
		mark := x.Mark(t, "carol", g)
		var ids []string
		for _, s := range []string{"one", "two", "three", "four", "five"} {
			ids = append(ids, x.Send(t, "bob", g, s))
		}
		x.WaitBot(t, "carol", g, mark, bobAt+", slow down: you are sending messages too fast.")
		waitDeleted(t, x, "carol", g, ids[3], "the fourth message")
		waitDeleted(t, x, "carol", g, ids[4], "the fifth message")
		x.Command(t, "carol", g, "!ping", "pong")
		_, since := x.WaitBot(t, "carol", g, mark, "pong")
		if n := count(since, "slow down"); n != 1 {
			t.Fatalf("the bot warned %d times, want once per window: %q", n, since)
		}
		for i, id := range ids[:3] {
			if isDeleted(t, x, "carol", g, id) {
				t.Fatalf("message %d, within the limit, was deleted", i+1)
			}
		}
	})

	t.Run("welcome", func(t *testing.T) {
		g := pluginGroup(t, x, bot, "carol")
		setPlugin(t, x, g, "members.welcome", "message", "Hello {mentions}, please read the rules. ({count} new)")
		mark := x.Mark(t, "carol", g)
		x.P.Call(t, map[string]any{"op": "addMembers", "client": "alice", "group": g, "members": []string{dave.InboxID}})
		x.WaitBot(t, "carol", g, mark, "Hello @"+dave.InboxID+", please read the rules. (1 new)")
	})

	t.Run("pending removals", func(t *testing.T) {
		g := pluginGroup(t, x, bot, "bob", "carol")
		setPlugin(t, x, g, "members.pending", "notice", "Bye {mentions}, as you asked.")
		// From here alice, whose libxmtp client would remove bob itself
		// once it synced his request, stays away.
		mark := x.Mark(t, "carol", g)
		x.P.Call(t, map[string]any{"op": "leaveGroup", "client": "bob", "group": g})
		x.WaitBot(t, "carol", g, mark, "Bye "+bobAt+", as you asked.")
		x.WaitMembers(t, "carol", g, nil, []string{"bob"})
		if !removedBy(t, x, "carol", g, bot.InboxID, bob.InboxID) {
			t.Fatal("bob's removal was not committed by the bot")
		}
	})

	if got := br.Metric(t, "mlsbridge_plugin_actions_total", nil); got < 10 {
		t.Errorf("mlsbridge_plugin_actions_total = %v, want at least 10", got)
	}
}

// messageIDOf returns the id of the newest application message of group g
// with text, as user sees it.
func messageIDOf(t *testing.T, x *e2eXMTP, user, g, text string) string {
	t.Helper()
	msgs := x.Messages(t, user, g)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i]["text"] == text {
			return msgs[i]["id"].(string)
		}
	}
	t.Fatalf("no message %q in %s's view", text, user)
	return ""
}

// sigkill kills the bridge process (no graceful stop: the node and the
// bots die with their queues and timers) and waits for it to exit.
func (b *e2eBridge) sigkill(t *testing.T) {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill the bridge: %v", err)
	}
	select {
	case <-b.exited:
	case <-time.After(60 * time.Second):
		t.Fatal("the killed bridge did not exit")
	}
}

// messageStored reports whether the bot's installation database at path
// holds message id (hex); the bridge must be stopped.
func messageStored(t *testing.T, path, id string) bool {
	t.Helper()
	raw, err := hex.DecodeString(id)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := storage.OpenClient(ctx, path, nil)
	if err != nil {
		t.Fatalf("open the bot's database: %v", err)
	}
	defer db.Close()
	_, err = db.Message(ctx, raw)
	switch {
	case err == nil:
		return true
	case errors.Is(err, storage.ErrNotFound):
		return false
	}
	t.Fatalf("read message %s: %v", id, err)
	return false
}

// TestE2ERestart: restarts of the bridge, by SIGTERM and by SIGKILL, lose
// no state: plugin settings made in chat still act, a removal scheduled by
// the strikes plugin's appeal window happens after the restart, a message
// whose disappearing timer started before the restart is deleted after it,
// and commands sent just before the kill are answered.
func TestE2ERestart(t *testing.T) {
	dir := t.TempDir()
	cfg := e2eConfig(t, dir)
	cfg.Jobs.DisappearingSweep = "@every 1s"
	br := startBridge(t, dir, cfg)
	bot := br.Bot(t, defaultBotName)
	x := newXMTP(t, br, bot)
	x.User(t, "alice")
	bob, carol := x.User(t, "bob"), x.User(t, "carol")
	g := pluginGroup(t, x, bot, "bob", "carol")
	setPlugin(t, x, g, "moderation.wordfilter", "words", "spam")
	setPlugin(t, x, g, "moderation.strikes", "max_strikes", "2", "appeal_window", "20s")

	// SIGTERM: the settings made in chat survive.
	br.Restart(t)
	if br.Bot(t, defaultBotName).InboxID != bot.InboxID {
		t.Fatal("the bot's inbox changed across the restart")
	}
	x.Command(t, "carol", g, "!plugins list", "moderation.strikes: on", "moderation.wordfilter: on")
	mark := x.Mark(t, "carol", g)
	first := x.Send(t, "bob", g, "spam one")
	x.WaitBot(t, "carol", g, mark, "@"+bob.InboxID+", your message was removed: it contains a blocked word.")
	x.WaitBot(t, "carol", g, mark, "@"+bob.InboxID+": strike 1 of 2 (blocked word).")
	waitDeleted(t, x, "carol", g, first, "the message with a blocked word")

	// Before the SIGKILL: a message with a 30s disappearing timer (the
	// setting is turned off again, which does not change its timer), a
	// removal in its 20s appeal window, and three commands.
	x.Command(t, "alice", g, "!disappear 30s", "Messages now disappear after 30s.")
	ephemeral := x.Send(t, "carol", g, "this disappears")
	x.Command(t, "alice", g, "!disappear off", "Disappearing messages are off.")
	lasting := messageIDOf(t, x, "carol", g, "Disappearing messages are off.")
	mark = x.Mark(t, "carol", g)
	x.Send(t, "bob", g, "spam two")
	x.WaitBot(t, "carol", g, mark, "strike 2 of 2 (blocked word). You will be removed in 20s unless an admin pardons you.")
	pings := x.Mark(t, "alice", g)
	for range 3 {
		x.Send(t, "alice", g, "!ping")
	}
	br.sigkill(t)
	for _, l := range br.Stderr() {
		if strings.Contains(l, "expired messages deleted") || strings.Contains(l, "was removed after") {
			t.Fatalf("the expiry or the removal came before the kill (the test ran too slowly to show anything): %s", l)
		}
	}

	br.start(t)
	// Each command is answered; only the one the kill interrupted, if any,
	// may be answered twice. The bot answers in order, so the pongs come
	// before the answer to !members list.
	x.Send(t, "alice", g, "!members list")
	_, since := x.WaitBot(t, "alice", g, pings, "members:")
	if n := count(since, "pong"); n < 3 || n > 4 {
		t.Fatalf("%d pongs for the 3 pings sent before the kill (want 3, or 4 when the kill cut one short): %q", n, since)
	}
	if l := br.LogLine("replayed stored messages"); l != "" {
		t.Logf("after the kill the bot replayed what it had stored: %s", l)
	}
	x.WaitBot(t, "carol", g, mark, "@"+bob.InboxID+" was removed after 2 strikes.")
	x.WaitMembers(t, "carol", g, nil, []string{"bob"})
	br.WaitLog(t, "expired messages deleted")

	// The settings survived the kill too.
	mark = x.Mark(t, "carol", g)
	third := x.Send(t, "carol", g, "more spam")
	x.WaitBot(t, "carol", g, mark, "@"+carol.InboxID+", your message was removed: it contains a blocked word.")
	waitDeleted(t, x, "alice", g, third, "carol's message with a blocked word")

	br.Stop(t)
	path := br.Config.Bots[0].Database
	if messageStored(t, path, ephemeral) {
		t.Error("the message whose timer ran out is still in the bot's database")
	}
	if !messageStored(t, path, lasting) {
		t.Error("a message without a timer is gone from the bot's database")
	}
}

// TestE2EJobs: the cron jobs run on short schedules and their effects
// show: the disappearing sweep deletes an expired message from the bot's
// database, the pending-removals job removes a member who asked to leave
// (the members.pending plugin being off), the installation refresh adds a
// new installation of a member to the group, and every job's runs are
// counted in /metrics without failures.
func TestE2EJobs(t *testing.T) {
	dir := t.TempDir()
	cfg := e2eConfig(t, dir)
	cfg.Jobs.DisappearingSweep = "@every 1s"
	cfg.Jobs.PendingRemovals = "@every 1s"
	cfg.Jobs.InstallationRefresh = "@every 2s"
	cfg.Jobs.KeyPackageRotation = "@every 1s"
	br := startBridge(t, dir, cfg)
	bot := br.Bot(t, defaultBotName)
	x := newXMTP(t, br, bot)
	alice := x.User(t, "alice")
	bob := x.User(t, "bob")
	x.User(t, "carol")
	g := pluginGroup(t, x, bot, "bob", "carol")
	jobs := []string{jobDisappearingSweep, jobInstallationRefresh, jobKeyPackageRotation, jobPendingRemovals}

	runs := func(job string) float64 {
		return br.Metric(t, "mlsbridge_job_runs_total", map[string]string{"job": job})
	}
	for _, job := range jobs {
		waitUntil(t, job+" running twice", func() bool { return runs(job) >= 2 })
	}

	// The sweep: a message stamped with a 3s timer is deleted.
	x.Command(t, "alice", g, "!disappear 3s", "Messages now disappear after 3s.")
	ephemeral := x.Send(t, "carol", g, "gone soon")
	x.Command(t, "alice", g, "!disappear off", "Disappearing messages are off.")
	lasting := messageIDOf(t, x, "carol", g, "Disappearing messages are off.")
	br.WaitLog(t, "expired messages deleted")

	// The pending removals: bob asks to leave; alice, whose libxmtp client
	// would remove him itself once it synced, stays away.
	x.P.Call(t, map[string]any{"op": "leaveGroup", "client": "bob", "group": g})
	br.WaitLog(t, "member asked to leave", "inbox_id="+bob.InboxID)
	x.WaitMembers(t, "carol", g, nil, []string{"bob"})
	if !removedBy(t, x, "carol", g, bot.InboxID, bob.InboxID) {
		t.Fatal("bob's removal was not committed by the bot")
	}

	// The installation refresh: alice's new installation gets the group
	// without any libxmtp member doing anything.
	x.P.Call(t, map[string]any{"op": "create", "client": "alice-2", "db": dir + "/alice-2.db3", "host": br.NodeURL,
		"key": alice.PrivateKey, "register": true})
	x.P.Call(t, map[string]any{"op": "waitGroup", "client": "alice-2", "group": g, "timeoutMs": int(e2eWait / time.Millisecond)})

	before := map[string]float64{}
	for _, job := range jobs {
		before[job] = runs(job)
	}
	for _, job := range jobs {
		waitUntil(t, job+" running again", func() bool { return runs(job) > before[job] })
		for _, m := range []string{"mlsbridge_job_failures_total", "mlsbridge_job_panics_total"} {
			if n := br.Metric(t, m, map[string]string{"job": job}); n != 0 {
				t.Errorf("%s{job=%q} = %v, want 0", m, job, n)
			}
		}
		if n := br.Metric(t, "mlsbridge_job_last_success_timestamp_seconds", map[string]string{"job": job}); n <= 0 {
			t.Errorf("no successful run of %s recorded in /metrics", job)
		}
	}

	br.Stop(t)
	path := br.Config.Bots[0].Database
	if messageStored(t, path, ephemeral) {
		t.Error("the expired message is still in the bot's database")
	}
	if !messageStored(t, path, lasting) {
		t.Error("a message without a timer is gone from the bot's database")
	}
}
