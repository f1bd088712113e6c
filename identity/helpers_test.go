package identity

import (
	"math/rand/v2"
	"testing"
)

// detRand returns a deterministic io.Reader for key generation in tests.
func detRand(seed byte) *rand.ChaCha8 {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

func newWallet(t testing.TB, seed byte) *EthereumSigner {
	t.Helper()
	w, err := GenerateEthereumSigner(detRand(seed))
	if err != nil {
		t.Fatalf("GenerateEthereumSigner: %v", err)
	}
	return w
}

func newInstallation(t testing.TB, seed byte) *InstallationSigner {
	t.Helper()
	s, err := GenerateInstallationSigner(detRand(seed))
	if err != nil {
		t.Fatalf("GenerateInstallationSigner: %v", err)
	}
	return s
}

// mustVerify verifies u and fails the test on error.
func mustVerify(t testing.TB, u *UnverifiedUpdate) *VerifiedUpdate {
	t.Helper()
	v, err := u.Verify()
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return v
}

// roundTrip encodes u, decodes it and verifies it, as a peer would.
func roundTrip(t testing.TB, u *UnverifiedUpdate, seq uint64) *VerifiedUpdate {
	t.Helper()
	b, err := u.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	d, err := DecodeUpdate(b)
	if err != nil {
		t.Fatalf("DecodeUpdate: %v", err)
	}
	d.SequenceID = seq
	return mustVerify(t, d)
}

// Synthetic verified values for rule tables: the rules only look at
// signers, kinds, raw bytes and chain ids.

var rawCounter int

func vsig(signer MemberIdentifier, kind SignatureKind) VerifiedSignature {
	rawCounter++
	return VerifiedSignature{signer: signer, kind: kind, raw: []byte{byte(rawCounter >> 8), byte(rawCounter), byte(kind)}}
}

func withChain(s VerifiedSignature, chain uint64) VerifiedSignature {
	s.chainID, s.hasChainID = chain, true
	return s
}

func vcreate(id MemberIdentifier, nonce uint64, sig VerifiedSignature) VerifiedAction {
	return VerifiedAction{Action: Action{Kind: ActionCreateInbox, Member: id, Nonce: nonce}, Signature: sig}
}

func vadd(newMember MemberIdentifier, existing, newSig VerifiedSignature) VerifiedAction {
	return VerifiedAction{Action: Action{Kind: ActionAddAssociation, Member: newMember}, Signature: existing, NewMemberSignature: newSig}
}

func vrevoke(member MemberIdentifier, sig VerifiedSignature) VerifiedAction {
	return VerifiedAction{Action: Action{Kind: ActionRevokeAssociation, Member: member}, Signature: sig}
}

func vchange(newRecovery MemberIdentifier, sig VerifiedSignature) VerifiedAction {
	return VerifiedAction{Action: Action{Kind: ActionChangeRecoveryAddress, Member: newRecovery}, Signature: sig}
}

func vupdate(inbox InboxID, seq uint64, actions ...VerifiedAction) *VerifiedUpdate {
	return &VerifiedUpdate{inboxID: string(inbox), clientTimestampNs: 1000 + seq, actions: actions, sequenceID: seq}
}

func addr(n byte) MemberIdentifier {
	const hexd = "0123456789abcdef"
	b := []byte("0x")
	for i := 0; i < 40; i++ {
		b = append(b, hexd[(int(n)+i)%16])
	}
	return EthereumMember(Address(b))
}

func inst(n byte) MemberIdentifier {
	var id InstallationID
	for i := range id {
		id[i] = n
	}
	return InstallationMember(id)
}

func pkey(n byte) MemberIdentifier {
	k := make([]byte, 33)
	k[0] = 2
	k[1] = n
	return PasskeyMember(k, nil)
}

func inboxOf(t testing.TB, m MemberIdentifier, nonce uint64) InboxID {
	t.Helper()
	id, err := ComputeInboxID(m, nonce)
	if err != nil {
		t.Fatalf("ComputeInboxID: %v", err)
	}
	return id
}
