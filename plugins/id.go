package plugins

import (
	"fmt"
	"regexp"
	"strings"
)

// ID names a plugin: two or more dot-separated segments of lower-case ASCII
// letters, digits and "_", each starting with a letter, such as
// "moderation.wordfilter". The first segment is the namespace. The plugin's
// author mints it in the call to [Register]; others may parse it with
// [ParseID]. IDs key stored settings and data, so an ID is permanent.
type ID string

// MaxIDLength is the longest valid [ID], in bytes.
const MaxIDLength = 64

var idRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// ParseID returns s as an ID, or an error wrapping [ErrInvalidID] that
// says what is wrong.
func ParseID(s string) (ID, error) {
	switch {
	case len(s) > MaxIDLength:
		return "", fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidID, len(s), MaxIDLength)
	case !strings.Contains(s, "."):
		return "", fmt.Errorf("%w: %q has no namespace (want namespace.name)", ErrInvalidID, s)
	case !idRE.MatchString(s):
		return "", fmt.Errorf("%w: %q is not dot-separated lower-case segments starting with letters", ErrInvalidID, s)
	}
	return ID(s), nil
}

// Valid reports whether id is a valid ID.
func (id ID) Valid() bool {
	_, err := ParseID(string(id))
	return err == nil
}

// Namespace returns the first segment ("moderation" for
// "moderation.wordfilter").
func (id ID) Namespace() string {
	ns, _, _ := strings.Cut(string(id), ".")
	return ns
}

// Name returns the last segment ("wordfilter" for
// "moderation.wordfilter").
func (id ID) Name() string { return string(id[strings.LastIndexByte(string(id), '.')+1:]) }

func (id ID) String() string { return string(id) }

// GroupID names a group: the lower-case hex form of its MLS group id, as
// client.GroupID's String gives it. The group's creator mints the id at
// random; plugins compare, log and key data by it, and never parse it. The
// bot converts at its edge. Its text form is permanent.
type GroupID string

func (g GroupID) String() string { return string(g) }

// InboxID names a member: an XMTP inbox id, 64 lower-case hex digits, the
// same text as identity.InboxID (which plugins may not import, STYLE.md
// §1; the bot converts with a plain type conversion). The network mints
// it; plugins compare, store and mention it and never parse it. Its text
// form is permanent.
type InboxID string

func (id InboxID) String() string { return string(id) }

// Mention returns the member written as a chat mention: "@" and the inbox
// id.
func (id InboxID) Mention() string { return "@" + string(id) }

// Mentions writes members as comma-separated mentions, naming at most max
// of them and counting the rest ("@a, @b and 3 more"). max <= 0 names
// all.
func Mentions(members []InboxID, max int) string {
	n := len(members)
	if max > 0 && n > max {
		n = max
	}
	parts := make([]string, n)
	for i, m := range members[:n] {
		parts[i] = m.Mention()
	}
	s := strings.Join(parts, ", ")
	if rest := len(members) - n; rest > 0 {
		s += fmt.Sprintf(" and %d more", rest)
	}
	return s
}
