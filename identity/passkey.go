package identity

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"mlsbridge/wire/association"
)

// PasskeySignature is a WebAuthn assertion (wire: passkey, spec §5.4 item
// 4): a DER ECDSA P-256 signature by PublicKey (SEC1) over
// AuthenticatorData ‖ SHA-256(ClientDataJSON), where the client data's
// challenge is the unpadded base64url of the signature text.
type PasskeySignature struct {
	PublicKey         []byte
	Signature         []byte
	AuthenticatorData []byte
	ClientDataJSON    []byte
}

var _ UnverifiedSignature = (*PasskeySignature)(nil)

// Kind returns [SignatureP256].
func (s *PasskeySignature) Kind() SignatureKind { return SignatureP256 }

func (s *PasskeySignature) verify(text string) (VerifiedSignature, error) {
	origin, challenge, err := parseClientData(s.ClientDataJSON)
	if err != nil {
		return VerifiedSignature{}, invalidSig("client data: " + err.Error())
	}
	if challenge != base64.RawURLEncoding.EncodeToString([]byte(text)) {
		return VerifiedSignature{}, invalidSig("client data challenge is not the signature text")
	}
	pub, err := parseP256PublicKey(s.PublicKey)
	if err != nil {
		return VerifiedSignature{}, invalidSig("passkey public key: " + err.Error())
	}
	r, ss, err := parseDERSignature(s.Signature)
	if err != nil {
		return VerifiedSignature{}, invalidSig("passkey signature: " + err.Error())
	}
	cdHash := sha256.Sum256(s.ClientDataJSON)
	msg := append(clone(s.AuthenticatorData), cdHash[:]...)
	digest := sha256.Sum256(msg)
	if !ecdsa.Verify(pub, digest[:], r, ss) {
		return VerifiedSignature{}, invalidSig("p256 verification failed")
	}
	// libxmtp records the fixed-size r‖s form, not the DER bytes.
	raw := make([]byte, 64)
	r.FillBytes(raw[:32])
	ss.FillBytes(raw[32:])
	return VerifiedSignature{signer: PasskeyMember(s.PublicKey, &origin), kind: SignatureP256, raw: raw}, nil
}

func (s *PasskeySignature) proto() *association.Signature {
	return &association.Signature{Signature: &association.Signature_Passkey{
		Passkey: &association.RecoverablePasskeySignature{
			PublicKey:         clone(s.PublicKey),
			Signature:         clone(s.Signature),
			AuthenticatorData: clone(s.AuthenticatorData),
			ClientDataJson:    clone(s.ClientDataJSON),
		},
	}}
}

// parseClientData reads the two fields libxmtp requires from WebAuthn
// client data, with serde_json's rules: a top-level object, the field names
// matched exactly (case-sensitive), "origin" and "challenge" both present
// and strings, no duplicate of either, other fields ignored, valid UTF-8,
// nothing but whitespace after the object.
func parseClientData(b []byte) (origin, challenge string, err error) {
	if !utf8.Valid(b) {
		return "", "", errors.New("not valid utf-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", "", errors.New("not a json object")
	}
	var haveOrigin, haveChallenge bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", "", errors.New("malformed json")
		}
		name, _ := tok.(string)
		var dst *string
		switch name {
		case "origin":
			if haveOrigin {
				return "", "", errors.New("duplicate field origin")
			}
			haveOrigin, dst = true, &origin
		case "challenge":
			if haveChallenge {
				return "", "", errors.New("duplicate field challenge")
			}
			haveChallenge, dst = true, &challenge
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", "", errors.New("malformed json")
		}
		if dst != nil {
			if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, dst) != nil {
				return "", "", errors.New("field " + name + " is not a string")
			}
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return "", "", errors.New("malformed json")
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", "", errors.New("trailing data after json")
	}
	if !haveOrigin || !haveChallenge {
		return "", "", errors.New("origin or challenge missing")
	}
	return origin, challenge, nil
}

// parseP256PublicKey accepts a SEC1 compressed (33 bytes) or uncompressed
// (65 bytes) P-256 point.
func parseP256PublicKey(b []byte) (*ecdsa.PublicKey, error) {
	if len(b) == 33 && (b[0] == 2 || b[0] == 3) {
		x, y := elliptic.UnmarshalCompressed(elliptic.P256(), b)
		if x == nil {
			return nil, errors.New("not a point on p-256")
		}
		b = elliptic.Marshal(elliptic.P256(), x, y) //nolint:staticcheck // only to re-encode a checked point
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), b)
	if err != nil {
		return nil, errors.New("not a sec1 p-256 public key")
	}
	return pub, nil
}

// parseDERSignature reads a DER ECDSA-Sig-Value with both integers in
// [1, n-1] and no trailing bytes.
func parseDERSignature(b []byte) (r, s *big.Int, err error) {
	r, s = new(big.Int), new(big.Int)
	var inner cryptobyte.String
	in := cryptobyte.String(b)
	if !in.ReadASN1(&inner, asn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1Integer(r) || !inner.ReadASN1Integer(s) || !inner.Empty() {
		return nil, nil, errors.New("malformed der")
	}
	n := elliptic.P256().Params().N
	if r.Sign() <= 0 || s.Sign() <= 0 || r.Cmp(n) >= 0 || s.Cmp(n) >= 0 {
		return nil, nil, errors.New("scalar out of range")
	}
	return r, s, nil
}
