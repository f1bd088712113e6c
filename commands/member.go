package commands

import (
	"fmt"
	"strings"
)

// MemberKind says how a [Member] argument names its member.
type MemberKind uint8

const (
	// MemberInbox is an XMTP inbox id: 64 hex digits.
	MemberInbox MemberKind = iota + 1
	// MemberAddress is an Ethereum account address: "0x" and 40 hex digits.
	MemberAddress
)

// String returns "inbox id" or "address".
func (k MemberKind) String() string {
	switch k {
	case MemberInbox:
		return "inbox id"
	case MemberAddress:
		return "address"
	}
	return fmt.Sprintf("MemberKind(%d)", uint8(k))
}

// Member is a member named in a command: an inbox id or an Ethereum
// address, typed plain or as a mention ("@" before it). Parsing validates it
// and lower-cases the hex, so String is the canonical form that
// mlsbridge/identity's ParseInboxID or ParseAddress accept. (commands may
// not import identity, STYLE.md §1, so the caller converts at its edge; an
// address still has to be resolved to an inbox.) The zero value names no
// one. Members are comparable with ==; the mention flag takes part.
type Member struct {
	kind    MemberKind
	id      string
	mention bool
}

// ParseMember reads a member argument: an inbox id (64 hex digits), an
// address ("0x" and 40 hex digits), either optionally preceded by "@" (a
// mention). Hex digits may be of either case. An error is a *[UserError]
// saying what is wrong in words.
func ParseMember(s string) (Member, error) {
	m := Member{}
	text := s
	if rest, ok := strings.CutPrefix(text, "@"); ok {
		m.mention, text = true, rest
	}
	lower := strings.ToLower(text)
	if digits, ok := strings.CutPrefix(lower, "0x"); ok {
		switch {
		case !isHex(digits):
			return Member{}, memberError(s, "it starts with 0x but has characters that aren't hex digits")
		case len(digits) != 40:
			return Member{}, memberError(s, fmt.Sprintf("it has %d hex digits after 0x, and an address has 40", len(digits)))
		}
		m.kind, m.id = MemberAddress, lower
		return m, nil
	}
	switch {
	case isHex(lower) && len(lower) == 64:
		m.kind, m.id = MemberInbox, lower
		return m, nil
	case isHex(lower) && len(lower) == 40:
		return Member{}, memberError(s, "it looks like an address without its 0x; write 0x"+lower)
	case isHex(lower) && len(lower) > 40:
		return Member{}, memberError(s, fmt.Sprintf("it has %d hex digits, and an inbox id has 64", len(lower)))
	case strings.HasSuffix(lower, ".eth"):
		return Member{}, memberError(s, "I can't look up names; give the 0x address or the inbox id")
	}
	return Member{}, memberError(s, "give an inbox id (64 hex digits) or an address (0x and 40 hex digits), or @mention one")
}

func memberError(s, why string) error {
	return &UserError{Message: fmt.Sprintf("%q is not a member I can use: %s", snippet(s, 48), why)}
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Kind returns how m names its member; 0 for the zero Member.
func (m Member) Kind() MemberKind { return m.kind }

// IsZero reports whether m names no one.
func (m Member) IsZero() bool { return m.kind == 0 }

// Inbox returns the inbox id (64 lowercase hex digits) when m names one.
func (m Member) Inbox() (string, bool) { return m.id, m.kind == MemberInbox }

// Address returns the address ("0x" and 40 lowercase hex digits) when m
// names one.
func (m Member) Address() (string, bool) { return m.id, m.kind == MemberAddress }

// IsMention reports whether m was written as a mention ("@…").
func (m Member) IsMention() bool { return m.mention }

// String returns the canonical inbox id or address, without "@".
func (m Member) String() string { return m.id }

// arg returns m as an argument word: String, with "@" for a mention.
func (m Member) arg() string {
	if m.mention {
		return "@" + m.id
	}
	return m.id
}
