package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mlsbridge/identity"
	"mlsbridge/node"
	"mlsbridge/storage"
)

// testKey is a wallet key used only by these tests.
const testKey = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"

func TestConfigBotsDefaults(t *testing.T) {
	cfg, err := parseConfig([]byte("node:\n  embedded: true\n  database: /data/node.db\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Bots) != 1 {
		t.Fatalf("bots = %+v, want the one default bot", cfg.Bots)
	}
	b := cfg.Bots[0]
	if b.Name != "default" || b.Database != "/data/mlsbridge-bot-default.db" || b.KeyFile != "/data/mlsbridge-bot-default.key" ||
		!b.generateKey || b.CommandPrefix != "!" || b.Consent.Mode != "allow_all" {
		t.Fatalf("default bot = %+v", b)
	}
	cfg, err = parseConfig([]byte("node:\n  embedded: true\nbots: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Bots) != 0 {
		t.Fatalf("bots: [] gave %+v, want none", cfg.Bots)
	}
	// A remote node: the bot's files are in the working directory.
	cfg, err = parseConfig([]byte("node:\n  url: http://127.0.0.1:5556\nbots:\n  - name: b1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bots[0].Database != "mlsbridge-bot-b1.db" || cfg.Bots[0].KeyFile != "mlsbridge-bot-b1.key" {
		t.Fatalf("remote-node bot = %+v", cfg.Bots[0])
	}
}

func TestConfigBotsKeys(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "k")
	if err := os.WriteFile(keyFile, []byte("  "+strings.TrimPrefix(testKey, "0x")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BOT_KEY": testKey}
	conf := "node:\n  embedded: true\nbots:\n  - name: a\n    key_env: BOT_KEY\n  - name: b\n    key_file: " + keyFile + "\n"
	cfg, err := parseConfigEnv([]byte(conf), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := hex.DecodeString(strings.TrimPrefix(testKey, "0x"))
	want, _ := identity.NewEthereumSigner(raw)
	for _, b := range cfg.Bots {
		if b.signer == nil || b.signer.Address() != want.Address() || b.generateKey {
			t.Errorf("bot %s: signer %v, generate %v; want %s", b.Name, b.signer, b.generateKey, want.Address())
		}
	}
	// The key never shows in the config's printed form.
	if s := strings.ToLower(fmtConfig(cfg)); strings.Contains(s, strings.TrimPrefix(testKey, "0x")) {
		t.Fatal("the printed config holds the key")
	}
}

func fmtConfig(c *Config) string {
	var b bytes.Buffer
	for _, bot := range c.Bots {
		b.WriteString(strings.Join([]string{bot.Name, bot.KeyEnv, bot.KeyFile}, " "))
		b.WriteString(" " + bot.signer.String() + " " + bot.signer.GoString())
	}
	return b.String()
}

func TestConfigBotsReportEveryProblem(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(bad, []byte("0x1234secretish"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := `node:
  url: https://node.example
  embedded: false
bots:
  - name: "Bad Name"
    command_prefix: "! "
    consent:
      mode: sometimes
      operators: [nobody]
  - name: two
  - name: three
    key_env: UNSET_KEY
  - name: four
    key_env: X
    key_file: /k
  - name: five
    key_file: ` + bad + `
    plugins:
      available: [moderation.flood]
      defaults:
        moderation.nope: {enabled: true}
        moderation.links: {enabled: true}
  - name: six
    key_file: ` + bad + `
    plugins:
      defaults:
        moderation.flood:
          enabled: true
          config: {max_messages: 5000}
        moderation.wordfilter:
          config: {no_such_key: 1}
  - name: six
    key_env: X
`
	_, err := parseConfigEnv([]byte(conf), func(k string) string {
		if k == "X" {
			return testKey
		}
		return ""
	})
	if err == nil {
		t.Fatal("bad bots accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		`bots[0].name "Bad Name"`, `bots[0].command_prefix`, `bots[0].consent.mode "sometimes"`, `bots[0].consent.operators[0] "nobody"`,
		`bots[1]: key_env or key_file is required`, `bots[2].key_env: environment variable UNSET_KEY`, `bots[3]: set key_env or key_file, not both`,
		`bots[4].key_file`, `bots[4].plugins.defaults.moderation.nope: no such plugin`,
		`bots[4].plugins.defaults.moderation.links: the plugin is not in bots[4].plugins.available`,
		`bots[5].plugins.defaults.moderation.flood.config: max_messages must be from 1`,
		`bots[5].plugins.defaults.moderation.wordfilter.config: there is no setting "no_such_key"`,
		`bots[6].name "six": another bot has this name`, `node.url "https://node.example"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
	for _, secret := range []string{"1234secretish", strings.TrimPrefix(testKey, "0x")} {
		if strings.Contains(msg, secret) {
			t.Errorf("error quotes a key: %s", msg)
		}
	}
}

func TestConfigBotsPluginDefaults(t *testing.T) {
	conf := `node:
  embedded: true
  database: ` + filepath.Join(t.TempDir(), "node.db") + `
bots:
  - name: default
    plugins:
      available: [moderation.flood, members.welcome]
      defaults:
        moderation.flood:
          enabled: true
          config: {max_messages: 5, window: 10s}
        members.welcome: {}
`
	cfg, err := parseConfig([]byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Bots[0].pluginDefaults
	flood, welcome := d["moderation.flood"], d["members.welcome"]
	if !flood.Enabled || welcome.Enabled || welcome.Config != nil {
		t.Fatalf("plugin defaults = %+v", d)
	}
	var fc map[string]any
	if err := json.Unmarshal(flood.Config, &fc); err != nil || fc["max_messages"] != float64(5) || fc["window"] != "10s" {
		t.Fatalf("flood default config = %s (%v)", flood.Config, err)
	}

	// The bot's store answers the defaults for plugins a group has no
	// setting of, and the stored setting otherwise.
	ctx := context.Background()
	db, err := storage.OpenBot(ctx, filepath.Join(t.TempDir(), "bot.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := botStore{BotDB: db, defaults: d}
	if err := db.SaveBotPluginSetting(ctx, storage.BotPluginSetting{GroupID: "g1", Plugin: "moderation.flood", Enabled: false}); err != nil {
		t.Fatal(err)
	}
	for group, wantFlood := range map[string]bool{"g1": false, "g2": true} {
		rows, err := s.BotPluginSettings(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, r := range rows {
			got[r.Plugin] = r.Enabled
		}
		if len(rows) != 2 || got["moderation.flood"] != wantFlood || got["members.welcome"] {
			t.Errorf("group %s settings = %+v, want flood enabled %v and welcome off", group, rows, wantFlood)
		}
	}
}

var botLineRE = regexp.MustCompile(`bot default: inbox id ([0-9a-f]{64}), address (0x[0-9a-f]{40});`)

// TestMainJobBotKeyAndRestart runs the main job twice on the same folder
// with a config that names no key: the first run generates the bot's key
// (mode 0600, said in the log, never printed), registers the bot and
// prints how to reach it; the second run reuses the key and installation.
func TestMainJobBotKeyAndRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	conf := "node:\n  embedded: true\n  listen: 127.0.0.1:0\n  database: " + filepath.Join(dir, "node.db") + "\n" +
		"metrics:\n  listen: off\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() (stdout, stderr string) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var out, errb syncBuffer
		done := make(chan int, 1)
		started := make(chan struct{})
		go func() {
			done <- runMain(ctx, []string{"-config", path}, &out, &errb, func(string) { close(started) })
		}()
		select {
		case <-started:
		case code := <-done:
			t.Fatalf("main job exited %d before serving: %s", code, errb.String())
		}
		cancel()
		if code := <-done; code != 0 {
			t.Fatalf("main job exited %d: %s", code, errb.String())
		}
		return out.String(), errb.String()
	}
	out1, log1 := run()
	keyPath := filepath.Join(dir, "mlsbridge-bot-default.key")
	fi, err := os.Stat(keyPath)
	if err != nil {
		t.Fatalf("no key file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	key, _ := os.ReadFile(keyPath)
	hexKey := strings.TrimPrefix(strings.TrimSpace(string(key)), "0x")
	if len(hexKey) != 64 {
		t.Fatalf("key file holds %d characters, want 0x and 64 hex digits", len(hexKey))
	}
	if strings.Contains(out1+log1, hexKey) {
		t.Fatal("the key was printed or logged")
	}
	if !strings.Contains(log1, "generated a new wallet key") || !strings.Contains(log1, "key_file="+keyPath) {
		t.Errorf("log does not say the key was generated:\n%s", log1)
	}
	m1 := botLineRE.FindStringSubmatch(out1)
	if m1 == nil || !strings.Contains(out1, "(libxmtp: host http://127.0.0.1:") || !strings.Contains(out1, "isSecure false") {
		t.Fatalf("stdout does not say how to reach the bot and the node:\n%s", out1)
	}
	raw, _ := hex.DecodeString(hexKey)
	w, _ := identity.NewEthereumSigner(raw)
	if string(w.Address()) != m1[2] {
		t.Errorf("printed address %s, key's address %s", m1[2], w.Address())
	}

	out2, log2 := run()
	m2 := botLineRE.FindStringSubmatch(out2)
	if m2 == nil || m2[1] != m1[1] || m2[2] != m1[2] {
		t.Fatalf("second run printed %q, want the same bot %q", out2, m1[0])
	}
	if strings.Contains(log2, "generated a new wallet key") || strings.Contains(log2, "registering the bot's installation") {
		t.Errorf("second run made a new key or registered again:\n%s", log2)
	}

	// Without its key file, the existing installation still runs (and no
	// mismatching key is made).
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	out3, log3 := run()
	if m3 := botLineRE.FindStringSubmatch(out3); m3 == nil || m3[1] != m1[1] {
		t.Fatalf("run without key file printed %q, want the same bot", out3)
	}
	if !strings.Contains(log3, "key file is missing") {
		t.Errorf("no warning about the missing key file:\n%s", log3)
	}
	if _, err := os.Stat(keyPath); err == nil {
		t.Error("a new key file was made for an existing installation")
	}
}

// TestMainJobRemoteNode: with node.embedded false the bots register on
// the node at node.url, and the output names that node.
func TestMainJobRemoteNode(t *testing.T) {
	dir := t.TempDir()
	n, err := node.Start(context.Background(), node.Options{Listen: "127.0.0.1:0", Database: filepath.Join(dir, "node.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Stop(ctx)
	})
	url := "http://" + n.Addr().String()
	path := filepath.Join(dir, "config.yaml")
	conf := "node:\n  url: " + url + "\nmetrics:\n  listen: off\nbots:\n  - name: remote\n    key_env: TEST_BOT_KEY\n    database: " +
		filepath.Join(dir, "bot.db") + "\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_BOT_KEY", testKey)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	started := make(chan string, 1)
	go func() { done <- runMain(ctx, []string{"-config", path}, &out, &errb, func(u string) { started <- u }) }()
	select {
	case u := <-started:
		if u != url {
			t.Errorf("started with %s, want the remote node %s", u, url)
		}
	case code := <-done:
		t.Fatalf("main job exited %d: %s", code, errb.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("main job exited %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "remote XMTP node at "+url) || !regexp.MustCompile(`bot remote: inbox id [0-9a-f]{64}`).MatchString(out.String()) {
		t.Fatalf("stdout:\n%s", out.String())
	}
	if strings.Contains(out.String()+errb.String(), strings.TrimPrefix(testKey, "0x")) {
		t.Fatal("the key from the environment was printed or logged")
	}
}
