package commands_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"mlsbridge/commands"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    []string
		wantErr string // substring of the UserMessage
	}{
		{name: "empty", line: "", want: nil},
		{name: "only space", line: " \t\n ", want: nil},
		{name: "words", line: "admin add x", want: []string{"admin", "add", "x"}},
		{name: "runs of white space", line: "  a \t b\n\nc  ", want: []string{"a", "b", "c"}},
		{name: "no-break space separates", line: "a\u00a0b", want: []string{"a", "b"}},
		{name: "double quotes", line: `name "Book club"`, want: []string{"name", "Book club"}},
		{name: "single quotes", line: `name 'Book club'`, want: []string{"name", "Book club"}},
		{name: "curly double quotes", line: "name “Book club”", want: []string{"name", "Book club"}},
		{name: "curly single quotes", line: "name ‘Book club’", want: []string{"name", "Book club"}},
		{name: "closing curly quote alone is plain", line: "it’s", want: []string{"it’s"}},
		{name: "empty quotes", line: `a "" b`, want: []string{"a", "", "b"}},
		{name: "quotes join to neighbours", line: `a"b c"d`, want: []string{"ab cd"}},
		{name: "other quote kind inside", line: `"it's" 'say "hi"'`, want: []string{"it's", `say "hi"`}},
		{name: "escaped quote outside", line: `\"x`, want: []string{`"x`}},
		{name: "escaped quote inside double", line: `"a \" b"`, want: []string{`a " b`}},
		{name: "escaped quote inside single", line: `'it\'s'`, want: []string{"it's"}},
		{name: "escaped backslash", line: `a\\b`, want: []string{`a\b`}},
		{name: "escaped space", line: `a\ b c`, want: []string{"a b", "c"}},
		{name: "escaped letter is the letter", line: `\n`, want: []string{"n"}},
		{name: "newline inside quotes kept", line: "\"a\nb\"", want: []string{"a\nb"}},
		{name: "unicode words", line: "名前 ünïcödé 🎉", want: []string{"名前", "ünïcödé", "🎉"}},
		{name: "replacement character is text", line: "a\uFFFDb", want: []string{"a\uFFFDb"}},

		{name: "unterminated double quote", line: `name "Book club`, wantErr: `the quote " before "Book club" is never closed`},
		{name: "unterminated single quote", line: `name it's`, wantErr: `the quote ' before "s" is never closed`},
		{name: "unterminated quote at end", line: `name "`, wantErr: `the quote " at the end is never closed`},
		{name: "unterminated curly quote", line: "“abc", wantErr: "add a closing ”"},
		{name: "escaped closing quote leaves it open", line: `"abc\"`, wantErr: "never closed"},
		{name: "trailing backslash", line: `abc\`, wantErr: "ends with a backslash"},
		{name: "NUL byte", line: "a\x00b", wantErr: "control character (U+0000)"},
		{name: "escape sequence", line: "\x1b[31mred", wantErr: "control character (U+001B)"},
		{name: "C1 control", line: "a\u0085b", wantErr: "control character (U+0085)"},
		{name: "DEL", line: "a\x7f", wantErr: "control character (U+007F)"},
		{name: "invalid UTF-8", line: "a\xffb", wantErr: "not valid text"},
		{name: "truncated UTF-8", line: "a\xe2\x82", wantErr: "not valid text"},
		{name: "too long", line: strings.Repeat("a", commands.MaxLineBytes+1), wantErr: "too long"},
		{name: "too many words", line: strings.Repeat("a ", commands.MaxTokens+1), wantErr: "too many words"},
		{name: "many quotes", line: strings.Repeat(`"`, 1001), wantErr: "never closed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			toks, err := commands.Tokenize(tc.line)
			if tc.wantErr != "" {
				var pe *commands.ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("Tokenize(%q) error = %v, want a *ParseError", tc.line, err)
				}
				if !strings.Contains(pe.UserMessage(), tc.wantErr) {
					t.Errorf("UserMessage() = %q, want it to contain %q", pe.UserMessage(), tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Tokenize(%q): %v", tc.line, err)
			}
			var got []string
			for _, tok := range toks {
				got = append(got, tok.Text)
				if tok.Start < 0 || tok.End > len(tc.line) || tok.Start >= tok.End {
					t.Errorf("token %q has bad span [%d, %d)", tok.Text, tok.Start, tok.End)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Tokenize(%q) = %q, want %q", tc.line, got, tc.want)
			}
		})
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	words := []string{"", "plain", "two words", `"`, `'`, `\`, `a"b'c\d`, "“curly”", "‘x’", "tab\there", "new\nline", "ünï", "@0xab"}
	for _, w := range words {
		toks, err := commands.Tokenize(commands.Quote(w))
		if err != nil || len(toks) != 1 || toks[0].Text != w {
			t.Errorf("Tokenize(Quote(%q) = %q) = %v, %v; want the one word back", w, commands.Quote(w), toks, err)
		}
	}
	line := commands.Join(words)
	toks, err := commands.Tokenize(line)
	if err != nil {
		t.Fatalf("Tokenize(Join): %v", err)
	}
	var got []string
	for _, tok := range toks {
		got = append(got, tok.Text)
	}
	if !reflect.DeepEqual(got, words) {
		t.Errorf("Tokenize(Join(words)) = %q, want %q", got, words)
	}
	if got := commands.Quote("plain"); got != "plain" {
		t.Errorf("Quote(plain) = %q, want it unquoted", got)
	}
}

func TestParseMember(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		wantKind    commands.MemberKind
		wantID      string
		wantMention bool
		wantErr     string
	}{
		{name: "inbox", in: alice, wantKind: commands.MemberInbox, wantID: alice},
		{name: "inbox upper case", in: strings.ToUpper(bob), wantKind: commands.MemberInbox, wantID: bob},
		{name: "address", in: erin, wantKind: commands.MemberAddress, wantID: erin},
		{name: "checksummed address", in: "0xAbCdEf0123456789aBcDeF0123456789AbCdEf01", wantKind: commands.MemberAddress, wantID: "0xabcdef0123456789abcdef0123456789abcdef01"},
		{name: "upper-case 0X", in: "0X00000000000000000000000000000000000000E1", wantKind: commands.MemberAddress, wantID: erin},
		{name: "mention of inbox", in: "@" + carol, wantKind: commands.MemberInbox, wantID: carol, wantMention: true},
		{name: "mention of address", in: "@" + erin, wantKind: commands.MemberAddress, wantID: erin, wantMention: true},

		{name: "short address", in: "0x1234", wantErr: "it has 4 hex digits after 0x, and an address has 40"},
		{name: "long address", in: erin + "0", wantErr: "has 41 hex digits after 0x"},
		{name: "address with non-hex", in: "0x" + strings.Repeat("g", 40), wantErr: "aren't hex digits"},
		{name: "bare 0x", in: "0x", wantErr: "aren't hex digits"},
		{name: "address without 0x", in: strings.Repeat("e", 40), wantErr: "without its 0x"},
		{name: "short inbox", in: alice[:63], wantErr: "has 63 hex digits, and an inbox id has 64"},
		{name: "long inbox", in: alice + "a", wantErr: "has 65 hex digits"},
		{name: "ens name", in: "vitalik.eth", wantErr: "can't look up names"},
		{name: "name", in: "bob", wantErr: "give an inbox id (64 hex digits) or an address"},
		{name: "empty", in: "", wantErr: "give an inbox id"},
		{name: "bare at", in: "@", wantErr: "give an inbox id"},
		{name: "double at", in: "@@" + alice, wantErr: "give an inbox id"},
		{name: "hostile long", in: strings.Repeat("z", 5000), wantErr: "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := commands.ParseMember(tc.in)
			if tc.wantErr != "" {
				var ue *commands.UserError
				if !errors.As(err, &ue) || !strings.Contains(ue.UserMessage(), tc.wantErr) {
					t.Fatalf("ParseMember(%q) error = %v, want a *UserError containing %q", tc.in, err, tc.wantErr)
				}
				if len(ue.UserMessage()) > 300 {
					t.Errorf("UserMessage is %d bytes; hostile input must be cut", len(ue.UserMessage()))
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseMember(%q): %v", tc.in, err)
			}
			if m.Kind() != tc.wantKind || m.String() != tc.wantID || m.IsMention() != tc.wantMention {
				t.Errorf("ParseMember(%q) = %v %q mention=%t, want %v %q mention=%t", tc.in, m.Kind(), m, m.IsMention(), tc.wantKind, tc.wantID, tc.wantMention)
			}
			id, isInbox := m.Inbox()
			addr, isAddr := m.Address()
			if isInbox != (tc.wantKind == commands.MemberInbox) || isAddr != (tc.wantKind == commands.MemberAddress) || (isInbox && id != tc.wantID) || (isAddr && addr != tc.wantID) {
				t.Errorf("Inbox() = %q, %t; Address() = %q, %t", id, isInbox, addr, isAddr)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantOff bool
		format  string // FormatDuration(want); empty when none
		wantErr string
	}{
		{name: "minutes", in: "30m", want: 30 * time.Minute, format: "30m"},
		{name: "hour", in: "1h", want: time.Hour, format: "1h"},
		{name: "days", in: "7d", want: 7 * 24 * time.Hour, format: "7d"},
		{name: "weeks", in: "2w", want: 14 * 24 * time.Hour, format: "14d"},
		{name: "seconds", in: "45s", want: 45 * time.Second, format: "45s"},
		{name: "combined", in: "1h30m", want: 90 * time.Minute, format: "1h30m"},
		{name: "unnormalised", in: "90m", want: 90 * time.Minute, format: "1h30m"},
		{name: "upper case", in: "1H", want: time.Hour, format: "1h"},
		{name: "leading zeros", in: "007d", want: 7 * 24 * time.Hour, format: "7d"},
		{name: "off", in: "off", wantOff: true},
		{name: "OFF", in: "OFF", wantOff: true},

		{name: "zero", in: "0m", wantErr: "more than zero; write off"},
		{name: "no unit", in: "30", wantErr: "use a number and a unit"},
		{name: "no number", in: "h", wantErr: "use a number and a unit"},
		{name: "unknown unit", in: "5y", wantErr: `'y' is not a unit`},
		{name: "negative", in: "-1h", wantErr: "use a number and a unit"},
		{name: "fraction", in: "1.5h", wantErr: `'.' is not a unit`},
		{name: "space", in: "1 h", wantErr: `' ' is not a unit`},
		{name: "empty", in: "", wantErr: "empty"},
		{name: "overflow one group", in: "999999999999w", wantErr: "too long"},
		{name: "overflow sum", in: "15000w15000w", wantErr: "too long"},
		{name: "huge digits", in: strings.Repeat("9", 400) + "s", wantErr: "too long"},
		{name: "never", in: "never", wantErr: "not a duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, off, err := commands.ParseDuration(tc.in)
			if tc.wantErr != "" {
				var ue *commands.UserError
				if !errors.As(err, &ue) || !strings.Contains(ue.UserMessage(), tc.wantErr) {
					t.Fatalf("ParseDuration(%q) error = %v, want a *UserError containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil || d != tc.want || off != tc.wantOff {
				t.Fatalf("ParseDuration(%q) = %v, %t, %v; want %v, %t", tc.in, d, off, err, tc.want, tc.wantOff)
			}
			if tc.format != "" {
				if got := commands.FormatDuration(d); got != tc.format {
					t.Errorf("FormatDuration(%v) = %q, want %q", d, got, tc.format)
				}
			}
		})
	}
}
