package identity

import (
	"encoding/hex"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"google.golang.org/protobuf/proto"

	"mlsbridge/wire/association"
	"mlsbridge/wire/legacy"
)

// LegacyKeySignatureKind says which oneof of a v2 signature carried the
// wallet's signature over a legacy key.
type LegacyKeySignatureKind uint8

// Legacy key signature kinds. The zero value means the signature was absent.
const (
	LegacyECDSACompact       LegacyKeySignatureKind = iota + 1 // wire: ecdsa_compact
	LegacyWalletECDSACompact                                   // wire: wallet_ecdsa_compact
)

// LegacySignedPublicKey is an XMTP v2 identity key and the wallet's
// signature over it (wire: xmtp.message_contents.SignedPublicKey).
type LegacySignedPublicKey struct {
	// KeyBytes is the encoded UnsignedPublicKey, exactly as received: the
	// wallet signed these bytes, so they are never re-encoded.
	KeyBytes []byte
	// SignatureKind is the oneof the wallet signature came in; zero if absent.
	SignatureKind LegacyKeySignatureKind
	// Signature is the wallet's 64-byte r‖s.
	Signature []byte
	// Recovery is the recovery byte as sent (libxmtp keeps its low 8 bits).
	Recovery uint32
}

// LegacyDelegatedSignature is a signature by an XMTP v2 key that a wallet
// authorized (wire: delegated_erc_191, spec §5.4 item 5). Only inboxes with
// nonce 0 accept it.
type LegacyDelegatedSignature struct {
	DelegatedKey LegacySignedPublicKey
	// Signature is the legacy key's 65-byte ERC-191 signature over the
	// signature text.
	Signature []byte
}

var _ UnverifiedSignature = (*LegacyDelegatedSignature)(nil)

// Kind returns [SignatureLegacyDelegated].
func (s *LegacyDelegatedSignature) Kind() SignatureKind { return SignatureLegacyDelegated }

// legacyKeyText is the text a wallet signed to create a v2 identity key.
func legacyKeyText(keyBytes []byte) string {
	return "XMTP : Create Identity\n" + hex.EncodeToString(keyBytes) + "\n\nFor more info: https://xmtp.org/signatures/"
}

// verify follows libxmtp: recover the legacy key's address from its
// signature over text; recover the wallet from its signature over the key;
// decode the key and require its address to be the one recovered. The
// signer is the wallet, and the recorded bytes are the wallet's signature,
// so each legacy key is usable once.
func (s *LegacyDelegatedSignature) verify(text string) (VerifiedSignature, error) {
	legacyAddr, _, err := recoverERC191(text, s.Signature)
	if err != nil {
		return VerifiedSignature{}, err
	}
	k := s.DelegatedKey
	if k.SignatureKind == 0 {
		return VerifiedSignature{}, invalidSig("legacy key has no wallet signature")
	}
	walletSig := append(clone(k.Signature), byte(k.Recovery))
	if len(walletSig) != 65 {
		return VerifiedSignature{}, invalidSig("legacy wallet signature must be 64 bytes")
	}
	wallet, walletRaw, err := recoverERC191(legacyKeyText(k.KeyBytes), walletSig)
	if err != nil {
		return VerifiedSignature{}, err
	}
	var unsigned legacy.UnsignedPublicKey
	if err := proto.Unmarshal(k.KeyBytes, &unsigned); err != nil {
		return VerifiedSignature{}, invalidSig("legacy key bytes do not decode")
	}
	point := unsigned.GetSecp256K1Uncompressed()
	if point == nil {
		return VerifiedSignature{}, invalidSig("legacy key is not secp256k1")
	}
	pub, err := parseSecp256k1SEC1(point.GetBytes())
	if err != nil {
		return VerifiedSignature{}, invalidSig("legacy public key is not a secp256k1 point")
	}
	if addressOf(pub) != legacyAddr {
		return VerifiedSignature{}, invalidSig("legacy key did not make the signature")
	}
	return VerifiedSignature{signer: EthereumMember(wallet), kind: SignatureLegacyDelegated, raw: walletRaw}, nil
}

// parseSecp256k1SEC1 accepts compressed (0x02/0x03) and uncompressed (0x04)
// SEC1 points, as k256's from_sec1_bytes does; the hybrid forms
// (0x06/0x07) that decred also takes are refused.
func parseSecp256k1SEC1(b []byte) (*secp256k1.PublicKey, error) {
	if len(b) > 0 && (b[0] == 6 || b[0] == 7) {
		return nil, secp256k1.Error{Err: secp256k1.ErrPubKeyInvalidFormat, Description: "hybrid encoding"}
	}
	return secp256k1.ParsePubKey(b)
}

func (s *LegacyDelegatedSignature) proto() *association.Signature {
	spk := &legacy.SignedPublicKey{KeyBytes: clone(s.DelegatedKey.KeyBytes)}
	switch s.DelegatedKey.SignatureKind {
	case LegacyECDSACompact:
		spk.Signature = &legacy.Signature{Union: &legacy.Signature_EcdsaCompact{
			EcdsaCompact: &legacy.Signature_ECDSACompact{Bytes: clone(s.DelegatedKey.Signature), Recovery: s.DelegatedKey.Recovery},
		}}
	case LegacyWalletECDSACompact:
		spk.Signature = &legacy.Signature{Union: &legacy.Signature_WalletEcdsaCompact{
			WalletEcdsaCompact: &legacy.Signature_WalletECDSACompact{Bytes: clone(s.DelegatedKey.Signature), Recovery: s.DelegatedKey.Recovery},
		}}
	}
	return &association.Signature{Signature: &association.Signature_DelegatedErc_191{
		DelegatedErc_191: &association.LegacyDelegatedSignature{
			DelegatedKey: spk,
			Signature:    &association.RecoverableEcdsaSignature{Bytes: clone(s.Signature)},
		},
	}}
}

// decodeLegacyKey converts the wire SignedPublicKey.
func decodeLegacyKey(p *legacy.SignedPublicKey) LegacySignedPublicKey {
	k := LegacySignedPublicKey{KeyBytes: clone(p.GetKeyBytes())}
	switch u := p.GetSignature().GetUnion().(type) {
	case *legacy.Signature_EcdsaCompact:
		k.SignatureKind = LegacyECDSACompact
		k.Signature = clone(u.EcdsaCompact.GetBytes())
		k.Recovery = u.EcdsaCompact.GetRecovery()
	case *legacy.Signature_WalletEcdsaCompact:
		k.SignatureKind = LegacyWalletECDSACompact
		k.Signature = clone(u.WalletEcdsaCompact.GetBytes())
		k.Recovery = u.WalletEcdsaCompact.GetRecovery()
	}
	return k
}
