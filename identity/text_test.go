package identity

import (
	"math"
	"testing"
)

// libxmtp's signature-text test (unsigned_actions.rs create_signatures),
// reproduced in spec §5.3.
const goldenSignatureText = `XMTP : Authenticate to inbox

Inbox ID: fcd18d86276d7a99fe522dba9660c420f03c8648785ada7c5daae232a3df77a9
Current time: 1970-01-01T00:00:00Z

- Create inbox
  (Owner: 0x1234567890abcdef1234567890abcdef12345678)
- Link address to inbox
  (Address: 0x4567890abcdef1234567890abcdef12345678123)
- Grant messaging access to app
  (ID: 010203)
- Unlink address from inbox
  (Address: 0x4567890abcdef1234567890abcdef12345678123)
- Revoke messaging access from app
  (ID: 010203)
- Change inbox recovery address
  (Address: 0x7890abcdef1234567890abcdef12345678123456)

For more info: https://xmtp.org/signatures`

func TestSignatureTextGolden(t *testing.T) {
	owner := EthereumMember("0x1234567890abcdef1234567890abcdef12345678")
	linked := EthereumMember("0x4567890abcdef1234567890abcdef12345678123")
	installation := installationKeyMember([]byte{1, 2, 3})
	recovery := EthereumMember("0x7890abcdef1234567890abcdef12345678123456")
	inbox := inboxOf(t, owner, 0)
	got := SignatureText(string(inbox), 12, []Action{
		{Kind: ActionCreateInbox, Member: owner},
		{Kind: ActionAddAssociation, Member: linked},
		{Kind: ActionAddAssociation, Member: installation},
		{Kind: ActionRevokeAssociation, Member: linked},
		{Kind: ActionRevokeAssociation, Member: installation},
		{Kind: ActionChangeRecoveryAddress, Member: recovery},
	})
	if got != goldenSignatureText {
		t.Fatalf("SignatureText mismatch\ngot:\n%q\nwant:\n%q", got, goldenSignatureText)
	}
}

func TestSignatureTextPasskeyLines(t *testing.T) {
	pk := PasskeyMember([]byte{0xAB, 0x01}, nil)
	got := SignatureText("x", 0, []Action{
		{Kind: ActionAddAssociation, Member: pk},
		{Kind: ActionRevokeAssociation, Member: pk},
		{Kind: ActionChangeRecoveryAddress, Member: pk},
		{Kind: ActionCreateInbox, Member: pk, Nonce: 9},
	})
	want := "XMTP : Authenticate to inbox\n\nInbox ID: x\nCurrent time: 1970-01-01T00:00:00Z\n\n" +
		"- Link passkey to inbox\n  (Passkey: ab01)\n" +
		"- Unlink passkey from inbox\n  (Passkey: ab01)\n" +
		"- Change inbox recovery address\n  (Address: ab01)\n" +
		"- Create inbox\n  (Owner: ab01)\n\n" +
		"For more info: https://xmtp.org/signatures"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestSignatureTextNoActions(t *testing.T) {
	want := "XMTP : Authenticate to inbox\n\nInbox ID: \nCurrent time: 1970-01-01T00:00:00Z\n\n\n\nFor more info: https://xmtp.org/signatures"
	if got := SignatureText("", 0, nil); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// libxmtp casts the u64 to i64 and lets chrono round down to the second.
func TestTextTimestamp(t *testing.T) {
	tests := []struct {
		ns   uint64
		want string
	}{
		{0, "1970-01-01T00:00:00Z"},
		{12, "1970-01-01T00:00:00Z"},
		{999_999_999, "1970-01-01T00:00:00Z"},
		{1_000_000_000, "1970-01-01T00:00:01Z"},
		{1_769_689_696_999_999_999, "2026-01-29T12:28:16Z"},
		{math.MaxInt64, "2262-04-11T23:47:16Z"},
		{1 << 63, "1677-09-21T00:12:43Z"},
		{math.MaxUint64, "1969-12-31T23:59:59Z"},
	}
	for _, tc := range tests {
		if got := textTimestamp(tc.ns); got != tc.want {
			t.Errorf("textTimestamp(%d) = %s, want %s", tc.ns, got, tc.want)
		}
	}
}
