package commands_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"mlsbridge/commands"
	"mlsbridge/policy"
)

// fuzzSeeds are command lines of every shape the grammar has.
var fuzzSeeds = []string{
	"", "ping", "PiNg", "help admin add", `help "two words"`,
	"admin add " + carol, "admin add @" + erin, "superadmin remove " + alice,
	"members add " + dave + " @" + erin + " " + carol, "members remove 0x12",
	"group name Book club", `group name "Book club"`, `group name '"x"'`, `group description ""`,
	`group description say "hi" twice`, "group description it's\nours", "group image https://x.test/a.png",
	"policy set add_member admin", "policy set add_admin allow", "policy show",
	"disappear 1h30m", "disappear off", "disappear 999999999999w",
	"pending list", "pending remove", "delete", "block " + carol, "unblock @" + carol,
	"plugins config filter words spam, scam", "plugins config filter key", "plugins enable filter",
	`admin add "` + carol, `a"b c"d`, `'it\'s'`, `abc\`, "“curly” ‘quotes’", "a\x00b", "a\xffb", "hlep",
}

// FuzzTokenize checks that Tokenize never panics, that its spans are sane,
// and that Join writes words Tokenize reads back unchanged.
func FuzzTokenize(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		toks, err := commands.Tokenize(line)
		if err != nil {
			var pe *commands.ParseError
			if !errors.As(err, &pe) || pe.UserMessage() == "" {
				t.Fatalf("Tokenize(%q) error %v is not a *ParseError with a message", line, err)
			}
			return
		}
		words := make([]string, len(toks))
		prevEnd := 0
		for i, tok := range toks {
			if tok.Start < prevEnd || tok.End <= tok.Start || tok.End > len(line) {
				t.Fatalf("Tokenize(%q): token %d has span [%d, %d) after %d", line, i, tok.Start, tok.End, prevEnd)
			}
			prevEnd = tok.End
			words[i] = tok.Text
		}
		again, err := commands.Tokenize(commands.Join(words))
		if err != nil {
			if len(commands.Join(words)) > commands.MaxLineBytes {
				return // quoting made it longer than the limit
			}
			t.Fatalf("Tokenize(Join(%q)): %v", words, err)
		}
		for i := range again {
			if i >= len(words) || again[i].Text != words[i] {
				t.Fatalf("Tokenize(Join(%q)) = %v", words, again)
			}
		}
		if len(again) != len(words) {
			t.Fatalf("Tokenize(Join(%q)) gave %d words", words, len(again))
		}
	})
}

// FuzzParse checks that parsing against the built-in tree never panics,
// that parse → render → parse gives the same invocation and a fixed
// rendering, and that dispatching the line never reaches the panic
// recovery and always replies.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	d, err := commands.New(commands.Config{})
	if err != nil {
		f.Fatal(err)
	}
	g := testGroup(policy.Default())
	f.Fuzz(func(t *testing.T, line string) {
		inv, err := d.Parse(line)
		if err != nil {
			if _, ok := errors.AsType[commands.UserMessager](err); !ok {
				t.Fatalf("Parse(%q) error %v has no user message", line, err)
			}
		} else {
			checkRoundTrip(t, d, line, inv)
		}

		act := &fakeActions{plugins: []commands.PluginInfo{{ID: "filter"}}}
		msg := from(alice, "!"+line, g)
		msg.ReplyTo = &commands.Reference{ID: "beef", Author: participant(carol)}
		err = d.Dispatch(context.Background(), act, msg)
		if pe, ok := errors.AsType[*commands.PanicError](err); ok {
			t.Fatalf("Dispatch(%q) panicked: %v\n%s", line, pe.Value, pe.Stack)
		}
		if errors.Is(err, commands.ErrNotCommand) {
			return
		}
		if len(act.replies) == 0 || slices.Contains(act.replies, "") {
			t.Fatalf("Dispatch(%q) replies = %q, want non-empty replies", line, act.replies)
		}
	})
}

func checkRoundTrip(t *testing.T, d *commands.Dispatcher, line string, inv *commands.Invocation) {
	t.Helper()
	rendered := inv.String()
	if len(rendered) > commands.MaxLineBytes {
		return // quoting made it longer than the limit
	}
	again, err := d.Parse(rendered)
	if err != nil {
		t.Fatalf("Parse(%q) ok, but Parse of its rendering %q: %v", line, rendered, err)
	}
	if again.Path != inv.Path {
		t.Fatalf("rendering %q of %q parsed as %q, want %q", rendered, line, again.Path, inv.Path)
	}
	for _, a := range inv.Command.Args {
		if !slices.Equal(inv.Args.Values(a.Name), again.Args.Values(a.Name)) {
			t.Fatalf("argument %s of %q: %+v, after rendering as %q: %+v", a.Name, line, inv.Args.Values(a.Name), rendered, again.Args.Values(a.Name))
		}
	}
	if again.String() != rendered {
		t.Fatalf("rendering is not stable: %q → %q → %q", line, rendered, again.String())
	}
}
