// Package wordfilter is the moderation.wordfilter plugin: it deletes
// messages containing blocked words or matching blocked patterns, warns
// the sender and reports a violation (which moderation.strikes counts).
// Importing the package registers the plugin.
package wordfilter

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"mlsbridge/plugins"
	"mlsbridge/plugins/internal/moderation"
)

// ID is the plugin's ID.
const ID plugins.ID = "moderation.wordfilter"

// Limits on the config.
const (
	MaxWords         = 500
	MaxWordLength    = 100
	MaxPatterns      = 50
	MaxPatternLength = 500
)

// DefaultWarning is the warning used when Config.Warning is empty.
const DefaultWarning = "{sender}, your message was removed: it contains a {rule}."

// Rule is the Violation.Rule the plugin reports.
const Rule = "blocked word"

func init() {
	plugins.Register(plugins.Info{
		ID:      ID,
		Summary: "deletes messages with blocked words or patterns and warns the sender",
		New:     func() plugins.Plugin { return new(Filter) },
	})
}

// Config is the plugin's config in a group. The zero Config blocks nothing.
type Config struct {
	// Words are blocked words and phrases, matched as whole words and
	// ignoring case: "spam" matches "SPAM!" but not "spammer". A phrase
	// ("buy now") matches its words in order, whatever spacing or
	// punctuation lies between them. Empty: no word is blocked. At most
	// MaxWords, each at most MaxWordLength bytes with a letter or digit.
	Words plugins.StringList `json:"words"`
	// Patterns are regular expressions in Go's RE2 syntax, matched
	// anywhere in the text, case-sensitive unless they start with (?i).
	// Empty: no pattern. At most MaxPatterns, each at most
	// MaxPatternLength bytes.
	Patterns plugins.StringList `json:"patterns"`
	// KeepMessage keeps a violating message. False (zero): it is deleted.
	KeepMessage bool `json:"keep_message"`
	// Silent sends no warning. False (zero): the sender is warned in the
	// group.
	Silent bool `json:"silent"`
	// Warning is the warning, with the placeholders {sender} (a mention)
	// and {rule}. Empty: DefaultWarning.
	Warning string `json:"warning"`
	// ModerateAdmins filters admins' and super admins' messages too.
	// False (zero): they are exempt.
	ModerateAdmins bool `json:"moderate_admins"`
}

// Filter is the plugin: its config and what Provision derives from it.
type Filter struct {
	Config

	phrases  map[string][][]string // first word → phrases starting with it
	patterns []*regexp.Regexp
	warning  plugins.Template
}

// Compile-time checks of the capabilities Filter has.
var (
	_ plugins.Provisioner = (*Filter)(nil)
)

// Provision checks and compiles the words, patterns and warning.
func (f *Filter) Provision() error {
	if len(f.Words) > MaxWords {
		return fmt.Errorf("there are %d words; the limit is %d", len(f.Words), MaxWords)
	}
	if len(f.Patterns) > MaxPatterns {
		return fmt.Errorf("there are %d patterns; the limit is %d", len(f.Patterns), MaxPatterns)
	}
	f.phrases = map[string][][]string{}
	for i, w := range f.Words {
		words := tokens(w)
		switch {
		case len(w) > MaxWordLength:
			return fmt.Errorf("word %d is %d bytes long; the limit is %d", i+1, len(w), MaxWordLength)
		case len(words) == 0:
			return fmt.Errorf("word %d has no letter or digit", i+1)
		}
		f.phrases[words[0]] = append(f.phrases[words[0]], words)
	}
	f.patterns = make([]*regexp.Regexp, len(f.Patterns))
	for i, p := range f.Patterns {
		if len(p) > MaxPatternLength {
			return fmt.Errorf("pattern %d is %d bytes long; the limit is %d", i+1, len(p), MaxPatternLength)
		}
		re, err := regexp.Compile(p)
		if err != nil {
			return fmt.Errorf("pattern %d is not a valid regular expression: %s", i+1, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		f.patterns[i] = re
	}
	var err error
	f.warning, err = moderation.ParseWarning(f.Warning, DefaultWarning)
	return err
}

// HandleEvent filters text messages.
func (f *Filter) HandleEvent(ctx context.Context, h *plugins.Host, ev plugins.Event) error {
	m, ok := ev.(plugins.Message)
	if !ok || !moderation.Moderated(m, f.ModerateAdmins) || !f.Blocked(m.Text) {
		return nil
	}
	return moderation.Enforce(ctx, h, m, moderation.Response{Rule: Rule, Keep: f.KeepMessage, Silent: f.Silent, Warning: f.warning})
}

// Blocked reports whether text contains a blocked word or matches a
// blocked pattern. f must be provisioned.
func (f *Filter) Blocked(text string) bool {
	for _, re := range f.patterns {
		if re.MatchString(text) {
			return true
		}
	}
	if len(f.phrases) == 0 {
		return false
	}
	words := tokens(text)
	for i, w := range words {
		for _, phrase := range f.phrases[w] {
			if hasPrefix(words[i:], phrase) {
				return true
			}
		}
	}
	return false
}

func hasPrefix(words, phrase []string) bool {
	if len(phrase) > len(words) {
		return false
	}
	for i, w := range phrase {
		if words[i] != w {
			return false
		}
	}
	return true
}

// tokens splits s into lower-case words: runs of letters, digits and
// combining marks.
func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	})
}
