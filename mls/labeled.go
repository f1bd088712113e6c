package mls

import (
	"encoding/binary"
	"fmt"
	"io"
)

// labelPrefix is prepended to every label of RFC 9420 §5.
const labelPrefix = "MLS 1.0 "

// appendOpaque appends b as opaque<V> to buf. Lengths beyond 2^30-1 never
// occur for the in-memory values hashed here; they would make the
// encoding ambiguous, so they panic as a programming error.
func appendOpaque(buf, b []byte) []byte {
	n := len(b)
	switch {
	case n <= 0x3f:
		buf = append(buf, byte(n))
	case n <= 0x3fff:
		buf = binary.BigEndian.AppendUint16(buf, uint16(n)|0x4000)
	case n <= maxVarint:
		buf = binary.BigEndian.AppendUint32(buf, uint32(n)|0x80000000)
	default:
		panic(fmt.Sprintf("mls: opaque value of %d bytes exceeds 2^30-1", n))
	}
	return append(buf, b...)
}

// appendLabel appends "MLS 1.0 " || label as opaque<V>.
func appendLabel(buf []byte, label string) []byte {
	l := make([]byte, 0, len(labelPrefix)+len(label))
	l = append(append(l, labelPrefix...), label...)
	return appendOpaque(buf, l)
}

// ExpandWithLabel is RFC 9420 §5.1 ExpandWithLabel: HKDF-Expand of secret
// with the encoded KDFLabel{length, "MLS 1.0 " || label, context}. label is
// given without the prefix. n must be at most 255*Nh (see Expand).
func (cs CipherSuite) ExpandWithLabel(secret []byte, label string, context []byte, n int) []byte {
	if n < 0 || n > 0xffff {
		panic(fmt.Sprintf("mls: ExpandWithLabel length %d out of range", n))
	}
	info := binary.BigEndian.AppendUint16(nil, uint16(n))
	info = appendLabel(info, label)
	info = appendOpaque(info, context)
	return cs.Expand(secret, info, n)
}

// DeriveSecret is RFC 9420 §5.1 DeriveSecret: ExpandWithLabel(secret,
// label, "", Nh).
func (cs CipherSuite) DeriveSecret(secret []byte, label string) []byte {
	return cs.ExpandWithLabel(secret, label, nil, cs.Nh())
}

// DeriveTreeSecret is RFC 9420 §9 DeriveTreeSecret: ExpandWithLabel(secret,
// label, uint32 generation, n).
func (cs CipherSuite) DeriveTreeSecret(secret []byte, label string, generation uint32, n int) []byte {
	ctx := binary.BigEndian.AppendUint32(nil, generation)
	return cs.ExpandWithLabel(secret, label, ctx, n)
}

// RefHash is RFC 9420 §5.2 RefHash: the suite hash of the encoded
// RefHashInput{label, value}. Unlike the other labelled functions, label
// is used as given: callers pass the full label, e.g.
// "MLS 1.0 KeyPackage Reference".
func (cs CipherSuite) RefHash(label string, value []byte) []byte {
	in := appendOpaque(make([]byte, 0, len(label)+len(value)+8), []byte(label))
	in = appendOpaque(in, value)
	return cs.Hash(in)
}

// signContent returns the encoded SignContent{"MLS 1.0 " || label, content}
// of RFC 9420 §5.1.2.
func signContent(label string, content []byte) []byte {
	buf := make([]byte, 0, len(labelPrefix)+len(label)+len(content)+8)
	buf = appendLabel(buf, label)
	return appendOpaque(buf, content)
}

// SignWithLabel is RFC 9420 §5.1.2 SignWithLabel: a signature with priv
// over SignContent{"MLS 1.0 " || label, content}. rand is used by ECDSA
// (nil means crypto/rand); EdDSA is deterministic. priv is parsed on every
// call, which costs about as much as the signature itself; a Group parses
// its own key once and keeps it.
func (cs CipherSuite) SignWithLabel(rand io.Reader, priv []byte, label string, content []byte) ([]byte, error) {
	k, err := cs.parseSigningKey(priv)
	if err != nil {
		return nil, err
	}
	return k.signWithLabel(rand, label, content)
}

// signWithLabel is SignWithLabel with the parsed key k.
func (k *signingKey) signWithLabel(rand io.Reader, label string, content []byte) ([]byte, error) {
	return k.sign(rand, signContent(label, content))
}

// VerifyWithLabel is RFC 9420 §5.1.2 VerifyWithLabel: it reports whether
// sig is a valid signature under pub over SignContent{"MLS 1.0 " || label,
// content}. A malformed key or signature gives false.
func (cs CipherSuite) VerifyWithLabel(pub []byte, label string, content, sig []byte) bool {
	return cs.verify(pub, signContent(label, content), sig)
}

// encryptContext returns the encoded EncryptContext{"MLS 1.0 " || label,
// context} of RFC 9420 §5.1.3.
func encryptContext(label string, context []byte) []byte {
	buf := make([]byte, 0, len(labelPrefix)+len(label)+len(context)+8)
	buf = appendLabel(buf, label)
	return appendOpaque(buf, context)
}

// EncryptWithLabel is RFC 9420 §5.1.3 EncryptWithLabel: HPKE base-mode
// SealBase to pub with info = EncryptContext{"MLS 1.0 " || label, context}
// and empty aad. rand (nil means crypto/rand) feeds the encapsulation.
func (cs CipherSuite) EncryptWithLabel(rand io.Reader, pub []byte, label string, context, pt []byte) (kemOutput, ct []byte, err error) {
	return cs.hpkeSeal(rand, pub, encryptContext(label, context), nil, pt)
}

// DecryptWithLabel is RFC 9420 §5.1.3 DecryptWithLabel, the inverse of
// EncryptWithLabel with the HPKE private key priv. A ciphertext that does
// not decrypt gives a *ValidationError; a malformed private key is a plain
// error.
func (cs CipherSuite) DecryptWithLabel(priv []byte, label string, context, kemOutput, ct []byte) ([]byte, error) {
	return cs.hpkeOpen(priv, encryptContext(label, context), nil, kemOutput, ct)
}
