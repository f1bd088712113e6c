package identity

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// InboxID names an XMTP inbox: 64 lowercase hex digits, the SHA-256 of the
// creating identifier and a nonce (spec §5.1). The network mints it: a
// client derives it with [ComputeInboxID] and the node accepts it only in a
// CreateInbox whose identifier and nonce hash to it. Anyone may parse it
// ([ParseInboxID]). Its stored format (the hex string, or 32 raw bytes in
// group membership entries) is permanent.
type InboxID string

// ParseInboxID accepts exactly 64 lowercase hex digits.
func ParseInboxID(s string) (InboxID, error) {
	if len(s) != 2*sha256.Size || !isLowerHex(s) {
		return "", fmt.Errorf("%w: inbox id must be 64 lowercase hex digits", ErrInvalidIdentifier)
	}
	return InboxID(s), nil
}

// InboxIDFromBytes returns the inbox id whose raw form is b (32 bytes).
func InboxIDFromBytes(b []byte) (InboxID, error) {
	if len(b) != sha256.Size {
		return "", fmt.Errorf("%w: raw inbox id must be 32 bytes, got %d", ErrInvalidIdentifier, len(b))
	}
	return InboxID(hex.EncodeToString(b)), nil
}

// Bytes returns the 32 raw bytes of a valid inbox id.
func (id InboxID) Bytes() ([]byte, error) {
	if _, err := ParseInboxID(string(id)); err != nil {
		return nil, err
	}
	return hex.DecodeString(string(id))
}

// Valid reports whether id is 64 lowercase hex digits.
func (id InboxID) Valid() bool {
	_, err := ParseInboxID(string(id))
	return err == nil
}

func (id InboxID) String() string { return string(id) }

// ComputeInboxID derives the inbox id of identifier with nonce, exactly as
// libxmtp does (spec §5.1): lowercase hex of SHA-256 over the identifier's
// text form (the address verbatim, or the passkey key in lowercase hex)
// followed by the nonce in decimal. An Ethereum identifier must be "0x" and
// 40 hex digits (either case, used verbatim: callers should pass
// lowercase); installations cannot own inboxes.
func ComputeInboxID(identifier MemberIdentifier, nonce uint64) (InboxID, error) {
	switch identifier.kind {
	case MemberEthereum:
		if !isAccountAddress(identifier.value) {
			return "", fmt.Errorf("%w: account address must be 0x and 40 hex digits", ErrInvalidIdentifier)
		}
	case MemberPasskey:
	default:
		return "", fmt.Errorf("%w: %s members cannot own an inbox", ErrInvalidIdentifier, identifier.kind)
	}
	sum := sha256.Sum256([]byte(identifier.String() + strconv.FormatUint(nonce, 10)))
	return InboxID(hex.EncodeToString(sum[:])), nil
}

// isAccountAddress is libxmtp's inbox-id address check: 42 characters,
// "0x", then hex digits of either case.
func isAccountAddress(s string) bool {
	return len(s) == 42 && strings.HasPrefix(s, "0x") && isHex(s[2:])
}

// InstallationID names one installation (one device's client): its 32-byte
// Ed25519 public key, which is also its MLS leaf signature key, its member
// identifier in identity updates and its welcome topic (spec §4.3). The
// installation mints it when it generates its key; anyone may parse it. Its
// stored format (the 32 raw bytes) is permanent.
type InstallationID [32]byte

// InstallationIDFromBytes accepts exactly 32 bytes.
func InstallationIDFromBytes(b []byte) (InstallationID, error) {
	var id InstallationID
	if len(b) != len(id) {
		return id, fmt.Errorf("%w: installation id must be 32 bytes, got %d", ErrInvalidIdentifier, len(b))
	}
	copy(id[:], b)
	return id, nil
}

// Bytes returns a copy of the 32 key bytes.
func (id InstallationID) Bytes() []byte { return append([]byte(nil), id[:]...) }

// String returns the key in lowercase hex, as signature texts print it.
func (id InstallationID) String() string { return hex.EncodeToString(id[:]) }

// Address is an Ethereum (EVM) account address: "0x" and 40 lowercase hex
// digits. Wallets mint it (it is derived from their public key); anyone may
// parse it with [ParseAddress]. Its stored format is permanent: the node
// indexes inboxes by this exact string (spec §3.2).
//
// Addresses decoded from identity updates are kept verbatim, as libxmtp
// keeps them, and may not be canonical; [Address.Valid] tells.
type Address string

// ParseAddress accepts "0x" and 40 hex digits of either case and returns the
// lowercase form.
func ParseAddress(s string) (Address, error) {
	if !isAccountAddress(s) {
		return "", fmt.Errorf("%w: address must be 0x and 40 hex digits", ErrInvalidIdentifier)
	}
	return Address(strings.ToLower(s)), nil
}

// Valid reports whether a is in canonical form: "0x" and 40 lowercase hex
// digits.
func (a Address) Valid() bool {
	return len(a) == 42 && strings.HasPrefix(string(a), "0x") && isLowerHex(string(a[2:]))
}

func (a Address) String() string { return string(a) }

// MemberKind says what kind of member an identifier names.
type MemberKind uint8

// Member kinds. The zero value is not a kind.
const (
	MemberInstallation MemberKind = iota + 1
	MemberEthereum
	MemberPasskey
)

// String returns libxmtp's name for the kind ("installation", "ethereum",
// "passkey"), as used in its error texts.
func (k MemberKind) String() string {
	switch k {
	case MemberInstallation:
		return "installation"
	case MemberEthereum:
		return "ethereum"
	case MemberPasskey:
		return "passkey"
	}
	return "unknown(" + strconv.Itoa(int(k)) + ")"
}

// MemberIdentifier names one member of an inbox: an Ethereum address, an
// installation key or a passkey (spec §5.2 MemberIdentifier). The zero
// value names nothing.
//
// Two identifiers are the same member when [MemberIdentifier.Equal] says so:
// a passkey's relying party is carried along but is not part of its
// identity. Values are immutable; they are safe to copy and share.
type MemberIdentifier struct {
	kind  MemberKind
	value string // the address verbatim, or the raw key bytes
	// relyingParty is a passkey's relying party; hasRP says whether it is set.
	relyingParty string
	hasRP        bool
}

// EthereumMember names the wallet with address a. a is used verbatim.
func EthereumMember(a Address) MemberIdentifier {
	return MemberIdentifier{kind: MemberEthereum, value: string(a)}
}

// InstallationMember names the installation id.
func InstallationMember(id InstallationID) MemberIdentifier {
	return MemberIdentifier{kind: MemberInstallation, value: string(id[:])}
}

// installationKeyMember names an installation by raw key bytes of any
// length, as wire identifiers may carry.
func installationKeyMember(key []byte) MemberIdentifier {
	return MemberIdentifier{kind: MemberInstallation, value: string(key)}
}

// PasskeyMember names the passkey with SEC1 public key bytes key. relyingParty
// is optional: nil means unset.
func PasskeyMember(key []byte, relyingParty *string) MemberIdentifier {
	m := MemberIdentifier{kind: MemberPasskey, value: string(key)}
	if relyingParty != nil {
		m.relyingParty, m.hasRP = *relyingParty, true
	}
	return m
}

// Kind returns the member kind, or 0 for the zero value.
func (m MemberIdentifier) Kind() MemberKind { return m.kind }

// IsZero reports whether m names nothing.
func (m MemberIdentifier) IsZero() bool { return m.kind == 0 }

// Address returns the Ethereum address, verbatim, and whether m is an
// Ethereum member.
func (m MemberIdentifier) Address() (Address, bool) {
	return Address(m.value), m.kind == MemberEthereum
}

// InstallationID returns the installation id and whether m is an
// installation with a 32-byte key.
func (m MemberIdentifier) InstallationID() (InstallationID, bool) {
	var id InstallationID
	if m.kind != MemberInstallation || len(m.value) != len(id) {
		return id, false
	}
	copy(id[:], m.value)
	return id, true
}

// Key returns a copy of the installation or passkey public key bytes, or
// nil for an Ethereum member.
func (m MemberIdentifier) Key() []byte {
	if m.kind != MemberInstallation && m.kind != MemberPasskey {
		return nil
	}
	return []byte(m.value)
}

// RelyingParty returns a passkey's relying party and whether it is set.
func (m MemberIdentifier) RelyingParty() (string, bool) { return m.relyingParty, m.hasRP }

// Equal reports whether m and o name the same member: same kind and same
// address or key. Passkey relying parties are ignored, as libxmtp does.
func (m MemberIdentifier) Equal(o MemberIdentifier) bool {
	return m.kind == o.kind && m.value == o.value
}

// String returns the identifier as signature texts print it: the address
// verbatim, or the key in lowercase hex without "0x".
func (m MemberIdentifier) String() string {
	if m.kind == MemberEthereum {
		return m.value
	}
	return hex.EncodeToString([]byte(m.value))
}

// memberKey is the map key of a member: its identity without the relying
// party.
type memberKey struct {
	kind  MemberKind
	value string
}

func (m MemberIdentifier) key() memberKey { return memberKey{m.kind, m.value} }

// compareMembers orders identifiers by kind, then address or key bytes.
func compareMembers(a, b MemberIdentifier) int {
	if a.kind != b.kind {
		return int(a.kind) - int(b.kind)
	}
	return bytes.Compare([]byte(a.value), []byte(b.value))
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
