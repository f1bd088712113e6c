package commands_test

import (
	"errors"
	"strings"
	"testing"

	"mlsbridge/commands"
)

func TestParse(t *testing.T) {
	d := newDispatcher(t, commands.Config{})
	tests := []struct {
		name string
		line string
		// want is the canonical rendering (Invocation.String).
		want string
		// wantErr is the error kind: "parse", "unknown" or "usage".
		wantErr string
		// wantMsg is a substring of the error's UserMessage.
		wantMsg string
	}{
		{name: "bare command", line: "ping", want: "ping"},
		{name: "case-insensitive", line: "PiNg", want: "ping"},
		{name: "alias", line: "h", want: "help"},
		{name: "subcommand", line: "admin list", want: "admin list"},
		{name: "alias and subcommand alias", line: "Admins LS", want: "admin list"},
		{name: "member argument", line: "admin add " + carol, want: "admin add " + carol},
		{name: "member upper case canonicalised", line: "admin add " + strings.ToUpper(carol), want: "admin add " + carol},
		{name: "address argument", line: "admin add 0x00000000000000000000000000000000000000E1", want: "admin add " + erin},
		{name: "mention", line: "superadmin add @" + bob, want: "superadmin add @" + bob},
		{name: "quoted member", line: `admin add "` + carol + `"`, want: "admin add " + carol},
		{name: "variadic members", line: "members add " + dave + " @" + erin + " " + carol, want: "members add " + dave + " @" + erin + " " + carol},
		{name: "free text", line: "group name Book club   2", want: "group name Book club   2"},
		{name: "free text keeps apostrophes", line: "group name it's ours", want: "group name it's ours"},
		{name: "free text one quoted word", line: `group name "Book club"`, want: "group name Book club"},
		{name: "free text quoted with padding", line: `group name " padded "`, want: `group name " padded "`},
		{name: "free text empty quotes", line: `group description ""`, want: `group description ""`},
		{name: "free text with quotes inside", line: `group description say "hi" twice`, want: `group description say "hi" twice`},
		{name: "free text that is a quoted quote", line: `group name '"x"'`, want: `group name "\"x\""`},
		{name: "free text escapes applied", line: `group name it\'s a \\ club`, want: `group name "it's a \\ club"`},
		{name: "free text trailing backslash", line: `group name club\`, wantErr: "parse", wantMsg: "ends with a backslash"},
		{name: "free text multi-line", line: "group description line one\nline two", want: "group description line one\nline two"},
		{name: "word argument", line: "group image https://x.test/a.png", want: "group image https://x.test/a.png"},
		{name: "duration", line: "disappear 90m", want: "disappear 1h30m"},
		{name: "duration off", line: "disappear OFF", want: "disappear off"},
		{name: "choices", line: "policy set ADD_MEMBER Admin", want: "policy set add_member admin"},
		{name: "optional arguments absent", line: "plugins config filter", want: "plugins config filter"},
		{name: "optional arguments present", line: "plugins config filter words spam, scam", want: "plugins config filter words spam, scam"},
		{name: "help with path", line: "help admin add", want: "help admin add"},
		{name: "help quoted word", line: `help "two words"`, want: `help "two words"`},

		{name: "nothing", line: "", wantErr: "unknown", wantMsg: "You gave no command after !."},
		{name: "unknown command", line: "frobnicate", wantErr: "unknown", wantMsg: "I don't know the command !frobnicate. Type !help"},
		{name: "typo suggestion", line: "hlep", wantErr: "unknown", wantMsg: "Did you mean !help?"},
		{name: "typo in long name", line: "superadmn add", wantErr: "unknown", wantMsg: "Did you mean !superadmin?"},
		{name: "prefix suggestion", line: "plug", wantErr: "unknown", wantMsg: "Did you mean !plugins?"},
		{name: "alias typo suggests canonical", line: "commandz", wantErr: "unknown", wantMsg: "Did you mean !help?"},
		{name: "nothing close", line: "xyzzy", wantErr: "unknown", wantMsg: "I don't know the command !xyzzy. Type"},
		{name: "unknown subcommand", line: "admin ad " + carol, wantErr: "unknown", wantMsg: "!admin has no subcommand \"ad\". Did you mean !admin add? Type !help admin"},
		{name: "missing subcommand", line: "admin", wantErr: "usage", wantMsg: "!admin needs a subcommand: add, remove or list.\nUsage: !admin add|remove|list"},
		{name: "missing argument", line: "admin add", wantErr: "usage", wantMsg: "!admin add needs <member>: an inbox id (64 hex digits) or an address"},
		{name: "missing variadic", line: "members remove", wantErr: "usage", wantMsg: "Usage: !members remove <member>..."},
		{name: "missing text", line: "group name   ", wantErr: "usage", wantMsg: "!group name needs <name>"},
		{name: "extra argument", line: "admin add " + carol + " " + dave, wantErr: "usage", wantMsg: "!admin add got one argument too many: \"" + dave[:32] + "…\"."},
		{name: "argument to no-argument command", line: "ping pong", wantErr: "usage", wantMsg: "!ping takes no arguments, but got \"pong\"."},
		{name: "bad member", line: "admin add bob", wantErr: "usage", wantMsg: "\"bob\" is not a member I can use"},
		{name: "bad member among several", line: "members add " + dave + " 0x12", wantErr: "usage", wantMsg: "it has 2 hex digits after 0x"},
		{name: "bad duration", line: "disappear soon", wantErr: "usage", wantMsg: "\"soon\" is not a duration"},
		{name: "bad choice with suggestion", line: "policy set add_member admn", wantErr: "usage", wantMsg: "\"admn\" is not a level I know: use allow, deny, admin or super_admin. Did you mean admin?"},
		{name: "unterminated quote", line: `admin add "` + carol, wantErr: "parse", wantMsg: "never closed"},
		{name: "unterminated quote opening free text", line: `group name "Book club`, wantErr: "parse", wantMsg: `the quote " before "Book club" is never closed`},
		{name: "escaped quote opening free text", line: `group name \'90s club`, want: `group name "'90s club"`},
		{name: "free text starting with a closed quote", line: `group name "Book" club`, want: `group name "Book" club`},
		{name: "unterminated quote in a word argument", line: `group image "http://x`, wantErr: "parse", wantMsg: "never closed"},
		{name: "control character", line: "ping\x00", wantErr: "parse", wantMsg: "control character"},
		{name: "invalid UTF-8 in name", line: "pi\xffng", wantErr: "parse", wantMsg: "not valid text"},
		{name: "hostile long name", line: strings.Repeat("x", 10000), wantErr: "unknown", wantMsg: "…"},
		{name: "hostile many members", line: "members add " + strings.Repeat(carol+" ", commands.MaxTokens), wantErr: "parse", wantMsg: "too many words"},
		{name: "hostile long line", line: "group name " + strings.Repeat("x", commands.MaxLineBytes), wantErr: "parse", wantMsg: "too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := d.Parse(tc.line)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse(%q): %v", tc.line, err)
				}
				if got := inv.String(); got != tc.want {
					t.Errorf("Parse(%q).String() = %q, want %q", tc.line, got, tc.want)
				}
				return
			}
			var ok bool
			switch tc.wantErr {
			case "parse":
				_, ok = errors.AsType[*commands.ParseError](err)
			case "unknown":
				_, ok = errors.AsType[*commands.UnknownCommandError](err)
			case "usage":
				_, ok = errors.AsType[*commands.UsageError](err)
				if inv == nil || inv.Command == nil {
					t.Errorf("a usage error must come with the resolved command")
				}
			}
			if !ok {
				t.Fatalf("Parse(%q) error = %v (%T), want a %s error", tc.line, err, err, tc.wantErr)
			}
			msg := err.(commands.UserMessager).UserMessage()
			if !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("UserMessage() = %q, want it to contain %q", msg, tc.wantMsg)
			}
			if len(msg) > 1000 {
				t.Errorf("UserMessage() is %d bytes; echoed input must be cut", len(msg))
			}
		})
	}
}

func TestParseTypedValues(t *testing.T) {
	d := newDispatcher(t, commands.Config{})
	inv, err := d.Parse("members add @" + erin + " " + dave)
	if err != nil {
		t.Fatal(err)
	}
	ms := inv.Args.Members("member")
	if len(ms) != 2 {
		t.Fatalf("got %d members, want 2", len(ms))
	}
	if addr, ok := ms[0].Address(); !ok || addr != erin || !ms[0].IsMention() {
		t.Errorf("first member = %v, want the address %s as a mention", ms[0], erin)
	}
	if id, ok := ms[1].Inbox(); !ok || id != dave || ms[1].IsMention() {
		t.Errorf("second member = %v, want the inbox %s", ms[1], dave)
	}

	inv, err = d.Parse("disappear off")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := inv.Args.Value("after"); !ok || !v.Off || v.Duration != 0 || v.Kind != commands.ArgDuration {
		t.Errorf("disappear off gave %+v, %t", v, ok)
	}

	inv, err = d.Parse("plugins config filter")
	if err != nil {
		t.Fatal(err)
	}
	if inv.Args.Has("key") || inv.Args.Has("value") || inv.Args.Text("plugin") != "filter" {
		t.Errorf("plugins config filter gave %+v", inv.Args)
	}
}

func TestArgsUnknownNamePanics(t *testing.T) {
	d := newDispatcher(t, commands.Config{})
	inv, err := d.Parse("ping")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("looking up an undeclared argument did not panic")
		}
	}()
	inv.Args.Text("nope")
}
