package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRunSelfCheck(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"mls-selfcheck", "-members", "4", "-messages", "2"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), "mls self-check passed: 4 members") || !strings.Contains(out.String(), "8 messages") {
		t.Fatalf("unexpected output %q", out.String())
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	for _, args := range [][]string{{"mls-selfcheck", "-members", "1"}, {"mls-selfcheck", "-members", "5000"}, {"mls-selfcheck", "-messages", "-1"}, {"nonsense"}, {"-nope"}, {"-config", "/nonexistent/config.yaml"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
		if errb.Len() == 0 {
			t.Errorf("run(%q) printed no error", args)
		}
	}
}

func TestConfigExampleLoads(t *testing.T) {
	cfg, err := loadConfig("../../config.example.yaml")
	if err != nil {
		t.Fatalf("config.example.yaml: %v", err)
	}
	if !cfg.Node.Embedded || cfg.Node.Listen != "127.0.0.1:5556" || cfg.Node.Database != "mlsbridge-node.db" {
		t.Fatalf("example config = %+v, want the embedded node on 127.0.0.1:5556", cfg.Node)
	}
	if cfg.Log.Level != "info" || cfg.Log.Format != "text" {
		t.Fatalf("example log config = %+v", cfg.Log)
	}
	// The example's bot is the default bot of a config without bots:.
	def, err := parseConfig([]byte("node:\n  embedded: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Bots) != 1 || fmt.Sprintf("%+v", cfg.Bots[0]) != fmt.Sprintf("%+v", def.Bots[0]) {
		t.Fatalf("example bots = %+v, want the default bot %+v", cfg.Bots, def.Bots)
	}
}

// TestConfigExampleNamesEveryKey: config.example.yaml shows every key of
// Config, and each key set in it follows a comment.
func TestConfigExampleNamesEveryKey(t *testing.T) {
	data, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct {
			return
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || key == "" || key == "-" {
				continue
			}
			found := false
			for j, l := range lines {
				code, _, _ := strings.Cut(l, "#")
				code = strings.TrimPrefix(strings.TrimSpace(code), "- ")
				if strings.HasPrefix(code, key+":") {
					found = true
					if j == 0 || !strings.Contains(lines[j-1], "#") {
						t.Errorf("%s%s (line %d) has no comment above it", path, key, j+1)
					}
				} else if strings.Contains(l, key+":") {
					found = true // shown in a comment (an example)
				}
			}
			if !found {
				t.Errorf("config.example.yaml does not show %s%s", path, key)
			}
			walk(path+key+".", f.Type)
		}
	}
	walk("", reflect.TypeFor[Config]())
}

func TestConfigEmptyMeansDefaults(t *testing.T) {
	cfg, err := parseConfig([]byte("node:\n  embedded: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Node.Listen != "127.0.0.1:5556" || cfg.Log.Level != "info" {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
	if _, err := parseConfig(nil); err == nil || !strings.Contains(err.Error(), "node.url") {
		t.Fatalf("empty config (remote node without url) = %v, want a node.url error", err)
	}
}

func TestConfigReportsEveryProblem(t *testing.T) {
	_, err := parseConfig([]byte("log:\n  level: loud\n  format: xml\nnode:\n  embedded: true\n  listen: nowhere\n"))
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"log.level", "log.format", "node.listen"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if _, err := parseConfig([]byte("nod:\n  embedded: true\n")); err == nil {
		t.Error("unknown key accepted")
	}
}

func TestMainJobServesEmbeddedNode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	conf := "node:\n  embedded: true\n  listen: 127.0.0.1:0\n  database: " + filepath.Join(dir, "node.db") + "\n"
	conf += "metrics:\n  listen: 127.0.0.1:0\n" // not the default port: tests run side by side
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	urls := make(chan string, 1)
	go func() { done <- runMain(ctx, []string{"-config", path}, &out, &errb, func(u string) { urls <- u }) }()
	var url string
	select {
	case url = <-urls:
	case code := <-done:
		t.Fatalf("main job exited %d before serving: %s", code, errb.String())
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatalf("dial the embedded node at %s: %v", url, err)
	}
	conn.Close()
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("main job exited %d after cancel: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "node.db")); err != nil {
		t.Fatalf("node database not created: %v", err)
	}
}

// TestConfigNodeURL checks the remote node URL rules and the dial address
// taken from it.
func TestConfigNodeURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		ok   bool
		dial string
	}{
		{"http://127.0.0.1:5556", true, "127.0.0.1:5556"},
		{"http://127.0.0.1:5556/", true, "127.0.0.1:5556"},
		{"https://node.example:443", true, "node.example:443"},
		{"http://127.0.0.1:5556/api", false, ""},
		{"http://user:pw@127.0.0.1:5556", false, ""},
		{"http://127.0.0.1:5556?x=1", false, ""},
		{"grpc://127.0.0.1:5556", false, ""},
		{"127.0.0.1:5556", false, ""},
		{"http://", false, ""},
	} {
		_, err := parseConfig([]byte("node:\n  embedded: false\n  url: \"" + tc.url + "\"\nbots: []\n"))
		if tc.ok != (err == nil) {
			t.Errorf("%q: err = %v, want ok=%v", tc.url, err, tc.ok)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), "node.url") {
			t.Errorf("%q: error %q does not name node.url", tc.url, err)
		}
		if tc.ok {
			if got := nodeDialAddr(tc.url); got != tc.dial {
				t.Errorf("%q: dial address %q, want %q", tc.url, got, tc.dial)
			}
		}
	}
}
