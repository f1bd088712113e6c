package identity

import (
	"encoding/hex"
	"errors"
	"testing"
)

// Goldens from libxmtp's own tests, reproduced in spec §5.1.
func TestComputeInboxIDGolden(t *testing.T) {
	tests := []struct {
		addr  string
		nonce uint64
		want  InboxID
	}{
		{"0x1234567890abcdef1234567890abcdef12345678", 0, "fcd18d86276d7a99fe522dba9660c420f03c8648785ada7c5daae232a3df77a9"},
		{"0x1234567890abcdef1234567890abcdef12345678", 1, "a38db5b39c536ce8cda4a67ce2a2d2fee6360dd0935875f26138e7899d6c15f7"},
	}
	for _, tc := range tests {
		got, err := ComputeInboxID(EthereumMember(Address(tc.addr)), tc.nonce)
		if err != nil {
			t.Fatalf("ComputeInboxID(%s, %d): %v", tc.addr, tc.nonce, err)
		}
		if got != tc.want {
			t.Errorf("ComputeInboxID(%s, %d) = %s, want %s", tc.addr, tc.nonce, got, tc.want)
		}
		if !got.Valid() {
			t.Errorf("%s not Valid", got)
		}
	}
}

func TestComputeInboxIDRefuses(t *testing.T) {
	bad := []MemberIdentifier{
		EthereumMember("0x1234"),
		EthereumMember("1234567890abcdef1234567890abcdef1234567890"),
		EthereumMember("0x1234567890abcdef1234567890abcdef1234567g"),
		inst(1),
		{},
	}
	for _, m := range bad {
		if _, err := ComputeInboxID(m, 0); !errors.Is(err, ErrInvalidIdentifier) {
			t.Errorf("ComputeInboxID(%v) error = %v, want ErrInvalidIdentifier", m, err)
		}
	}
	// Upper-case hex passes libxmtp's check and is hashed verbatim.
	upper, err := ComputeInboxID(EthereumMember("0x1234567890ABCDEF1234567890abcdef12345678"), 0)
	if err != nil || upper == "fcd18d86276d7a99fe522dba9660c420f03c8648785ada7c5daae232a3df77a9" {
		t.Errorf("upper-case address: got %s, %v; want a different valid id", upper, err)
	}
}

func TestComputeInboxIDPasskey(t *testing.T) {
	// The passkey's text form is its key in lowercase hex: sha256("02abcd" + "7").
	got, err := ComputeInboxID(PasskeyMember([]byte{0x02, 0xab, 0xcd}, nil), 7)
	if err != nil {
		t.Fatal(err)
	}
	if want := InboxID("0f0ad90fd109902d6efb354681dfba08dbf7349a4e48b6906c526bc17a0c2504"); got != want {
		t.Fatalf("ComputeInboxID(passkey) = %s, want %s", got, want)
	}
}

func TestParseAddress(t *testing.T) {
	a, err := ParseAddress("0x2C7536E3605D9C16a7a3D7b1898e529396a65c23")
	if err != nil || a != "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23" || !a.Valid() {
		t.Fatalf("ParseAddress = %q, %v", a, err)
	}
	for _, s := range []string{"", "0x", "2c7536e3605d9c16a7a3d7b1898e529396a65c23", "0X2c7536e3605d9c16a7a3d7b1898e529396a65c23", "0x2c7536e3605d9c16a7a3d7b1898e529396a65c2"} {
		if _, err := ParseAddress(s); !errors.Is(err, ErrInvalidIdentifier) {
			t.Errorf("ParseAddress(%q) error = %v", s, err)
		}
	}
	if Address("0x2C7536E3605D9C16a7a3D7b1898e529396a65c23").Valid() {
		t.Error("mixed-case address reported Valid")
	}
}

func TestInboxIDBytes(t *testing.T) {
	id := InboxID("fcd18d86276d7a99fe522dba9660c420f03c8648785ada7c5daae232a3df77a9")
	b, err := id.Bytes()
	if err != nil || len(b) != 32 {
		t.Fatalf("Bytes = %x, %v", b, err)
	}
	back, err := InboxIDFromBytes(b)
	if err != nil || back != id {
		t.Fatalf("InboxIDFromBytes = %s, %v", back, err)
	}
	for _, s := range []string{"", "FCD18D86276D7A99FE522DBA9660C420F03C8648785ADA7C5DAAE232A3DF77A9", "fcd18d"} {
		if _, err := ParseInboxID(s); err == nil {
			t.Errorf("ParseInboxID(%q) accepted", s)
		}
	}
}

func TestMemberIdentifierEquality(t *testing.T) {
	rp1, rp2 := "https://a.example", "https://b.example"
	key := []byte{2, 1, 2, 3}
	if !PasskeyMember(key, &rp1).Equal(PasskeyMember(key, &rp2)) {
		t.Error("passkeys with the same key but other relying parties differ")
	}
	if PasskeyMember(key, nil).Equal(installationKeyMember(key)) {
		t.Error("passkey equals installation with the same bytes")
	}
	if got := installationKeyMember([]byte{1, 2, 3}).String(); got != "010203" {
		t.Errorf("installation String = %q", got)
	}
	id := InstallationID{1}
	if m, ok := InstallationMember(id).InstallationID(); !ok || m != id {
		t.Error("InstallationID round trip")
	}
	if _, ok := installationKeyMember([]byte{1}).InstallationID(); ok {
		t.Error("short installation key reported as InstallationID")
	}
}

// Spec §6.2: 0x0A, length, then the 64 hex characters.
func TestCredentialIdentityGolden(t *testing.T) {
	id := InboxID("fcd18d86276d7a99fe522dba9660c420f03c8648785ada7c5daae232a3df77a9")
	b, err := CredentialIdentity(id)
	if err != nil {
		t.Fatal(err)
	}
	want := "0a40" + hex.EncodeToString([]byte(id))
	if hex.EncodeToString(b) != want {
		t.Fatalf("CredentialIdentity = %x, want %s", b, want)
	}
	back, err := ParseCredentialIdentity(b)
	if err != nil || back != id {
		t.Fatalf("ParseCredentialIdentity = %s, %v", back, err)
	}
	if _, err := ParseCredentialIdentity([]byte{0x0a, 0x05}); err == nil {
		t.Error("truncated credential accepted")
	}
}
