package identity

import (
	"strconv"
	"strings"
	"time"
)

// ActionKind says which identity action an [Action] is (spec §5.2
// IdentityAction).
type ActionKind uint8

// Action kinds. The zero value is not a kind.
const (
	ActionCreateInbox ActionKind = iota + 1
	ActionAddAssociation
	ActionRevokeAssociation
	ActionChangeRecoveryAddress
)

func (k ActionKind) String() string {
	switch k {
	case ActionCreateInbox:
		return "create inbox"
	case ActionAddAssociation:
		return "add association"
	case ActionRevokeAssociation:
		return "revoke association"
	case ActionChangeRecoveryAddress:
		return "change recovery address"
	}
	return "unknown(" + strconv.Itoa(int(k)) + ")"
}

// Action is the unsigned content of one identity action: exactly what its
// lines of the signature text show.
type Action struct {
	Kind ActionKind
	// Member is the action's subject: the initial identifier (CreateInbox),
	// the new member (AddAssociation), the member to revoke
	// (RevokeAssociation) or the new recovery identifier
	// (ChangeRecoveryAddress). CreateInbox and ChangeRecoveryAddress take
	// only Ethereum or passkey identifiers.
	Member MemberIdentifier
	// Nonce is the CreateInbox nonce; it is zero for other kinds and never
	// appears in the text.
	Nonce uint64
}

const (
	textHeader = "XMTP : Authenticate to inbox"
	textFooter = "For more info: https://xmtp.org/signatures"
)

// SignatureText returns the text that every signature of an identity update
// signs, byte for byte as libxmtp builds it (spec §5.3): header, inbox id,
// client time in RFC 3339 UTC seconds, the action blocks joined by single
// newlines, then the footer, with no trailing newline. inboxID is printed
// verbatim, as verifiers rebuild the text from the update's fields.
func SignatureText(inboxID string, clientTimestampNs uint64, actions []Action) string {
	var b strings.Builder
	b.WriteString(textHeader)
	b.WriteString("\n\nInbox ID: ")
	b.WriteString(inboxID)
	b.WriteString("\nCurrent time: ")
	b.WriteString(textTimestamp(clientTimestampNs))
	b.WriteString("\n\n")
	for i, a := range actions {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(a.text())
	}
	b.WriteString("\n\n")
	b.WriteString(textFooter)
	return b.String()
}

// textTimestamp renders nanoseconds as RFC 3339 UTC with whole seconds and a
// "Z". libxmtp reads the u64 as a signed 64-bit count (so values of 2^63 and
// above fall before 1970) and rounds down to the second, as time.Unix does.
func textTimestamp(ns uint64) string {
	return time.Unix(0, int64(ns)).UTC().Format("2006-01-02T15:04:05Z")
}

// text returns the action's two lines (spec §5.3 table).
func (a Action) text() string {
	var verb, label string
	switch a.Kind {
	case ActionCreateInbox:
		verb, label = "Create inbox", "Owner"
	case ActionAddAssociation:
		label = memberLabel(a.Member.kind)
		switch a.Member.kind {
		case MemberInstallation:
			verb = "Grant messaging access to app"
		case MemberEthereum:
			verb = "Link address to inbox"
		case MemberPasskey:
			verb = "Link passkey to inbox"
		}
	case ActionRevokeAssociation:
		label = memberLabel(a.Member.kind)
		switch a.Member.kind {
		case MemberInstallation:
			verb = "Revoke messaging access from app"
		case MemberEthereum:
			verb = "Unlink address from inbox"
		case MemberPasskey:
			verb = "Unlink passkey from inbox"
		}
	case ActionChangeRecoveryAddress:
		// The label is "Address" even for a passkey.
		verb, label = "Change inbox recovery address", "Address"
	}
	return "- " + verb + "\n  (" + label + ": " + a.Member.String() + ")"
}

func memberLabel(k MemberKind) string {
	switch k {
	case MemberInstallation:
		return "ID"
	case MemberPasskey:
		return "Passkey"
	}
	return "Address"
}
