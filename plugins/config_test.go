package plugins_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"mlsbridge/plugins"
)

func TestDuration(t *testing.T) {
	good := []struct {
		in   string
		want time.Duration
		out  string
	}{
		{`"30s"`, 30 * time.Second, `"30s"`},
		{`"1h30m"`, 90 * time.Minute, `"1h30m"`},
		{`"7d"`, 7 * 24 * time.Hour, `"7d"`},
		{`"2w"`, 14 * 24 * time.Hour, `"14d"`},
		{`"500ms"`, 500 * time.Millisecond, `"500ms"`},
		{`"1.5s"`, 1500 * time.Millisecond, `"1.5s"`},
		{`"0"`, 0, `"0s"`},
		{`"off"`, 0, `"0s"`},
		{`""`, 0, `"0s"`},
		{`"10M"`, 10 * time.Minute, `"10m"`},
	}
	for _, c := range good {
		var d plugins.Duration
		if err := json.Unmarshal([]byte(c.in), &d); err != nil || d.Std() != c.want {
			t.Errorf("decode %s = %v, %v; want %v", c.in, d.Std(), err, c.want)
			continue
		}
		out, err := json.Marshal(d)
		if err != nil || string(out) != c.out {
			t.Errorf("encode %v = %s, %v; want %s", c.want, out, err, c.out)
		}
	}
	for _, in := range []string{`30`, `"-5s"`, `"soon"`, `"5x"`, `true`, `"99999999999999999999d"`} {
		var d plugins.Duration
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("decode %s = %v, want an error", in, d)
		}
	}
}

func TestStringList(t *testing.T) {
	cases := []struct{ in, want string }{
		{`["a", "b,c"]`, "a|b,c"},
		{`"spam, scam ,, eggs "`, "spam|scam|eggs"},
		{`""`, ""},
		{`null`, ""},
		{`[]`, ""},
	}
	for _, c := range cases {
		var l plugins.StringList
		if err := json.Unmarshal([]byte(c.in), &l); err != nil || strings.Join(l, "|") != c.want {
			t.Errorf("decode %s = %q, %v; want %q", c.in, l, err, c.want)
		}
	}
	for _, in := range []string{`1`, `[1]`, `{"a":1}`, `true`} {
		var l plugins.StringList
		if err := json.Unmarshal([]byte(in), &l); err == nil {
			t.Errorf("decode %s = %q, want an error", in, l)
		}
	}
}

func TestTemplate(t *testing.T) {
	tpl, err := plugins.ParseTemplate("Hi {name}, {{braces}} stay; {count} of you", "name", "count")
	if err != nil {
		t.Fatal(err)
	}
	got := tpl.Render(map[string]string{"name": "{count}", "count": "3"})
	if want := "Hi {count}, {braces} stay; 3 of you"; got != want {
		t.Errorf("Render = %q, want %q (values are not expanded again)", got, want)
	}
	bad := []struct{ text, reason string }{
		{"{nope}", "not a placeholder I know; use {name}"},
		{"open {name", "never closed"},
		{"close }", "closes nothing"},
		{strings.Repeat("x", plugins.MaxTemplateLength+1), "the limit is"},
	}
	for _, c := range bad {
		if _, err := plugins.ParseTemplate(c.text, "name"); err == nil || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("ParseTemplate(%.20q) = %v, want an error with %q", c.text, err, c.reason)
		}
	}
	if tpl, _ := plugins.ParseTemplate(""); !tpl.IsZero() || tpl.Render(nil) != "" {
		t.Errorf("the empty template is not zero")
	}
}

func TestMentions(t *testing.T) {
	ids := []plugins.InboxID{"a", "b", "c"}
	if got := plugins.Mentions(ids, 2); got != "@a, @b and 1 more" {
		t.Errorf("Mentions(max 2) = %q", got)
	}
	if got := plugins.Mentions(ids, 0); got != "@a, @b, @c" {
		t.Errorf("Mentions(no max) = %q", got)
	}
}

func FuzzStringList(f *testing.F) {
	for _, s := range []string{`["a","b"]`, `"a, b"`, `null`, `""`, `[1]`, `"\u0000,,"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var l plugins.StringList
		if err := json.Unmarshal([]byte(in), &l); err != nil {
			return
		}
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatalf("encode %q: %v", l, err)
		}
		var again plugins.StringList
		if err := json.Unmarshal(b, &again); err != nil || strings.Join(again, "\x00") != strings.Join(l, "\x00") || len(again) != len(l) {
			t.Fatalf("round trip of %q gave %q, %v", l, again, err)
		}
	})
}

func FuzzDuration(f *testing.F) {
	for _, s := range []string{"30s", "1h30m", "7d", "2w", "1.5s", "off", "0", "-1s", "99999999999d", "1d1d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := plugins.ParseDuration(in)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %v, negative", in, d.Std())
		}
		again, err := plugins.ParseDuration(d.String())
		if err != nil || again != d {
			t.Fatalf("ParseDuration(%q) = %v, written %q, read back %v, %v", in, d.Std(), d.String(), again.Std(), err)
		}
	})
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"Welcome {mentions}!", "{{x}}", "{", "}", "{count}{mentions}", "{{{count}}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		tpl, err := plugins.ParseTemplate(in, "mentions", "count")
		if err != nil {
			return
		}
		again, err := plugins.ParseTemplate(tpl.String(), "mentions", "count")
		if err != nil {
			t.Fatalf("String of %q = %q does not parse: %v", in, tpl.String(), err)
		}
		vars := map[string]string{"mentions": "M", "count": "C"}
		if tpl.Render(vars) != again.Render(vars) {
			t.Fatalf("round trip of %q changed its rendering", in)
		}
	})
}

// TestCheckConfig checks that CheckConfig applies the manager's own rules:
// strict decoding (an object, known keys, nothing after it), then
// Provision and Validate, with panics recovered; and that it starts
// nothing.
func TestCheckConfig(t *testing.T) {
	j := &journal{}
	info := probeInfo("test.check", j)
	for _, raw := range []string{``, `null`, ` {"prefix": "x", "limit": 3} `} {
		if err := plugins.CheckConfig(info, json.RawMessage(raw)); err != nil {
			t.Errorf("CheckConfig(%q) = %v, want nil", raw, err)
		}
	}
	for raw, want := range map[string]string{
		`[1]`:               "settings must be a JSON object",
		`"x"`:               "settings must be a JSON object",
		`{"nope": 1}`:       `there is no setting "nope"`,
		`{"limit": "many"}`: "limit must be a whole number, not string",
		`{"limit": 1} {}`:   "there is more after the settings object",
		`{"limit": 1`:       "the settings are not valid JSON",
		`{"limit": -1}`:     "limit must not be negative",
	} {
		err := plugins.CheckConfig(info, json.RawMessage(raw))
		ce, ok := errors.AsType[*plugins.ConfigError](err)
		if !ok || ce.Reason != want || ce.Plugin != "test.check" {
			t.Errorf("CheckConfig(%q) = %v, want a ConfigError %q", raw, err, want)
		}
	}
	err := plugins.CheckConfig(info, json.RawMessage(`{"panic": "provision"}`))
	if pe, ok := errors.AsType[*plugins.PanicError](err); !ok || pe.Call != "provision" {
		t.Errorf("CheckConfig with a panicking Provision = %v, want a PanicError", err)
	}
	if got := j.all(); len(got) != 0 {
		t.Errorf("CheckConfig started or ran the plugin: %v", got)
	}
}
