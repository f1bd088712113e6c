package identity

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"mlsbridge/wire/credential"
	"mlsbridge/wire/prost"
)

// credentialCase is one credential identity encoding: what libxmtp's
// parse_credential (prost) makes of it, and whether proto.Unmarshal
// accepts it. The answers were checked against prost itself (Debian's
// prost 0.11.6, whose decoding rules for a one-string message are those of
// the prost 0.14 libxmtp uses; see policy/prost_test.go for the setup).
type credentialCase struct {
	name string
	in   []byte
	// ok and inbox are prost's answer.
	ok    bool
	inbox InboxID
	// protoOK is whether proto.Unmarshal accepts the bytes: where it
	// differs from ok, a decoder built on it forks the group.
	protoOK bool
}

func nested(open, close byte, n int) []byte {
	return append(bytes.Repeat([]byte{open}, n), bytes.Repeat([]byte{close}, n)...)
}

func credentialCases() []credentialCase {
	const golden = "fcd18d86276d7a99fe522dba9660c420f03c8648785ada7c5daae232a3df77a9"
	key := func(v uint64) []byte { return protowire.AppendVarint(nil, v) }
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	return []credentialCase{
		{name: "Golden", in: cat([]byte{0x0a, 0x40}, []byte(golden)), ok: true, inbox: golden, protoOK: true},
		{name: "Empty", in: []byte{}, ok: true, protoOK: true},
		{name: "EmptyInboxID", in: []byte{0x0a, 0x00}, ok: true, protoOK: true},
		{name: "NotHexKeptVerbatim", in: []byte("\x0a\x03ABC"), ok: true, inbox: "ABC", protoOK: true},
		{name: "RepeatedLastWins", in: []byte("\x0a\x01a\x0a\x01b"), ok: true, inbox: "b", protoOK: true},
		{name: "UnknownBytesFieldSkipped", in: []byte("\x12\x01x\x0a\x01a"), ok: true, inbox: "a", protoOK: true},
		{name: "UnknownVarintFieldSkipped", in: []byte("\x10\x05\x0a\x01a"), ok: true, inbox: "a", protoOK: true},
		{name: "UnknownFieldsAround", in: []byte("\x1a\x00\x0a\x03abc\x1d\x00\x00\x00\x00"), ok: true, inbox: "abc", protoOK: true},
		{name: "UnknownGroupSkipped", in: []byte("\x13\x0a\x01a\x14"), ok: true, protoOK: true},
		{name: "NonMinimalKey", in: []byte("\x8a\x00\x02ab"), ok: true, inbox: "ab", protoOK: true},
		{name: "LargestFieldNumber", in: cat(key(0xfffffff8), []byte{0}), ok: true, protoOK: true},
		{name: "UnknownGroups100Deep", in: nested(0x13, 0x14, 100), ok: true, protoOK: true},

		// Fork vectors: proto.Unmarshal accepts, prost refuses.
		{name: "InboxIDAsVarint", in: []byte{0x08, 0x01}, protoOK: true},
		{name: "InboxIDThenVarint", in: []byte("\x0a\x02ab\x08\x01"), protoOK: true},
		{name: "InboxIDThenGroup", in: []byte("\x0a\x01a\x0b\x0c"), protoOK: true},
		{name: "InboxIDAsFixed32", in: []byte{0x0d, 1, 2, 3, 4}, protoOK: true},
		{name: "InboxIDAsFixed64", in: cat([]byte{0x09}, make([]byte, 8)), protoOK: true},
		{name: "InboxIDAsGroup", in: []byte{0x0b, 0x0c}, protoOK: true},
		{name: "UnknownGroups101Deep", in: nested(0x13, 0x14, 101), protoOK: true},

		// Refused by both.
		{name: "NotUTF8", in: []byte{0x0a, 0x01, 0xff}},
		{name: "Truncated", in: []byte{0x0a, 0x05}},
		{name: "LengthOverflow", in: []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{name: "KeyWithoutValue", in: []byte{0x08}},
		{name: "UnknownFieldTruncated", in: []byte("\x0a\x01a\x12\x80\x01")},
		{name: "FieldNumberZero", in: []byte{0x02, 0x00}},
		{name: "WireType6", in: []byte{0x0e}},
		{name: "WireType7", in: []byte{0x0f}},
		{name: "InboxIDEndGroup", in: []byte{0x0c}},
		{name: "StrayEndGroup", in: []byte{0x14}},
		{name: "GroupEndMismatch", in: []byte{0x13, 0x1c}},
		{name: "GroupUnterminated", in: []byte{0x13}},
		{name: "OverlongKey", in: cat(bytes.Repeat([]byte{0xff}, 10), []byte{0x01})},
		{name: "KeyAbove32Bits", in: cat(key(1<<32|2), []byte{0})},
	}
}

// TestParseCredentialIdentityProst: hostile encodings of an MlsCredential
// get prost's answer, and the fork vectors are ones proto.Unmarshal gets
// wrong.
func TestParseCredentialIdentityProst(t *testing.T) {
	for _, tc := range credentialCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCredentialIdentity(tc.in)
			if tc.ok {
				if err != nil || got != tc.inbox {
					t.Fatalf("ParseCredentialIdentity(%x) = %q, %v; want %q", tc.in, got, err, tc.inbox)
				}
			} else {
				var pe *prost.Error
				if err == nil || !errors.Is(err, ErrInvalidIdentifier) || !errors.As(err, &pe) {
					t.Fatalf("ParseCredentialIdentity(%x) = %q, %v; want an ErrInvalidIdentifier wrapping a *prost.Error", tc.in, got, err)
				}
			}
			var c credential.MlsCredential
			if perr := proto.Unmarshal(tc.in, &c); (perr == nil) != tc.protoOK {
				t.Errorf("proto.Unmarshal(%x) error %v; the case says protoOK=%v", tc.in, perr, tc.protoOK)
			}
		})
	}
}

// TestParseCredentialIdentityRoundTrip: what CredentialIdentity writes is
// read back, for inbox ids valid or not.
func TestParseCredentialIdentityRoundTrip(t *testing.T) {
	for _, in := range []InboxID{"", "a", InboxID(strings.Repeat("ab", 32)), "Ünïcode", InboxID(strings.Repeat("x", 300))} {
		b, err := CredentialIdentity(in)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := ParseCredentialIdentity(b); err != nil || got != in {
			t.Errorf("ParseCredentialIdentity(CredentialIdentity(%q)) = %q, %v", in, got, err)
		}
	}
	if _, err := CredentialIdentity("\xff"); err == nil {
		t.Error("CredentialIdentity accepted a non-UTF-8 inbox id")
	}
}

// FuzzParseCredentialIdentity: no input panics; prost's rules are never
// looser than proto.Unmarshal's (an accepted credential decodes to the
// same inbox id there); and decode → encode → decode is stable.
func FuzzParseCredentialIdentity(f *testing.F) {
	for _, tc := range credentialCases() {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		inbox, err := ParseCredentialIdentity(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidIdentifier) {
				t.Fatalf("error %v does not wrap ErrInvalidIdentifier", err)
			}
			return
		}
		var c credential.MlsCredential
		if err := proto.Unmarshal(b, &c); err != nil || InboxID(c.GetInboxId()) != inbox {
			t.Fatalf("prost accepted %x as %q; proto.Unmarshal says %q, %v", b, inbox, c.GetInboxId(), err)
		}
		enc, err := CredentialIdentity(inbox)
		if err != nil {
			t.Fatalf("encode decoded inbox id %q: %v", inbox, err)
		}
		again, err := ParseCredentialIdentity(enc)
		if err != nil || again != inbox {
			t.Fatalf("re-decode of %x = %q, %v; want %q", enc, again, err, inbox)
		}
		if enc2, _ := CredentialIdentity(again); !bytes.Equal(enc, enc2) {
			t.Fatalf("decode → encode → decode → encode is not stable: %x then %x", enc, enc2)
		}
	})
}
