package links_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"mlsbridge/plugins"
	"mlsbridge/plugins/links"
	"mlsbridge/plugins/plugintest"
	"mlsbridge/policy"
)

func harness(t *testing.T, config string) *plugintest.Harness {
	t.Helper()
	info, ok := plugins.Lookup(links.ID)
	if !ok {
		t.Fatal("links is not registered")
	}
	h := plugintest.New(t, info)
	h.Enable(links.ID, config)
	return h
}

var alice = plugintest.Inbox(1)

func TestDeletesLinksToOtherHosts(t *testing.T) {
	h := harness(t, `{"allowed_hosts":"example.com, *.docs.org, 10.0.0.1"}`)
	bad := []string{
		"see https://evil.com/page",
		"mixed: https://example.com and http://evil.example.net",
		"lookalike https://example.com.evil.io/",
		"suffix trick https://notexample.com",
		"www.evil.com is great",
		"ftp://files.evil.org/x",
		"(https://evil.com)",
		"https://",
	}
	for _, text := range bad {
		h.Actions.Reset()
		m := h.Say(alice, text)
		if d := h.Actions.Of(plugintest.ActionDelete); len(d) != 1 || d[0].Message != m.ID {
			t.Errorf("%q: deletes = %+v, want the message deleted", text, d)
		}
		if r := h.Actions.Of(plugintest.ActionReply); len(r) != 1 || strings.Contains(r[0].Text, "evil") {
			t.Errorf("%q: replies = %+v, want one warning that does not quote the link", text, r)
		}
	}
}

func TestLeavesAllowedLinksAlone(t *testing.T) {
	h := harness(t, `{"allowed_hosts":["Example.COM.","docs.org","10.0.0.1"]}`)
	good := []string{
		"no links at all",
		"https://example.com/path?q=1",
		"HTTPS://WWW.EXAMPLE.COM:8443/x.",
		"https://api.docs.org and www.example.com",
		"http://10.0.0.1/status",
		"bare domains are not links by default: evil.com",
		"mail bob@evil.com",
	}
	for _, text := range good {
		h.Say(alice, text)
	}
	if calls := h.Actions.Calls(); len(calls) != 0 {
		t.Errorf("compliant messages drew %+v", calls)
	}
}

func TestBareDomains(t *testing.T) {
	h := harness(t, `{"allowed_hosts":"example.com","check_bare_domains":true}`)
	h.Say(alice, "example.com/page and sub.example.com are fine, mail me at bob@evil.com")
	h.Say(alice, "https://example.com/?next=evil.com is one link")
	if calls := h.Actions.Calls(); len(calls) != 0 {
		t.Fatalf("allowed bare domains drew %+v", calls)
	}
	h.Say(alice, "go to evil.com/now")
	if len(h.Actions.Of(plugintest.ActionDelete)) != 1 {
		t.Errorf("a bare link to another host was not deleted")
	}
}

func TestEmptyAllowlistRefusesEveryLinkButExemptsAdmins(t *testing.T) {
	h := harness(t, ``)
	h.SayAs(alice, policy.RoleAdmin, "https://anything.com")
	if calls := h.Actions.Calls(); len(calls) != 0 {
		t.Fatalf("an admin's link drew %+v", calls)
	}
	h.Say(alice, "https://anything.com")
	if len(h.Actions.Of(plugintest.ActionDelete)) != 1 {
		t.Errorf("a link with an empty allowlist was not deleted")
	}
	if rs := h.Logs.Containing(slog.LevelDebug, "anything.com"); len(rs) != 0 {
		t.Errorf("the link was logged: %v", rs)
	}
}

func TestHosts(t *testing.T) {
	got := links.Hosts("a https://A.b.c./x, www.Site.org) and c.io", true)
	if want := []string{"a.b.c", "www.site.org", "c.io"}; !slices.Equal(got, want) {
		t.Errorf("Hosts = %q, want %q", got, want)
	}
}

func TestBadConfigs(t *testing.T) {
	info, _ := plugins.Lookup(links.ID)
	h := plugintest.New(t, info)
	for _, host := range []string{"https://example.com", "example.com/path", "exa mple.com", "example.com:443", "-bad-.com"} {
		config, _ := json.Marshal(map[string][]string{"allowed_hosts": {"ok.com", host}})
		err := h.Manager.SetConfig(t.Context(), h.Group, links.ID, config)
		if ce, ok := errors.AsType[*plugins.ConfigError](err); !ok || !strings.Contains(ce.UserMessage(), "allowed host 2 must be a host name") {
			t.Errorf("host %q: %v, want a ConfigError naming allowed host 2", host, err)
		}
	}
}

func FuzzHosts(f *testing.F) {
	f.Add("see https://evil.com/x and www.a.b and c.d/e", true)
	f.Add("http://[::1]:80/ https://%zz", false)
	f.Fuzz(func(t *testing.T, text string, bare bool) {
		a := &links.Allowlist{}
		a.AllowedHosts = plugins.StringList{"example.com"}
		if err := a.Provision(); err != nil {
			t.Fatal(err)
		}
		hosts := links.Hosts(text, bare)
		if a.Allowed(text) && slices.Contains(hosts, "") {
			t.Fatalf("%q has a link without a host yet is allowed", text)
		}
	})
}
