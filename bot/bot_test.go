package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mlsbridge/client"
	"mlsbridge/identity"
	"mlsbridge/plugins/plugintest"
	"mlsbridge/policy"
	"mlsbridge/storage"

	_ "mlsbridge/plugins/standard"
)

// TestCommands: a user adds the bot to a group and uses built-ins; a
// command the user may not use is refused with the rule in words.
func TestCommands(t *testing.T) {
	addr := startNode(t)
	b := newBot(t, addr, nil)
	b.start(t)
	alice := newUser(t, addr, "alice")
	bob := newUser(t, addr, "bob")
	ac := newChat(t, alice, b.InboxID(), bob.InboxID())
	bc := joinChat(t, bob)

	ac.send("!ping")
	ac.expect(b.InboxID(), "pong")

	ac.send("!help")
	help := ac.expect(b.InboxID(), "Commands:")
	for _, want := range []string{"!ping", "!members", "!plugins", "!accept"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %s:\n%s", want, help)
		}
	}

	ac.send("!members list")
	list := ac.expect(b.InboxID(), "3 members:")
	for _, id := range []identity.InboxID{alice.InboxID(), bob.InboxID(), b.InboxID()} {
		if !strings.Contains(list, string(id)) {
			t.Errorf("members list lacks %s:\n%s", id, list)
		}
	}
	if !strings.Contains(list, string(alice.InboxID())+" (super admin)") {
		t.Errorf("members list does not mark the creator as super admin:\n%s", list)
	}

	// Bob is a plain member: the default policies let only admins remove
	// members, and plugins are for admins.
	bc.send("!members remove " + string(alice.InboxID()))
	denied := bc.expect(b.InboxID(), "Sorry, you can't use !members remove: ")
	if !strings.Contains(denied, "remove_member") || !strings.Contains(denied, "member") {
		t.Errorf("denial does not name the rule: %q", denied)
	}
	bc.send("!plugins enable moderation.wordfilter")
	bc.expect(b.InboxID(), "this command is for admins and super admins, and you are a member")

	bc.send("!group info")
	bc.expect(b.InboxID(), "Members: 3")

	if !b.log.has("command denied", "rule=command_role") {
		t.Errorf("no log of the role denial")
	}
	// The counters move once the dispatch returned, just after the reply.
	waitFor(t, func() bool { s := b.Stats(); return s.Commands >= 6 && s.MessagesIn >= 6 && s.MessagesOut >= 6 })
}

// TestMembersAddAndBlock: an admin adds a member through the bot, then
// blocks a member, whose commands the bot then ignores.
func TestMembersAddAndBlock(t *testing.T) {
	addr := startNode(t)
	b := newBot(t, addr, nil)
	b.start(t)
	alice := newUser(t, addr, "alice")
	bob := newUser(t, addr, "bob")
	carol := newUser(t, addr, "carol")
	ac := newChat(t, alice, b.InboxID(), bob.InboxID())
	bc := joinChat(t, bob)

	// The bot is a plain member and default groups let members add.
	ac.send("!members add " + string(carol.InboxID()))
	ac.expect(b.InboxID(), "Added 1 member.")
	cc := joinChat(t, carol)
	cc.send("!ping")
	cc.expect(b.InboxID(), "pong")

	// Block needs an admin; alice is the super admin.
	ac.send("!block " + string(bob.InboxID()))
	ac.expect(b.InboxID(), "Blocked "+string(bob.InboxID()))
	bc.send("!ping")
	blocked := bc.after
	cc.send("!group info")
	cc.expect(b.InboxID(), "Members: 4")
	// The bot answers in order: between bob's blocked ping and its answer
	// to carol, it said nothing.
	if err := ac.g.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	msgs, err := ac.g.FindMessages(ctxT(t), &client.MessageQuery{Kind: client.KindApplication})
	if err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, m := range msgs {
		text, _ := m.Text()
		switch {
		case bytes.Equal(m.ID, blocked):
			seen = true
		case seen && m.SenderInboxID == b.InboxID() && text == "pong":
			t.Fatalf("the bot answered a blocked member")
		case seen && m.SenderInboxID == b.InboxID():
			seen = false // the answer to carol: done
		}
	}
	ac.send("!unblock " + string(bob.InboxID()))
	ac.expect(b.InboxID(), "Unblocked")
	bc.send("!ping")
	bc.expect(b.InboxID(), "pong")
}

// TestPluginActsOnMessage: an admin enables and configures the word
// filter in chat; a member's message with a blocked word is deleted by the
// bot (a super admin) and answered with a warning, and the setting is in
// the store.
func TestPluginActsOnMessage(t *testing.T) {
	addr := startNode(t)
	b := newBot(t, addr, nil)
	b.start(t)
	alice := newUser(t, addr, "alice")
	bob := newUser(t, addr, "bob")
	ac := newChat(t, alice, b.InboxID(), bob.InboxID())
	bc := joinChat(t, bob)

	ac.send("!plugins config moderation.wordfilter words spam, scam")
	ac.expect(b.InboxID(), "Set words of moderation.wordfilter.")
	ac.send("!plugins enable moderation.wordfilter")
	ac.expect(b.InboxID(), "moderation.wordfilter is now on here.")
	ac.send("!plugins list")
	ac.expect(b.InboxID(), "moderation.wordfilter: on")

	// Deleting someone else's message takes a super admin.
	if err := ac.g.AddSuperAdmin(ctxT(t), b.InboxID()); err != nil {
		t.Fatal(err)
	}
	bc.send("hello everyone")
	bc.send("cheap SPAM here")
	spam := bc.after
	warning := bc.expect(b.InboxID(), "your message was removed: it contains a blocked word")
	if !strings.Contains(warning, "@"+string(bob.InboxID())) {
		t.Errorf("warning does not mention the sender: %q", warning)
	}
	waitFor(t, func() bool {
		if err := ac.g.Sync(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		msgs, err := ac.g.FindEnrichedMessages(ctxT(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if bytes.Equal(m.ID, spam) {
				return m.Deleted()
			}
		}
		return false
	})
	settings, err := b.store.BotPluginSettings(ctxT(t), ac.g.ID().String())
	if err != nil || len(settings) != 1 || !settings[0].Enabled || !strings.Contains(string(settings[0].Config), "scam") {
		t.Fatalf("stored settings %+v, %v", settings, err)
	}
}

// TestHandlersAndPanics: registered handlers see events through their
// middleware; a panicking handler is recovered and logged, and the bot goes
// on answering.
func TestHandlersAndPanics(t *testing.T) {
	addr := startNode(t)
	b := newBot(t, addr, nil)
	events := make(chan *Event, 64)
	err := b.Handle(HandlerFunc(func(ctx context.Context, ev *Event) error {
		events <- ev
		return nil
	}), When(Not(FromSelf)))
	if err != nil {
		t.Fatal(err)
	}
	err = b.Handle(HandlerFunc(func(ctx context.Context, ev *Event) error {
		if ev.Text == "boom" {
			panic("handler exploded")
		}
		if ev.Text == "fail" {
			return errors.New("handler failed on purpose")
		}
		return nil
	}), When(All(OfType(EventMessage), InGroup, WithContentType(client.ContentTypeReply, client.ContentTypeText))))
	if err != nil {
		t.Fatal(err)
	}
	echo := HandlerFunc(func(ctx context.Context, ev *Event) error {
		_, err := ev.Reply(ctx, "admin said "+ev.Text)
		return err
	})
	if err := b.Handle(echo, When(All(Not(FromSelf), SenderRoleAtLeast(policy.RoleSuperAdmin), func(ev *Event) bool {
		return strings.HasPrefix(ev.Text, "echo ")
	}))); err != nil {
		t.Fatal(err)
	}
	b.start(t)
	if err := b.Handle(echo); !errors.Is(err, ErrStarted) {
		t.Errorf("Handle after Start: %v, want ErrStarted", err)
	}

	alice := newUser(t, addr, "alice")
	ac := newChat(t, alice, b.InboxID())
	joined := waitEvent(t, events, EventJoined)
	if joined.Sender != alice.InboxID() || joined.Conversation.IsDM() {
		t.Errorf("joined event: sender %s dm %v", joined.Sender, joined.Conversation.IsDM())
	}
	ac.send("boom")
	ac.send("fail")
	ac.send("echo hi")
	ac.expect(b.InboxID(), "admin said echo hi")
	if ev := waitEvent(t, events, EventMessage); ev.Text != "boom" || ev.Sender != alice.InboxID() || ev.SenderRole != policy.RoleSuperAdmin {
		t.Errorf("first message event: %q from %s (%s)", ev.Text, ev.Sender, ev.SenderRole)
	}
	if !b.log.has("handler panicked", "handler exploded") {
		t.Errorf("the panic was not logged")
	}
	if !b.log.has("conversation handling failed", "handler failed on purpose") {
		t.Errorf("the handler error was not logged")
	}
	ac.send("!ping")
	ac.expect(b.InboxID(), "pong")
}

func waitEvent(t *testing.T, ch <-chan *Event, typ EventType) *Event {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ev.Type == typ {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event", typ)
		}
	}
}

// TestConsentRequireAccept: in require_accept mode the bot announces it
// waits, refuses !accept from a non-operator with the rule, ignores other
// commands, and serves the group once an operator accepts.
func TestConsentRequireAccept(t *testing.T) {
	addr := startNode(t)
	alice := newUser(t, addr, "alice") // the operator
	b := newBot(t, addr, func(cfg *Config) {
		cfg.Consent = ConsentConfig{Mode: ConsentRequireAccept, Operators: []identity.InboxID{alice.InboxID()}}
	})
	b.start(t)
	carol := newUser(t, addr, "carol")
	cc := newChat(t, carol, b.InboxID(), alice.InboxID())
	ac := joinChat(t, alice)

	cc.expect(b.InboxID(), "An operator of this bot has to type !accept here")
	cc.send("!ping")
	cc.send("!accept")
	cc.expect(b.InboxID(), "Sorry, you can't use !accept: accepting or rejecting a conversation is for the bot's operators")
	ac.send("!accept")
	ac.expect(b.InboxID(), "Accepted")
	cc.send("!ping")
	cc.expect(b.InboxID(), "pong")
	ac.send("!reject")
	ac.expect(b.InboxID(), "Rejected")
	cc.send("!ping")
	ac.send("!accept") // ignored: rejected conversations are not served at all
	bob := newUser(t, addr, "bob")
	// A group the operator starts is served at once.
	oc := newChat(t, alice, b.InboxID(), bob.InboxID())
	oc.send("!ping")
	oc.expect(b.InboxID(), "pong")
	if got, err := b.loadState(ctxT(t), cc.g.ID().String()); err != nil || got != stateRejected {
		t.Errorf("stored state %v, %v; want rejected", got, err)
	}
}

// TestConsentAllowListed: only listed inboxes' groups are served.
func TestConsentAllowListed(t *testing.T) {
	addr := startNode(t)
	alice := newUser(t, addr, "alice")
	carol := newUser(t, addr, "carol")
	b := newBot(t, addr, func(cfg *Config) {
		cfg.Consent = ConsentConfig{Mode: ConsentAllowListed, Allowed: []identity.InboxID{alice.InboxID()}}
	})
	b.start(t)
	cc := newChat(t, carol, b.InboxID())
	cc.send("!ping")
	ac := newChat(t, alice, b.InboxID())
	ac.send("!ping")
	ac.expect(b.InboxID(), "pong")
	waitFor(t, func() bool { return b.log.has("conversation decided", "state=rejected") })
	st, err := b.loadState(ctxT(t), cc.g.ID().String())
	if err != nil || st != stateRejected {
		t.Fatalf("carol's group: %v, %v; want rejected", st, err)
	}
}

// waitFor polls cond until it holds, failing after 30 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGracefulStop: Stop lets queued work finish, leaves no goroutine of
// the bot behind, and the bot's plugin settings survive a restart.
func TestGracefulStop(t *testing.T) {
	addr := startNode(t)
	b := newBot(t, addr, nil)
	alice := newUser(t, addr, "alice")
	g, _, err := alice.CreateGroupWithMembers(ctxT(t), nil, []identity.InboxID{b.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	joined, err := b.client.SyncWelcomes(ctxT(t))
	if err != nil || len(joined) != 1 {
		t.Fatalf("bot joins: %v, %v", joined, err)
	}
	// Start what lives on after the bot (the client's goroutine for the
	// group, alice's subscription) before counting.
	if _, err := joined[0].Info(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	ac := openChat(t, alice, g)
	ac.send("hello")
	ac.waitEcho()
	before := runtime.NumGoroutine()

	b.start(t)
	ac.send("!ping")
	ac.expect(b.InboxID(), "pong")
	for i := range 5 {
		ac.send(fmt.Sprintf("!ping %d", i)) // answered with a usage error
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	select {
	case <-b.Done():
	default:
		t.Fatal("Done not closed after a graceful Stop")
	}
	if err := b.Stop(ctx); err != nil {
		t.Errorf("second stop: %v", err)
	}
	if err := b.Start(ctx); !errors.Is(err, ErrStopped) {
		t.Errorf("start after stop: %v, want ErrStopped", err)
	}
	// Every goroutine the bot started is gone: its own, its streams'
	// (closed), the plugins' timers.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		leaked := botGoroutines()
		if n <= before && leaked == "" {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after stop, %d before; the bot's:\n%s\nall:\n%s", n, before, leaked, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// botGoroutines returns the stacks of goroutines running code of this
// package (other than tests).
func botGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "mlsbridge/bot.(*") && !strings.Contains(g, "mlsbridge/bot.Test") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// TestConfigErrors: New lists every problem.
func TestConfigErrors(t *testing.T) {
	_, err := New(Config{Consent: ConsentConfig{Mode: "everyone", Operators: []identity.InboxID{"nope"}}})
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("New: %v, want ErrConfig", err)
	}
	for _, want := range []string{"Client is required", "Store is required", `Mode "everyone"`, `inbox "nope"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestConfigPluginClock: the plugins' clock and the times of the events
// the bot stamps itself have one source: PluginClock when set, else a
// clock reading Now (with real timers).
func TestConfigPluginClock(t *testing.T) {
	base := Config{Client: new(client.Client), Store: (*storage.BotDB)(nil)}
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

	onlyNow := base
	onlyNow.Now = func() time.Time { return t0 }
	cfg, err := onlyNow.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	b := &Bot{cfg: cfg}
	if got := cfg.PluginClock.Now(); !got.Equal(t0) {
		t.Errorf("default PluginClock.Now() = %v, want Now's %v", got, t0)
	}
	if got := b.eventNow(); !got.Equal(t0) {
		t.Errorf("event time = %v, want Now's %v", got, t0)
	}
	fired := make(chan struct{})
	cfg.PluginClock.AfterFunc(time.Millisecond, func() { close(fired) })
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Error("default PluginClock.AfterFunc never fired")
	}

	onlyClock := base
	clock := plugintest.NewClock(t0.Add(time.Hour))
	onlyClock.PluginClock = clock
	if cfg, err = onlyClock.withDefaults(); err != nil {
		t.Fatal(err)
	}
	b = &Bot{cfg: cfg}
	if got := b.eventNow(); !got.Equal(clock.Now()) {
		t.Errorf("event time = %v, want PluginClock's %v", got, clock.Now())
	}
}

// queued returns how many messages wait in the conversation's queue.
func (tb *testBot) queued(g client.GroupID) int {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if c := tb.convos[g.String()]; c != nil {
		return int(c.waiting.Load())
	}
	return 0
}

// warmUp sends a plain message and waits until the bot's handlers saw it
// (saw reports it): from then on, the bot serves the conversation from
// the live stream only, its start's replay done.
func warmUp(t *testing.T, c *chat, saw func(text string) bool) {
	t.Helper()
	c.send("warm")
	waitFor(t, func() bool { return saw("warm") })
}

// TestStopDrainsQueue: events already queued when Stop is called are
// handled before Stop returns.
func TestStopDrainsQueue(t *testing.T) {
	addr := startNode(t)
	b := newBot(t, addr, nil)
	release := make(chan struct{})
	var (
		mu   sync.Mutex
		seen []string
	)
	err := b.Handle(HandlerFunc(func(ctx context.Context, ev *Event) error {
		if ev.Type != EventMessage || ev.FromSelf {
			return nil
		}
		mu.Lock()
		seen = append(seen, ev.Text)
		mu.Unlock()
		if ev.Text == "slow" {
			<-release
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	b.start(t)
	alice := newUser(t, addr, "alice")
	ac := newChat(t, alice, b.InboxID())
	warmUp(t, ac, func(text string) bool { mu.Lock(); defer mu.Unlock(); return slices.Contains(seen, text) })
	ac.send("slow")
	for _, s := range []string{"one", "two", "three"} {
		ac.send(s)
	}
	waitFor(t, func() bool { return b.queued(ac.g.ID()) == 3 })
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		stopped <- b.Stop(ctx)
	}()
	// Release the slow handler only once Stop has begun (the streams'
	// ctx is cancelled), so the three queued messages are handled by the
	// drain, not before Stop.
	waitFor(t, func() bool { return b.life.Err() != nil })
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
	if want := []string{"warm", "slow", "one", "two", "three"}; !slices.Equal(seen, want) {
		t.Fatalf("handled %q, want %q", seen, want)
	}
}

// TestStopBounded: a handler that does not finish in time is cancelled,
// Stop returns the deadline error, and the goroutines end once the
// handler has returned.
func TestStopBounded(t *testing.T) {
	addr := startNode(t)
	b := newBot(t, addr, nil)
	running := make(chan struct{})
	err := b.Handle(HandlerFunc(func(ctx context.Context, ev *Event) error {
		if ev.Text != "hang" {
			return nil
		}
		close(running)
		<-ctx.Done() // until Stop gives up
		return ctx.Err()
	}))
	if err != nil {
		t.Fatal(err)
	}
	b.start(t)
	alice := newUser(t, addr, "alice")
	ac := newChat(t, alice, b.InboxID())
	ac.send("hang")
	<-running
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := b.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stop: %v, want the deadline", err)
	}
	select {
	case <-b.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("goroutines still running 30s after the cancelled stop")
	}
}

// TestGovernanceCommands: a super admin has the bot (made super admin)
// make a member admin by address, rename the group and set disappearing
// messages; the client carries them out.
func TestGovernanceCommands(t *testing.T) {
	addr := startNode(t)
	b := newBot(t, addr, nil)
	b.start(t)
	alice := newUser(t, addr, "alice")
	bob := newUser(t, addr, "bob")
	ac := newChat(t, alice, b.InboxID(), bob.InboxID())

	// The bot is a plain member: add_admin is for super admins.
	ac.send("!admin add " + string(bob.Address()))
	ac.expect(b.InboxID(), "I couldn't do that: the group's rules don't allow it")
	if err := ac.g.AddSuperAdmin(ctxT(t), b.InboxID()); err != nil {
		t.Fatal(err)
	}
	ac.send("!admin add " + string(bob.Address()))
	ac.expect(b.InboxID(), string(bob.Address())+" is now an admin.")
	ac.send(`!group name "Book club"`)
	ac.expect(b.InboxID(), `Renamed the group to "Book club".`)
	ac.send("!disappear 1d")
	ac.expect(b.InboxID(), "Messages now disappear after 1d.")
	ac.send("!admin list")
	ac.expect(b.InboxID(), string(bob.InboxID()))

	if err := ac.g.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	info, err := ac.g.Info(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	ds, ok := info.DisappearingSettings()
	if info.Name() != "Book club" || !slices.Contains(info.Admins, bob.InboxID()) || !ok || ds.InNs != int64(24*time.Hour) {
		t.Fatalf("group after the commands: name %q admins %v disappearing %+v %v", info.Name(), info.Admins, ds, ok)
	}
}

// TestDeleteAsReply: "!delete" sent as a reply deletes the message
// replied to, for its author; others are refused with the rule.
func TestDeleteAsReply(t *testing.T) {
	addr := startNode(t)
	b := newBot(t, addr, nil)
	b.start(t)
	alice := newUser(t, addr, "alice")
	bob := newUser(t, addr, "bob")
	carol := newUser(t, addr, "carol")
	ac := newChat(t, alice, b.InboxID(), bob.InboxID(), carol.InboxID())
	if err := ac.g.AddSuperAdmin(ctxT(t), b.InboxID()); err != nil {
		t.Fatal(err)
	}
	bc := joinChat(t, bob)
	cc := joinChat(t, carol)
	bc.send("oops, wrong group")
	target := bc.after
	reply := func(c *chat, text string) {
		t.Helper()
		id, err := c.g.SendReply(ctxT(t), &client.Reply{Reference: target.String(), ReferenceInboxID: string(bob.InboxID()),
			Content: client.EncodeText(text)})
		if err != nil {
			t.Fatal(err)
		}
		c.after = id
	}
	reply(cc, "!delete")
	cc.expect(b.InboxID(), "Sorry, you can't use !delete: deleting someone else's message is for admins and super admins, and you are a member")
	reply(bc, "!delete")
	bc.expect(b.InboxID(), "Deleted the message.")
	reply(bc, "!delete")
	bc.expect(b.InboxID(), "That message is already deleted.")
}

// TestRestart: a bot stopped and started again on the same installation
// and store keeps its consent decisions and plugin settings, and answers
// the commands sent while it was away.
func TestRestart(t *testing.T) {
	addr := startNode(t)
	alice := newUser(t, addr, "alice")
	consent := func(cfg *Config) {
		cfg.Consent = ConsentConfig{Mode: ConsentRequireAccept, Operators: []identity.InboxID{alice.InboxID()}}
	}
	b := newBot(t, addr, consent)
	b.start(t)
	carol := newUser(t, addr, "carol")
	cc := newChat(t, carol, b.InboxID(), alice.InboxID())
	ac := joinChat(t, alice)
	cc.expect(b.InboxID(), "has to type !accept")
	ac.send("!accept")
	ac.expect(b.InboxID(), "Accepted")
	cc.send("!plugins enable moderation.flood") // carol created the group: super admin
	cc.expect(b.InboxID(), "moderation.flood is now on here.")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	cc.send("!ping") // while the bot is away
	b2 := newBotOn(t, b.client, b.store, consent)
	b2.start(t)
	cc.expect(b.InboxID(), "pong")
	cc.send("!plugins list")
	cc.expect(b.InboxID(), "moderation.flood: on")
	if b2.log.has("conversation decided") {
		t.Errorf("the restarted bot decided again on a known conversation")
	}
}
