package plugins_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"mlsbridge/commands"
	"mlsbridge/plugins"
	"mlsbridge/plugins/plugintest"
	"mlsbridge/policy"
)

func TestNewManagerRefusesBadConfig(t *testing.T) {
	store := plugintest.NewStore()
	rec := &plugintest.Recorder{}
	j := &journal{}
	cases := []struct {
		name string
		cfg  plugins.Config
	}{
		{"no actions", plugins.Config{Settings: store, Data: store}},
		{"no settings", plugins.Config{Actions: rec, Data: store}},
		{"no data", plugins.Config{Actions: rec, Settings: store}},
		{"bad id", plugins.Config{Actions: rec, Settings: store, Data: store, Plugins: []plugins.Info{{ID: "bad", New: newNop}}}},
		{"repeated id", plugins.Config{Actions: rec, Settings: store, Data: store,
			Plugins: []plugins.Info{probeInfo("test.a", j), probeInfo("test.a", j)}}},
		{"nil New", plugins.Config{Actions: rec, Settings: store, Data: store, Plugins: []plugins.Info{{ID: "test.x"}}}},
	}
	for _, c := range cases {
		if _, err := plugins.NewManager(c.cfg); err == nil {
			t.Errorf("%s: NewManager succeeded", c.name)
		}
	}
}

func TestManagerNotStartedAndStopped(t *testing.T) {
	store := plugintest.NewStore()
	m, err := plugins.NewManager(plugins.Config{Actions: &plugintest.Recorder{}, Settings: store, Data: store, Plugins: []plugins.Info{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Handle(background(), groupA, message("x", "hi")); !errors.Is(err, plugins.ErrNotStarted) {
		t.Errorf("Handle before Start = %v, want ErrNotStarted", err)
	}
	if err := m.Start(background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(background()); err == nil {
		t.Errorf("second Start succeeded")
	}
	if err := m.Stop(background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(background()); err != nil {
		t.Errorf("second Stop = %v", err)
	}
	if err := m.Handle(background(), groupA, message("x", "hi")); !errors.Is(err, plugins.ErrStopped) {
		t.Errorf("Handle after Stop = %v, want ErrStopped", err)
	}
}

func TestPluginsAreOffUntilEnabled(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.a", j), probeInfo("test.b", j))
	list, err := h.Manager.Plugins(background(), groupA)
	if err != nil {
		t.Fatal(err)
	}
	want := []commands.PluginInfo{{ID: "test.a", Summary: "probe test.a"}, {ID: "test.b", Summary: "probe test.b"}}
	if len(list) != 2 || list[0] != want[0] || list[1] != want[1] {
		t.Errorf("Plugins = %+v, want %+v", list, want)
	}
	h.Manager.Handle(background(), groupA, message("x", "hi"))
	if got := j.all(); len(got) != 0 {
		t.Errorf("disabled plugins saw %v", got)
	}
}

func TestEnableDisablePersist(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.a", j), probeInfo("test.b", j))
	enable(t, h, groupA, "test.a", `{"prefix":"p1"}`)
	if !j.has("test.a:start:aaaa:p1") {
		t.Errorf("enabling did not start the plugin with its config: %v", j.all())
	}
	s, ok := h.Store.Setting(groupA, "test.a")
	if !ok || !s.Enabled || string(s.Config) != `{"prefix":"p1"}` {
		t.Errorf("stored setting = %+v, %v", s, ok)
	}
	if err := h.Manager.Handle(background(), groupA, message("x", "hi")); err != nil {
		t.Fatal(err)
	}
	if err := h.Manager.Handle(background(), groupB, message("x", "hi")); err != nil {
		t.Fatal(err)
	}
	if !j.has("test.a:message:aaaa") || j.has("test.a:message:bbbb") || j.has("test.b:message:aaaa") {
		t.Errorf("events went to the wrong plugins or groups: %v", j.all())
	}
	if err := h.Manager.SetEnabled(background(), groupA, "test.a", false); err != nil {
		t.Fatal(err)
	}
	if !j.has("test.a:stop:aaaa") {
		t.Errorf("disabling did not stop the plugin")
	}
	s, _ = h.Store.Setting(groupA, "test.a")
	if s.Enabled || string(s.Config) != `{"prefix":"p1"}` {
		t.Errorf("after disable, stored setting = %+v; want disabled with config kept", s)
	}
	j.reset()
	h.Manager.Handle(background(), groupA, message("x", "hi"))
	if len(j.all()) != 0 {
		t.Errorf("disabled plugin saw %v", j.all())
	}
}

func TestSettingsSurviveRestart(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.a", j))
	enable(t, h, groupA, "test.a", `{"prefix":"kept"}`)
	if err := h.Manager.Stop(background()); err != nil {
		t.Fatal(err)
	}
	j.reset()
	again := plugintest.NewWith(t, plugins.Config{Settings: h.Store, Data: h.Store, Plugins: []plugins.Info{probeInfo("test.a", j)}})
	if err := again.Manager.LoadGroup(background(), groupA); err != nil {
		t.Fatal(err)
	}
	if !j.has("test.a:start:aaaa:kept") {
		t.Errorf("after a restart the plugin did not start with its stored config: %v", j.all())
	}
}

func TestSetConfigRefusesBadConfigs(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.a", j))
	enable(t, h, groupA, "test.a", `{"prefix":"good"}`)
	cases := []struct{ config, reason string }{
		{`{"prefix":`, "not valid JSON"},
		{`[1]`, "JSON object"},
		{`{"nope":1}`, `there is no setting "nope"`},
		{`{"limit":"many"}`, "limit must be a whole number, not string"},
		{`{"limit":-1}`, "limit must not be negative"},
		{`{"limit":1} {}`, "not valid JSON"},
		{`{"schedule":"soon"}`, "not a duration"},
	}
	for _, c := range cases {
		err := h.Manager.SetConfig(background(), groupA, "test.a", json.RawMessage(c.config))
		ce, ok := errors.AsType[*plugins.ConfigError](err)
		if !ok {
			t.Errorf("SetConfig(%s) = %v, want a *ConfigError", c.config, err)
			continue
		}
		if !strings.Contains(ce.UserMessage(), c.reason) {
			t.Errorf("SetConfig(%s) message %q lacks %q", c.config, ce.UserMessage(), c.reason)
		}
	}
	s, _ := h.Store.Setting(groupA, "test.a")
	if string(s.Config) != `{"prefix":"good"}` {
		t.Errorf("a refused config was saved: %s", s.Config)
	}
	if j.count("test.a:start:aaaa:good") != 1 || j.has("test.a:stop:aaaa") {
		t.Errorf("a refused config disturbed the running instance: %v", j.all())
	}
}

func TestSetConfigReplacesInstance(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.a", j))
	enable(t, h, groupA, "test.a", `{"prefix":"one"}`)
	if err := h.Manager.SetConfig(background(), groupA, "test.a", json.RawMessage(` { "prefix" : "two" } `)); err != nil {
		t.Fatal(err)
	}
	want := []string{"test.a:start:aaaa:one", "test.a:stop:aaaa", "test.a:start:aaaa:two"}
	if got := j.all(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("journal = %v, want %v", got, want)
	}
	s, _ := h.Store.Setting(groupA, "test.a")
	if string(s.Config) != `{"prefix":"two"}` {
		t.Errorf("stored config = %s, want it compacted", s.Config)
	}
	// A disabled plugin's config is saved without starting it.
	h.Manager.SetEnabled(background(), groupA, "test.a", false)
	j.reset()
	if err := h.Manager.SetConfig(background(), groupA, "test.a", nil); err != nil {
		t.Fatal(err)
	}
	if len(j.all()) != 0 {
		t.Errorf("configuring a disabled plugin ran it: %v", j.all())
	}
	if s, _ := h.Store.Setting(groupA, "test.a"); s.Config != nil || s.Enabled {
		t.Errorf("stored setting = %+v, want disabled with no config", s)
	}
}

func TestSetConfigKey(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.a", j))
	steps := []struct {
		key, value string
		want       string // stored config; "" when refused
		reason     string
	}{
		{"limit", "5", `{"limit":5}`, ""},
		{"prefix", "hello world", `{"limit":5,"prefix":"hello world"}`, ""},
		{"prefix", "7", `{"limit":5,"prefix":"7"}`, ""},
		{"prefix", `"quoted"`, `{"limit":5,"prefix":"quoted"}`, ""},
		{"schedule", "10m", `{"limit":5,"prefix":"quoted","schedule":"10m"}`, ""},
		{"limit", "-3", "", "limit must not be negative"},
		{"limit", "lots", "", "limit must be a whole number"},
		{"colour", "red", "", `there is no setting "colour"`},
		{"Bad Key", "1", "", "no such setting"},
		{"limit", "", `{"prefix":"quoted","schedule":"10m"}`, ""},
	}
	for _, s := range steps {
		err := h.Manager.SetConfigKey(background(), groupA, "test.a", s.key, s.value)
		if s.want == "" {
			ce, ok := errors.AsType[*plugins.ConfigError](err)
			if !ok || ce.Key != s.key || !strings.Contains(ce.UserMessage(), s.reason) {
				t.Errorf("SetConfigKey(%s, %q) = %v, want a ConfigError for %s mentioning %q", s.key, s.value, err, s.key, s.reason)
			}
			continue
		}
		if err != nil {
			t.Fatalf("SetConfigKey(%s, %q): %v", s.key, s.value, err)
		}
		if got, _ := h.Store.Setting(groupA, "test.a"); string(got.Config) != s.want {
			t.Errorf("after SetConfigKey(%s, %q) stored %s, want %s", s.key, s.value, got.Config, s.want)
		}
	}
	text, err := h.Manager.ConfigText(background(), groupA, "test.a")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{`prefix: "quoted"`, "limit: 0", `schedule: "10m"`} {
		if !strings.Contains(text, line) {
			t.Errorf("ConfigText = %q, lacks %q", text, line)
		}
	}
}

func TestConfigTextShowsDefaults(t *testing.T) {
	h := plugintest.New(t, probeInfo("test.a", &journal{}))
	text, err := h.Manager.ConfigText(background(), groupA, "test.a")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, `prefix: "default"`) {
		t.Errorf("ConfigText = %q, want the provisioned default", text)
	}
}

func TestUnknownPlugin(t *testing.T) {
	h := plugintest.New(t, probeInfo("test.a", &journal{}))
	ctx := background()
	for name, err := range map[string]error{
		"SetEnabled":   h.Manager.SetEnabled(ctx, groupA, "test.nope", true),
		"SetConfig":    h.Manager.SetConfig(ctx, groupA, "test.nope", nil),
		"SetConfigKey": h.Manager.SetConfigKey(ctx, groupA, "test.nope", "a", "b"),
	} {
		if !errors.Is(err, plugins.ErrUnknownPlugin) {
			t.Errorf("%s = %v, want ErrUnknownPlugin", name, err)
		}
	}
	err := h.Manager.ForGroup(groupA).SetPluginEnabled(ctx, "test.nope", true)
	if um, ok := errors.AsType[commands.UserMessager](err); !ok || !strings.Contains(um.UserMessage(), `"test.nope"`) {
		t.Errorf("ForGroup.SetPluginEnabled = %v, want a user message naming the plugin", err)
	}
}

func TestLoadSkipsUnknownAndInvalidSettings(t *testing.T) {
	j := &journal{}
	store := plugintest.NewStore()
	ctx := background()
	store.SavePluginSetting(ctx, groupA, plugins.Setting{Plugin: "gone.plugin", Enabled: true})
	store.SavePluginSetting(ctx, groupA, plugins.Setting{Plugin: "test.a", Enabled: true, Config: []byte(`{"limit":-1}`)})
	store.SavePluginSetting(ctx, groupA, plugins.Setting{Plugin: "test.b", Enabled: true})
	h := plugintest.NewWith(t, plugins.Config{Settings: store, Data: store, Plugins: []plugins.Info{probeInfo("test.a", j), probeInfo("test.b", j)}})
	h.Handle(message("x", "hi"))
	h.Manager.Handle(ctx, groupA, message("x", "hi"))
	if j.has("test.a:message:aaaa") || !j.has("test.b:message:aaaa") {
		t.Errorf("journal = %v; want only test.b running", j.all())
	}
	if len(h.Logs.Containing(slog.LevelWarn, "gone.plugin")) != 1 {
		t.Errorf("the unknown plugin's setting was not logged once at Warn")
	}
	if len(h.Logs.Containing(slog.LevelError, "plugin not started")) != 1 {
		t.Errorf("the invalid stored config was not logged at Error")
	}
	text, err := h.Manager.ConfigText(ctx, groupA, "test.a")
	if err != nil || !strings.Contains(text, "not valid") {
		t.Errorf("ConfigText of an invalid stored config = %q, %v", text, err)
	}
	if s, _ := store.Setting(groupA, "gone.plugin"); !s.Enabled {
		t.Errorf("the unknown plugin's setting was changed")
	}
}

func TestLoadFailureIsReturned(t *testing.T) {
	store := plugintest.NewStore()
	store.Err = func(op string) error { return errors.New("database down") }
	h := plugintest.NewWith(t, plugins.Config{Settings: store, Data: store, Plugins: []plugins.Info{probeInfo("test.a", &journal{})}})
	if err := h.Manager.Handle(background(), groupA, message("x", "hi")); err == nil || !strings.Contains(err.Error(), "database down") {
		t.Errorf("Handle = %v, want the store's error", err)
	}
	store.Err = nil
	if err := h.Manager.Handle(background(), groupA, message("x", "hi")); err != nil {
		t.Errorf("Handle after the store recovered = %v", err)
	}
}

func TestErrorsAndPanicsDoNotStopOthers(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.a", j), probeInfo("test.b", j), probeInfo("test.c", j))
	enable(t, h, h.Group, "test.a", `{"panic":"event"}`)
	enable(t, h, h.Group, "test.b", `{"fail":true}`)
	enable(t, h, h.Group, "test.c", ``)
	h.Handle(message("x", "hi"))
	h.Handle(message("x", "again"))
	for _, id := range []string{"test.a", "test.b", "test.c"} {
		if n := j.count(id + ":message:" + string(h.Group)); n != 2 {
			t.Errorf("%s saw %d messages, want 2", id, n)
		}
	}
	panics := h.Logs.Containing(slog.LevelError, "plugin panicked")
	if len(panics) != 2 || !strings.Contains(panics[0].String(), "plugin=test.a") ||
		!strings.Contains(panics[0].String(), "group_id="+string(h.Group)) || !strings.Contains(panics[0].String(), "stack=") {
		t.Errorf("panic records = %v", panics)
	}
	if fails := h.Logs.Containing(slog.LevelWarn, "probe fails"); len(fails) != 2 {
		t.Errorf("failure records = %v", fails)
	}
}

func TestPanicsInHooks(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.a", j))
	ctx := background()
	err := h.Manager.SetConfig(ctx, h.Group, "test.a", []byte(`{"panic":"provision"}`))
	if pe, ok := errors.AsType[*plugins.PanicError](err); !ok || pe.Call != "provision" || pe.Plugin != "test.a" {
		t.Errorf("SetConfig with a panicking Provision = %v, want a *PanicError", err)
	}
	if err := h.Manager.SetConfig(ctx, h.Group, "test.a", []byte(`{"panic":"start"}`)); err != nil {
		t.Fatal(err)
	}
	err = h.Manager.SetEnabled(ctx, h.Group, "test.a", true)
	if pe, ok := errors.AsType[*plugins.PanicError](err); !ok || pe.Call != "start" {
		t.Errorf("SetEnabled with a panicking Start = %v, want a *PanicError", err)
	}
	h.Handle(message("x", "hi"))
	if j.has("test.a:message:" + string(h.Group)) {
		t.Errorf("a plugin whose Start panicked got events")
	}
	// A panicking Stop is recovered too, and the plugin is off.
	if err := h.Manager.SetConfig(ctx, h.Group, "test.a", []byte(`{"panic":"stop"}`)); err != nil {
		t.Fatal(err)
	}
	if err := h.Manager.SetEnabled(ctx, h.Group, "test.a", true); err != nil {
		t.Fatal(err)
	}
	if err := h.Manager.SetEnabled(ctx, h.Group, "test.a", false); err != nil {
		t.Fatal(err)
	}
	if len(h.Logs.Containing(slog.LevelError, "call=stop")) != 1 {
		t.Errorf("the panic in Stop was not logged")
	}
}

func TestScheduleRunsAndIsCancelledOnStop(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.a", j))
	enable(t, h, h.Group, "test.a", `{"schedule":"1m"}`)
	h.Handle(message("x", "hi"))
	h.Clock.Advance(59 * time.Second)
	if j.has("test.a:scheduled:" + string(h.Group)) {
		t.Fatalf("scheduled func ran early")
	}
	h.Clock.Advance(time.Second)
	if j.count("test.a:scheduled:"+string(h.Group)) != 1 {
		t.Fatalf("scheduled func did not run once at its time: %v", j.all())
	}
	h.Handle(message("x", "hi"))
	if h.Clock.Pending() != 1 {
		t.Fatalf("pending = %d, want 1", h.Clock.Pending())
	}
	h.Manager.SetEnabled(background(), h.Group, "test.a", false)
	if h.Clock.Pending() != 0 {
		t.Errorf("disabling left %d scheduled funcs", h.Clock.Pending())
	}
	h.Clock.Advance(time.Hour)
	if j.count("test.a:scheduled:"+string(h.Group)) != 1 {
		t.Errorf("a cancelled func ran")
	}
}

func TestScheduledPanicIsRecovered(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.a", j))
	enable(t, h, h.Group, "test.a", `{"schedule":"1s","panic":"scheduled"}`)
	h.Handle(message("x", "hi"))
	h.Clock.Advance(time.Second)
	if len(h.Logs.Containing(slog.LevelError, "call=scheduled")) != 1 {
		t.Errorf("the panic in a scheduled func was not logged")
	}
	h.Handle(message("x", "hi"))
	if j.count("test.a:message:"+string(h.Group)) != 2 {
		t.Errorf("the plugin stopped getting events after a scheduled panic")
	}
}

func TestStopCancelsSchedules(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.a", j))
	enable(t, h, h.Group, "test.a", `{"schedule":"1m"}`)
	h.Handle(message("x", "hi"))
	if err := h.Manager.Stop(background()); err != nil {
		t.Fatal(err)
	}
	if h.Clock.Pending() != 0 || !j.has("test.a:stop:"+string(h.Group)) {
		t.Errorf("Stop left %d scheduled funcs; journal %v", h.Clock.Pending(), j.all())
	}
}

func TestViolationsGoToOtherPlugins(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.a", j), probeInfo("test.b", j))
	enable(t, h, h.Group, "test.a", `{"report":true}`)
	enable(t, h, h.Group, "test.b", `{"report":true}`)
	h.Handle(message("x", "hi"))
	got := j.all()
	want := []string{"test.a:message:" + string(h.Group), "test.b:message:" + string(h.Group),
		"test.b:violation:test.a:probe rule", "test.a:violation:test.b:probe rule"}
	if strings.Join(got[len(got)-4:], " ") != strings.Join(want, " ") {
		t.Errorf("journal = %v, want it to end with %v", got, want)
	}
	if j.has("test.a:violation:test.a:probe rule") || j.has("test.b:violation:test.a:echo") || j.has("test.a:violation:test.b:echo") {
		t.Errorf("a plugin got its own report, or a report made while handling one: %v", got)
	}
}

func TestKVIsScoped(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.a", j), probeInfo("test.b", j))
	for _, g := range []plugins.GroupID{groupA, groupB} {
		for _, id := range []plugins.ID{"test.a", "test.b"} {
			enable(t, h, g, id, `{"key":"k"}`)
			h.Manager.Handle(background(), g, message("x", "hi"))
		}
	}
	ctx := background()
	for _, g := range []plugins.GroupID{groupA, groupB} {
		for _, id := range []plugins.ID{"test.a", "test.b"} {
			v, ok, err := h.Store.PluginData(ctx, g, id, "k")
			if err != nil || !ok || string(v) != string(id)+"@"+string(g) {
				t.Errorf("data of %s in %s = %q, %v, %v", id, g, v, ok, err)
			}
		}
	}
}

type kvPlugin struct {
	out chan error
}

func (p *kvPlugin) HandleEvent(ctx context.Context, h *plugins.Host, ev plugins.Event) error {
	kv := h.KV()
	errs := []error{
		kv.Set(ctx, "", []byte("x")),
		kv.Set(ctx, strings.Repeat("k", plugins.MaxKeyLength+1), nil),
		kv.Set(ctx, "big", make([]byte, plugins.MaxValueLength+1)),
	}
	for _, err := range errs {
		p.out <- err
	}
	if err := kv.Set(ctx, "a", []byte("1")); err != nil {
		return err
	}
	v, ok, err := kv.Get(ctx, "a")
	if err != nil || !ok || string(v) != "1" {
		return errors.New("get after set failed")
	}
	if err := kv.Delete(ctx, "a"); err != nil {
		return err
	}
	if _, ok, _ := kv.Get(ctx, "a"); ok {
		return errors.New("get after delete found the key")
	}
	p.out <- kv.Delete(ctx, "never-set")
	return nil
}

func TestKVLimits(t *testing.T) {
	out := make(chan error, 10)
	h := plugintest.New(t, plugins.Info{ID: "test.kv", New: func() plugins.Plugin { return &kvPlugin{out: out} }})
	enable(t, h, h.Group, "test.kv", "")
	h.Handle(message("x", "hi"))
	for i := range 3 {
		if err := <-out; !errors.Is(err, plugins.ErrInvalidKey) {
			t.Errorf("limit %d: %v, want ErrInvalidKey", i, err)
		}
	}
	if err := <-out; err != nil {
		t.Errorf("deleting a missing key = %v", err)
	}
	if len(h.Logs.AtLeast(slog.LevelWarn)) != 0 {
		t.Errorf("the KV round trip failed: %v", h.Logs.AtLeast(slog.LevelWarn))
	}
}

// replyOnly is an Actions without optional capabilities.
type replyOnly struct{}

func (replyOnly) Reply(context.Context, plugins.GroupID, commands.MessageID, string) error {
	return nil
}

func TestMissingCapabilityIsNotSupported(t *testing.T) {
	out := make(chan error, 3)
	f := &plugins.Func{Handle: func(ctx context.Context, h *plugins.Host, ev plugins.Event) error {
		out <- h.React(ctx, "m", "👍")
		out <- h.DeleteMessage(ctx, "m")
		out <- h.RemoveMembers(ctx, "x")
		return nil
	}}
	h := plugintest.NewWith(t, plugins.Config{Actions: replyOnly{}, Plugins: []plugins.Info{{ID: "test.func", New: func() plugins.Plugin { return f }}}})
	enable(t, h, h.Group, "test.func", "{}")
	h.Handle(message("x", "hi"))
	for range 3 {
		err := <-out
		if _, ok := errors.AsType[*commands.NotSupportedError](err); !ok || !errors.Is(err, commands.ErrNotSupported) {
			t.Errorf("action without capability = %v, want a *commands.NotSupportedError", err)
		}
	}
}

func TestHostActionsReachTheBot(t *testing.T) {
	f := &plugins.Func{Handle: func(ctx context.Context, h *plugins.Host, ev plugins.Event) error {
		m := ev.(plugins.Message)
		return errors.Join(h.Reply(ctx, m.ID, "pong"), h.React(ctx, m.ID, "👍"), h.DeleteMessage(ctx, m.ID),
			h.RemoveMembers(ctx, m.Sender), h.Reply(ctx, "", ""))
	}}
	h := plugintest.New(t, plugins.Info{ID: "test.func", New: func() plugins.Plugin { return f }})
	enable(t, h, h.Group, "test.func", "")
	h.Handle(message("x", "hi"))
	calls := h.Actions.Calls()
	want := []plugintest.Call{
		{Action: plugintest.ActionReply, Group: h.Group, Message: "m1", Text: "pong"},
		{Action: plugintest.ActionReact, Group: h.Group, Message: "m1", Text: "👍"},
		{Action: plugintest.ActionDelete, Group: h.Group, Message: "m1"},
		{Action: plugintest.ActionRemove, Group: h.Group, Members: []plugins.InboxID{"x"}},
	}
	if len(calls) != len(want) {
		t.Fatalf("calls = %+v, want %+v", calls, want)
	}
	for i := range want {
		if calls[i].Action != want[i].Action || calls[i].Group != want[i].Group || calls[i].Message != want[i].Message ||
			calls[i].Text != want[i].Text || strings.Join(inboxes(calls[i].Members), ",") != strings.Join(inboxes(want[i].Members), ",") {
			t.Errorf("call %d = %+v, want %+v", i, calls[i], want[i])
		}
	}
	if len(h.Logs.Containing(slog.LevelWarn, "empty text")) != 1 {
		t.Errorf("an empty reply was not refused")
	}
	if len(h.Logs.Containing(slog.LevelInfo, "plugin removing members")) != 1 {
		t.Errorf("the removal was not logged at Info")
	}
}

func inboxes(ids []plugins.InboxID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

// TestNoMessageTextLogged runs a message through plugins that succeed,
// fail and panic, and checks that its text appears in no log record at any
// level.
func TestNoMessageTextLogged(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.a", j), probeInfo("test.b", j), probeInfo("test.c", j))
	enable(t, h, h.Group, "test.a", `{"panic":"event"}`)
	enable(t, h, h.Group, "test.b", `{"fail":true,"report":true}`)
	enable(t, h, h.Group, "test.c", `{"schedule":"1s"}`)
	const secret = "my seed phrase is correct horse battery staple"
	h.Handle(message("x", secret))
	h.Clock.Advance(time.Second)
	if len(h.Logs.Records()) == 0 {
		t.Fatal("nothing was logged; the test proves nothing")
	}
	for _, r := range h.Logs.Containing(slog.LevelDebug, "horse battery") {
		t.Errorf("message text logged: %s", r)
	}
}

// TestCallsAreSerialized delivers events to one group from several
// goroutines while scheduled funcs fire: the probe's unsynchronized
// counter would trip the race detector if calls overlapped.
func TestCallsAreSerialized(t *testing.T) {
	j := &journal{}
	h := plugintest.NewWith(t, plugins.Config{Clock: realClock{}, Plugins: []plugins.Info{probeInfo("test.a", j), probeInfo("test.b", j)}})
	enable(t, h, groupA, "test.a", `{"schedule":"1ms","report":true}`)
	enable(t, h, groupA, "test.b", `{"report":true}`)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			g := groupA
			if i%2 == 1 {
				g = groupB
			}
			for range 50 {
				h.Manager.Handle(background(), g, message("x", "hi"))
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			h.Manager.SetEnabled(background(), groupB, "test.b", true)
			h.Manager.SetEnabled(background(), groupB, "test.b", false)
		}
	})
	wg.Wait()
	if n := j.count("test.a:message:aaaa"); n != 200 {
		t.Errorf("test.a saw %d messages in group A, want 200", n)
	}
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

func TestUnloadGroup(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.a", j))
	enable(t, h, groupA, "test.a", `{"schedule":"1m"}`)
	h.Manager.Handle(background(), groupA, message("x", "hi"))
	if err := h.Manager.UnloadGroup(background(), groupA); err != nil {
		t.Fatal(err)
	}
	if !j.has("test.a:stop:aaaa") || h.Clock.Pending() != 0 {
		t.Errorf("unloading did not stop the instance and its schedules")
	}
	j.reset()
	h.Manager.Handle(background(), groupA, message("x", "hi"))
	if !j.has("test.a:start:aaaa:default") || !j.has("test.a:message:aaaa") {
		t.Errorf("the group did not load again on the next event: %v", j.all())
	}
}

func TestEveryEventTypeIsDelivered(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.a", j))
	enable(t, h, h.Group, "test.a", "")
	name := "new name"
	h.Handle(plugins.MembersAdded{Members: []plugins.InboxID{"x"}})
	h.Handle(plugins.MembersRemoved{Members: []plugins.InboxID{"x"}})
	h.Handle(plugins.MetadataChanged{Change: policy.MetadataChange{Fields: []policy.FieldChange{{Field: policy.FieldGroupName, New: &name}}}})
	h.Handle(plugins.LeaveRequested{Members: []plugins.InboxID{"x"}})
	for _, want := range []string{"test.a:plugins.MembersAdded", "test.a:plugins.MembersRemoved",
		"test.a:plugins.MetadataChanged", "test.a:plugins.LeaveRequested"} {
		if !j.has(want) {
			t.Errorf("journal lacks %s: %v", want, j.all())
		}
	}
	if err := h.Manager.Handle(background(), h.Group, nil); err == nil {
		t.Errorf("Handle(nil) succeeded")
	}
}
