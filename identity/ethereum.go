package identity

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"golang.org/x/crypto/sha3"

	"mlsbridge/wire/association"
)

// ERC191Signature is an Ethereum EOA signature (wire: erc_191): 65 bytes
// r‖s‖v over the EIP-191 personal_sign hash of the signature text (spec
// §5.4 item 1).
type ERC191Signature struct {
	Bytes []byte
}

var _ UnverifiedSignature = (*ERC191Signature)(nil)

// Kind returns [SignatureERC191].
func (s *ERC191Signature) Kind() SignatureKind { return SignatureERC191 }

func (s *ERC191Signature) verify(text string) (VerifiedSignature, error) {
	addr, normalized, err := recoverERC191(text, s.Bytes)
	if err != nil {
		return VerifiedSignature{}, err
	}
	return VerifiedSignature{signer: EthereumMember(addr), kind: SignatureERC191, raw: normalized}, nil
}

func (s *ERC191Signature) proto() *association.Signature {
	return &association.Signature{Signature: &association.Signature_Erc_191{
		Erc_191: &association.RecoverableEcdsaSignature{Bytes: clone(s.Bytes)},
	}}
}

// EIP191Hash returns keccak-256("\x19Ethereum Signed Message:\n" ‖ decimal
// length ‖ text): the digest that personal_sign signs, and the hash a
// smart-contract wallet is asked about (spec §5.4).
func EIP191Hash(text string) [32]byte {
	h := sha3.NewLegacyKeccak256()
	h.Write([]byte("\x19Ethereum Signed Message:\n" + strconv.Itoa(len(text))))
	h.Write([]byte(text))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// recoverERC191 recovers the address that made sig over text, as libxmtp
// does: s is normalized to low-s while v is kept as sent (so a high-s
// signature recovers some other address, exactly as there), v may be 0/1,
// 27/28 or an EIP-155 value of 35 or more. It returns the lowercase address
// and the normalized 65 bytes that go into seen_signatures.
func recoverERC191(text string, sig []byte) (Address, []byte, error) {
	if len(sig) != 65 {
		return "", nil, invalidSig(fmt.Sprintf("ecdsa signature must be 65 bytes, got %d", len(sig)))
	}
	var r, s secp256k1.ModNScalar
	if overflow := r.SetByteSlice(sig[:32]); overflow || r.IsZero() {
		return "", nil, invalidSig("ecdsa r out of range")
	}
	if overflow := s.SetByteSlice(sig[32:64]); overflow || s.IsZero() {
		return "", nil, invalidSig("ecdsa s out of range")
	}
	v := sig[64]
	var odd bool
	switch {
	case v <= 1:
		odd = v == 1
	case v == 27 || v == 28 || v >= 35:
		odd = v%2 == 0
	default:
		return "", nil, invalidSig("ecdsa recovery byte " + strconv.Itoa(int(v)) + " is not 0, 1, 27, 28 or 35 and above")
	}
	if s.IsOverHalfOrder() {
		s.Negate()
	}
	normalized := make([]byte, 65)
	copy(normalized, sig[:32])
	s.PutBytesUnchecked(normalized[32:64])
	normalized[64] = v

	compact := make([]byte, 65)
	compact[0] = 27
	if odd {
		compact[0] = 28
	}
	copy(compact[1:], normalized[:64])
	hash := EIP191Hash(text)
	pub, _, err := ecdsa.RecoverCompact(compact, hash[:])
	if err != nil {
		return "", nil, invalidSig("ecdsa public key recovery failed")
	}
	return addressOf(pub), normalized, nil
}

// addressOf returns the lowercase Ethereum address of a secp256k1 public
// key: the last 20 bytes of keccak-256 of the uncompressed point without its
// 0x04 prefix.
func addressOf(pub *secp256k1.PublicKey) Address {
	h := sha3.NewLegacyKeccak256()
	h.Write(pub.SerializeUncompressed()[1:])
	sum := h.Sum(nil)
	return Address("0x" + hex.EncodeToString(sum[12:]))
}

// EthereumSigner is a local Ethereum wallet (an EOA) that signs identity
// updates with ERC-191, as a browser wallet would for libxmtp. Tests, the
// CLI and the client use it. It is safe for concurrent use. Its String and
// formatting show only the address, never the key.
type EthereumSigner struct {
	key  *secp256k1.PrivateKey
	addr Address
}

var _ Signer = (*EthereumSigner)(nil)

// NewEthereumSigner returns the wallet with the 32-byte big-endian private
// key b, which must be in [1, n-1] for the secp256k1 order n.
func NewEthereumSigner(b []byte) (*EthereumSigner, error) {
	if len(b) != 32 {
		return nil, fmt.Errorf("identity: ethereum private key must be 32 bytes, got %d", len(b))
	}
	var k secp256k1.ModNScalar
	if overflow := k.SetByteSlice(b); overflow || k.IsZero() {
		return nil, fmt.Errorf("identity: ethereum private key out of range")
	}
	key := secp256k1.NewPrivateKey(&k)
	return &EthereumSigner{key: key, addr: addressOf(key.PubKey())}, nil
}

// GenerateEthereumSigner makes a wallet with a fresh key read from random;
// nil means crypto/rand.
func GenerateEthereumSigner(random io.Reader) (*EthereumSigner, error) {
	if random == nil {
		random = rand.Reader
	}
	var b [32]byte
	for {
		if _, err := io.ReadFull(random, b[:]); err != nil {
			return nil, fmt.Errorf("identity: generate ethereum key: %w", err)
		}
		if s, err := NewEthereumSigner(b[:]); err == nil {
			return s, nil
		}
	}
}

// Address returns the wallet's lowercase address.
func (e *EthereumSigner) Address() Address { return e.addr }

// PrivateKey returns a copy of the 32-byte private key, for callers that
// persist the wallet. Treat it as a secret.
func (e *EthereumSigner) PrivateKey() []byte {
	b := e.key.Key.Bytes()
	return b[:]
}

// SignText signs text with ERC-191 personal_sign and returns 65 bytes
// r‖s‖v with low s and v = 27 or 28, the bytes wallets produce.
func (e *EthereumSigner) SignText(text string) ([]byte, error) {
	hash := EIP191Hash(text)
	compact := ecdsa.SignCompact(e.key, hash[:], false)
	if compact[0] != 27 && compact[0] != 28 {
		// Recovery ids 2 and 3 need r ≥ n, which happens with probability
		// about 2^-128.
		return nil, fmt.Errorf("%w: unusable recovery id %d", ErrInternal, compact[0]-27)
	}
	out := make([]byte, 65)
	copy(out, compact[1:])
	out[64] = compact[0]
	return out, nil
}

// Identifier returns the wallet as an Ethereum member.
func (e *EthereumSigner) Identifier() MemberIdentifier { return EthereumMember(e.addr) }

// SignIdentityText signs an identity update's signature text with
// [EthereumSigner.SignText] and returns it as an [*ERC191Signature].
func (e *EthereumSigner) SignIdentityText(text string) (UnverifiedSignature, error) {
	b, err := e.SignText(text)
	if err != nil {
		return nil, err
	}
	return &ERC191Signature{Bytes: b}, nil
}

// String returns the address only.
func (e *EthereumSigner) String() string { return "EthereumSigner(" + string(e.addr) + ")" }

// GoString returns the address only, so %#v never prints the key.
func (e *EthereumSigner) GoString() string { return e.String() }

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
