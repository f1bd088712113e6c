package commands

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on a command line, so that hostile input costs little. A line over
// a limit is refused with a [*ParseError].
const (
	// MaxLineBytes is the longest command line (after the prefix) that
	// [Dispatcher.Parse] and [Tokenize] accept.
	MaxLineBytes = 16 << 10
	// MaxTokens is the most words (command, subcommand and arguments) a
	// line may have; the free text of an [ArgText] argument is not counted.
	MaxTokens = 128
)

// Token is one word of a command line.
type Token struct {
	// Text is the word with its quotes removed and its escapes applied.
	Text string
	// Start and End are the byte offsets of the word in the line, quotes
	// included.
	Start, End int
	// Quoted reports whether any part of the word was quoted or escaped, so
	// that Text may differ from the line's bytes.
	Quoted bool
}

// Tokenize splits line into words, as [Dispatcher.Parse] does before it
// looks up commands. The rules, meant to be unsurprising to a person typing
// on a phone:
//
//   - words are separated by white space (Unicode spaces, newlines
//     included);
//   - "double", 'single', “curly double” and ‘curly single’ quotes group
//     words; a quote opens only at an opening quote character and closes at
//     its partner, and quoted and unquoted parts next to each other make one
//     word (a"b c"d is the one word ab cd);
//   - a backslash makes the next character plain, outside quotes and inside
//     both kinds (\" is a quote character, \\ a backslash, \  a space);
//   - the line must be valid UTF-8 without control characters other than
//     tab, newline and carriage return, at most [MaxLineBytes] long and with
//     at most [MaxTokens] words.
//
// Errors are [*ParseError] values whose UserMessage says what is wrong in
// words. Tokenize is pure and safe for concurrent use.
func Tokenize(line string) ([]Token, error) {
	if err := checkLine(line); err != nil {
		return nil, err
	}
	l := lexer{src: line}
	var out []Token
	for {
		t, ok, err := l.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		out = append(out, t)
	}
}

// Quote returns s written as one word that [Tokenize] reads back as s: s
// itself when it is a plain word, else s in double quotes with every double
// quote and backslash escaped.
func Quote(s string) string {
	if s != "" && !strings.ContainsFunc(s, needsQuote) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// Join returns words as one line, each written with [Quote] and separated by
// single spaces: Tokenize(Join(words)) gives words back.
func Join(words []string) string {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = Quote(w)
	}
	return strings.Join(parts, " ")
}

const backslashReason = `the command ends with a backslash (\) that has nothing after it; write \\ for a backslash`

// quotePairs maps each opening quote character to its closing partner.
var quotePairs = map[rune]rune{
	'"':  '"',
	'\'': '\'',
	'“':  '”',
	'‘':  '’',
}

func needsQuote(r rune) bool {
	_, opens := quotePairs[r]
	return opens || r == '\\' || unicode.IsSpace(r)
}

// checkLine applies the limits and character rules every line must meet.
func checkLine(line string) error {
	if len(line) > MaxLineBytes {
		return &ParseError{Offset: MaxLineBytes, Reason: fmt.Sprintf("the command is too long (the limit is %d bytes)", MaxLineBytes)}
	}
	for i, r := range line {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(line[i:], "\uFFFD"):
			return &ParseError{Offset: i, Reason: "the command is not valid text (it has bytes that are not UTF-8)"}
		case unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r':
			return &ParseError{Offset: i, Reason: fmt.Sprintf("the command has an invisible control character (U+%04X) in it", r)}
		}
	}
	return nil
}

// lexer reads the words of a checked line one at a time, so that a free-text
// argument can take the rest of the line as typed.
type lexer struct {
	src   string
	pos   int
	count int
}

// rest returns the unread part of the line with surrounding space removed.
func (l *lexer) rest() string { return strings.TrimSpace(l.src[l.pos:]) }

func (l *lexer) skipSpace() {
	for l.pos < len(l.src) {
		r, n := utf8.DecodeRuneInString(l.src[l.pos:])
		if !unicode.IsSpace(r) {
			return
		}
		l.pos += n
	}
}

// next returns the next word, false at the end of the line, or a
// *ParseError.
func (l *lexer) next() (Token, bool, error) {
	l.skipSpace()
	if l.pos >= len(l.src) {
		return Token{}, false, nil
	}
	if l.count >= MaxTokens {
		return Token{}, false, &ParseError{Offset: l.pos, Reason: fmt.Sprintf("the command has too many words (the limit is %d)", MaxTokens)}
	}
	t := Token{Start: l.pos}
	var b strings.Builder
	var closer rune // the closing quote while inside quotes, else 0
	open := 0       // offset of the opening quote
	for l.pos < len(l.src) {
		r, n := utf8.DecodeRuneInString(l.src[l.pos:])
		switch {
		case r == '\\':
			if l.pos+n >= len(l.src) {
				return Token{}, false, &ParseError{Offset: l.pos, Reason: backslashReason}
			}
			r2, n2 := utf8.DecodeRuneInString(l.src[l.pos+n:])
			b.WriteRune(r2)
			t.Quoted = true
			l.pos += n + n2
			continue
		case closer != 0 && r == closer:
			closer = 0
		case closer != 0:
			b.WriteRune(r)
		case unicode.IsSpace(r):
			return l.finish(t, &b), true, nil
		default:
			if c, ok := quotePairs[r]; ok {
				closer, open = c, l.pos
				t.Quoted = true
			} else {
				b.WriteRune(r)
			}
		}
		l.pos += n
	}
	if closer != 0 {
		return Token{}, false, &ParseError{Offset: open, Reason: unterminated(l.src, open)}
	}
	return l.finish(t, &b), true, nil
}

func (l *lexer) finish(t Token, b *strings.Builder) Token {
	t.Text = b.String()
	t.End = l.pos
	l.count++
	return t
}

// unterminated explains an unclosed quote, showing what follows it.
func unterminated(src string, open int) string {
	q, n := utf8.DecodeRuneInString(src[open:])
	after := snippet(src[open+n:], 20)
	partner := string(quotePairs[q])
	if after == "" {
		return fmt.Sprintf("the quote %c at the end is never closed; add a closing %s, or write \\%c for a plain quote character", q, partner, q)
	}
	return fmt.Sprintf("the quote %c before %q is never closed; add a closing %s, or write \\%c for a plain quote character", q, after, partner, q)
}

// snippet returns at most n runes of s, on one line, marking a cut with an
// ellipsis. It is used to echo user input in replies.
func snippet(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return string(runes[:n]) + "…"
}
