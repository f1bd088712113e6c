package identity

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// The web3.js documentation's personal_sign example: key, message and
// signature.
const (
	web3Key     = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	web3Address = Address("0x2c7536e3605d9c16a7a3d7b1898e529396a65c23")
	web3Message = "Some data"
	web3Hash    = "1da44b586eb0729ff70a73c326926f6ed5a25f5b056e7f47fbc6e58d86871655"
	web3Sig     = "b91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b800186422fc2da167c747ef045e5d18a5f5d4300f8e1a0291c"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEthereumSignerGolden(t *testing.T) {
	w, err := NewEthereumSigner(mustHex(t, web3Key))
	if err != nil {
		t.Fatal(err)
	}
	if w.Address() != web3Address {
		t.Errorf("Address = %s, want %s", w.Address(), web3Address)
	}
	if h := EIP191Hash(web3Message); hex.EncodeToString(h[:]) != web3Hash {
		t.Errorf("EIP191Hash = %x, want %s", h, web3Hash)
	}
	sig, err := w.SignText(web3Message)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(sig) != web3Sig {
		t.Errorf("SignText = %x, want %s", sig, web3Sig)
	}
	if !bytes.Equal(w.PrivateKey(), mustHex(t, web3Key)) {
		t.Error("PrivateKey round trip")
	}
	if s := w.String(); bytes.Contains([]byte(s), []byte(web3Key[:8])) {
		t.Errorf("String leaks the key: %s", s)
	}
}

func TestRecoverERC191RecoveryByte(t *testing.T) {
	base := mustHex(t, web3Sig) // v = 28: odd parity
	tests := []struct {
		v       byte
		wantOK  bool
		wantOur bool // recovers web3Address
	}{
		{28, true, true}, {27, true, false}, {1, true, true}, {0, true, false},
		{36, true, true}, {35, true, false}, {255, true, false}, {254, true, true},
		{2, false, false}, {26, false, false}, {29, false, false}, {34, false, false},
	}
	for _, tc := range tests {
		sig := append(clone(base[:64]), tc.v)
		got, raw, err := recoverERC191(web3Message, sig)
		if !tc.wantOK {
			if !errors.Is(errFrom(err), ErrInvalidSignature) {
				t.Errorf("v=%d: error = %v, want invalid", tc.v, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("v=%d: %v", tc.v, err)
			continue
		}
		if (got == web3Address) != tc.wantOur {
			t.Errorf("v=%d: recovered %s", tc.v, got)
		}
		if !bytes.Equal(raw, sig) {
			t.Errorf("v=%d: raw bytes changed for a low-s signature", tc.v)
		}
	}
}

// errFrom unwraps an internal sigFailure the way verifyAt does.
func errFrom(err error) error {
	var f *sigFailure
	if errors.As(err, &f) {
		return f.err
	}
	return err
}

// libxmtp normalizes s but keeps v. So the malleated twin (r, n-s, v) of a
// low-s signature recovers the signer and records the same bytes (replay
// protection sees through it), while a genuine high-s signature (r, n-s,
// flipped v) recovers some other address.
func TestRecoverERC191HighS(t *testing.T) {
	low := mustHex(t, web3Sig)
	var s secp256k1.ModNScalar
	s.SetByteSlice(low[32:64])
	s.Negate()
	twin := clone(low)
	s.PutBytesUnchecked(twin[32:64])

	got, raw, err := recoverERC191(web3Message, twin)
	if err != nil {
		t.Fatal(err)
	}
	if got != web3Address || !bytes.Equal(raw, low) {
		t.Errorf("malleated twin: recovered %s raw %x; want %s and %x", got, raw, web3Address, low)
	}

	genuine := clone(twin)
	genuine[64] = 27 // flip parity: a valid high-s signature by the same key
	got, raw, err = recoverERC191(web3Message, genuine)
	if err != nil {
		t.Fatal(err)
	}
	if got == web3Address {
		t.Error("genuine high-s signature recovered the signer; libxmtp recovers another address")
	}
	want := append(clone(low[:64]), 27)
	if !bytes.Equal(raw, want) {
		t.Errorf("raw = %x, want %x", raw, want)
	}
}

func TestRecoverERC191Malformed(t *testing.T) {
	sig := mustHex(t, web3Sig)
	n := mustHex(t, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
	cases := map[string][]byte{
		"empty":  nil,
		"64":     sig[:64],
		"66":     append(clone(sig), 0),
		"r=0":    append(make([]byte, 32), sig[32:]...),
		"s=0":    append(append(clone(sig[:32]), make([]byte, 32)...), 28),
		"r=n":    append(clone(n), sig[32:]...),
		"s=n":    append(append(clone(sig[:32]), n...), 28),
		"wrongv": append(clone(sig[:64]), 30),
	}
	for name, b := range cases {
		if _, _, err := recoverERC191(web3Message, b); !errors.Is(errFrom(err), ErrInvalidSignature) {
			t.Errorf("%s: error = %v, want invalid signature", name, err)
		}
	}
}

func TestNewEthereumSignerRefuses(t *testing.T) {
	for _, b := range [][]byte{nil, make([]byte, 31), make([]byte, 32),
		mustHex(t, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")} {
		if _, err := NewEthereumSigner(b); err == nil {
			t.Errorf("NewEthereumSigner(%x) accepted", b)
		}
	}
}

func TestERC191SignatureVerify(t *testing.T) {
	w := newWallet(t, 1)
	text := "hello"
	sig, err := w.SignIdentityText(text)
	if err != nil {
		t.Fatal(err)
	}
	v, err := VerifySignature(text, sig)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Signer().Equal(w.Identifier()) || v.Kind() != SignatureERC191 {
		t.Errorf("verified as %v %v", v.Signer(), v.Kind())
	}
	if _, ok := v.ChainID(); ok {
		t.Error("erc-191 signature has a chain id")
	}
	v2, err := VerifySignature("other text", sig)
	if err != nil || v2.Signer().Equal(w.Identifier()) {
		t.Errorf("signature over another text recovered the signer (err %v)", err)
	}
	var se *SignatureError
	if _, err := VerifySignature(text, &ERC191Signature{Bytes: []byte{1}}); !errors.As(err, &se) || !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("short signature: %v", err)
	}
}
