package mls

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// TestParseKeyPackageVectors parses every KeyPackage of the vectors with
// the exported codec: each validates and re-encodes to the same bytes, and
// equals what ParseMLSMessage finds in the framed form.
func TestParseKeyPackageVectors(t *testing.T) {
	bodies := mlsMessageBodies(WireFormatKeyPackage)
	if len(bodies) == 0 {
		t.Fatal("no key package in the vectors")
	}
	for i, b := range bodies {
		kp, err := ParseKeyPackage(b)
		if err != nil {
			t.Fatalf("key package %d: ParseKeyPackage: %v", i, err)
		}
		if err := ValidateKeyPackage(kp, kp.CipherSuite, time.Time{}); err != nil {
			t.Errorf("key package %d: ValidateKeyPackage: %v", i, err)
		}
		got, err := kp.MarshalBinary()
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("key package %d: MarshalBinary = %x, %v; want %x", i, got, err, b)
		}
		m, err := ParseMLSMessage(append([]byte{0, 1, 0, byte(WireFormatKeyPackage)}, b...))
		if err != nil || !reflect.DeepEqual(m.KeyPackage, kp) {
			t.Errorf("key package %d: framed parse differs: %v", i, err)
		}
	}
}

// TestKeyPackageCodecRoundTrip encodes new key packages of every suite and
// parses them back.
func TestKeyPackageCodecRoundTrip(t *testing.T) {
	for _, cs := range allSuites {
		t.Run(cs.String(), func(t *testing.T) {
			kp, _, _ := newTestKeyPackage(t, cs, &KeyPackageOptions{Extensions: []Extension{LastResortExtension()}})
			b, err := kp.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			framed, err := (&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatKeyPackage, KeyPackage: kp}).Bytes()
			if err != nil || !bytes.Equal(framed[4:], b) {
				t.Fatalf("MarshalBinary differs from the MLSMessage body: %v", err)
			}
			got, err := ParseKeyPackage(b)
			if err != nil {
				t.Fatal(err)
			}
			again, err := got.MarshalBinary()
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("re-encoding differs: %v", err)
			}
			if !bytes.Equal(got.InitKey, kp.InitKey) || !bytes.Equal(got.Signature, kp.Signature) ||
				!bytes.Equal(got.LeafNode.SignatureKey, kp.LeafNode.SignatureKey) || len(got.Extensions) != 1 {
				t.Fatal("parsed key package differs from the encoded one")
			}
			r1, _ := kp.Ref()
			r2, _ := got.Ref()
			if !bytes.Equal(r1, r2) {
				t.Fatal("refs differ after a round trip")
			}
			if err := ValidateKeyPackage(got, cs, time.Time{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestParseKeyPackageStrict checks that anything but exactly one canonical
// KeyPackage is refused with ErrDecode.
func TestParseKeyPackageStrict(t *testing.T) {
	cs := MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519
	kp, _, _ := newTestKeyPackage(t, cs, nil)
	b, err := kp.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// b[4] is the one-byte length of the 32-byte init_key; 0x4020 encodes
	// the same length in two bytes, which is not the shortest form.
	if b[4] != 32 {
		t.Fatalf("init_key length byte %#x, want 0x20", b[4])
	}
	cases := map[string][]byte{
		"empty":              nil,
		"trailing byte":      append(bytes.Clone(b), 0),
		"non-minimal varint": append(append(bytes.Clone(b[:4]), 0x40, 0x20), b[5:]...),
		"mls message header": append([]byte{0, 1, 0, byte(WireFormatKeyPackage)}, b...),
	}
	for n := 1; n < len(b); n += 5 {
		cases[fmt.Sprintf("truncated to %d bytes", n)] = b[:n]
	}
	for name, in := range cases {
		if _, err := ParseKeyPackage(in); !errors.Is(err, ErrDecode) {
			t.Errorf("%s: err = %v, want ErrDecode", name, err)
		}
	}
	// A key_package leaf without a lifetime has no encoding.
	noLifetime := *kp
	noLifetime.LeafNode.Lifetime = nil
	if _, err := noLifetime.MarshalBinary(); err == nil {
		t.Error("MarshalBinary of a key_package leaf without lifetime succeeded")
	}
}
