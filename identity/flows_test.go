package identity

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// inboxLog is a published inbox log as a node would hold it: the encoded
// updates with their sequence ids.
type inboxLog struct {
	t       *testing.T
	seq     uint64
	entries []*VerifiedUpdate
	state   *State
}

// publish does what a node does on PublishIdentityUpdate: decode, verify,
// apply to the whole log, then store with the next sequence id.
func (l *inboxLog) publish(u *UnverifiedUpdate) (Diff, error) {
	l.t.Helper()
	b, err := u.Marshal()
	if err != nil {
		l.t.Fatal(err)
	}
	d, err := DecodeUpdate(b)
	if err != nil {
		return Diff{}, err
	}
	v, err := d.Verify()
	if err != nil {
		return Diff{}, err
	}
	next, err := ApplyUpdates(l.state, []*VerifiedUpdate{v})
	if err != nil {
		return Diff{}, err
	}
	l.seq += 3 // global counters: ids are increasing, not contiguous
	d.SequenceID = l.seq
	stored := mustVerify(l.t, d)
	l.entries = append(l.entries, stored)
	full, err := ApplyUpdates(nil, l.entries)
	if err != nil {
		l.t.Fatalf("replaying the log: %v", err)
	}
	diff := StateDiff(l.state, next)
	if !StateDiff(next, full).IsEmpty() {
		l.t.Fatal("incremental and full states differ")
	}
	l.state = full
	return diff, nil
}

func TestFlowsRoundTrip(t *testing.T) {
	wallet, wallet2 := newWallet(t, 70), newWallet(t, 71)
	inst1, inst2, inst3 := newInstallation(t, 72), newInstallation(t, 73), newInstallation(t, 74)
	log := &inboxLog{t: t}

	create, inbox, err := CreateInboxUpdate(wallet, inst1, 1, 1_769_689_696_000_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if want := inboxOf(t, wallet.Identifier(), 1); inbox != want {
		t.Fatalf("inbox = %s, want %s", inbox, want)
	}
	// One wallet signature serves both actions, as in libxmtp.
	if a := create.Actions; len(a) != 2 || a[0].Signature != a[1].Signature {
		t.Fatalf("create update actions %+v", a)
	}
	diff, err := log.publish(create)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if ni := diff.NewInstallations(); len(ni) != 1 || ni[0] != inst1.ID() || len(diff.NewMembers) != 2 {
		t.Fatalf("create diff %+v", diff)
	}

	add, err := AddInstallationUpdate(inbox, wallet, inst2, 2_000)
	if err != nil {
		t.Fatal(err)
	}
	if diff, err = log.publish(add); err != nil || len(diff.NewInstallations()) != 1 || diff.NewInstallations()[0] != inst2.ID() {
		t.Fatalf("add installation: %+v, %v", diff, err)
	}
	// Publishing the same update again is a replay; creating again is refused.
	if _, err := log.publish(add); !errors.Is(err, RuleReplay) {
		t.Fatalf("republished add: %v", err)
	}
	if _, err := log.publish(create); !errors.Is(err, RuleMultipleCreate) {
		t.Fatalf("republished create: %v", err)
	}
	// Installations cannot add installations.
	if u, err := AddInstallationUpdate(inbox, inst1, inst3, 3_000); err != nil {
		t.Fatal(err)
	} else if _, err := log.publish(u); !errors.Is(err, RuleMemberNotAllowed) {
		t.Fatalf("installation adding installation: %v", err)
	}

	linked, err := AddWalletUpdate(inbox, wallet, wallet2, 4_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := log.publish(linked); err != nil {
		t.Fatalf("link wallet: %v", err)
	}
	if u, err := AddInstallationUpdate(inbox, wallet2, inst3, 5_000); err != nil {
		t.Fatal(err)
	} else if _, err := log.publish(u); err != nil {
		t.Fatalf("linked wallet adds installation: %v", err)
	}

	revoke, err := RevokeInstallationsUpdate(inbox, wallet, []InstallationID{inst1.ID(), inst2.ID()}, 6_000)
	if err != nil {
		t.Fatal(err)
	}
	if diff, err = log.publish(revoke); err != nil || len(diff.RemovedInstallations()) != 2 {
		t.Fatalf("revoke: %+v, %v", diff, err)
	}
	if got := log.state.Installations(); len(got) != 1 || got[0] != inst3.ID() {
		t.Fatalf("installations after revoke = %v", got)
	}

	// The linked wallet is not the recovery address until it is made one.
	if u, err := RevokeMemberUpdate(inbox, wallet2, inst3.Identifier(), 7_000); err != nil {
		t.Fatal(err)
	} else if _, err := log.publish(u); !errors.Is(err, RuleMissingExistingMember) {
		t.Fatalf("revoke by non-recovery wallet: %v", err)
	}
	change, err := ChangeRecoveryAddressUpdate(inbox, wallet, wallet2.Identifier(), 8_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := log.publish(change); err != nil {
		t.Fatalf("change recovery: %v", err)
	}
	// Revoking wallet2 takes the installation it added.
	if u, err := RevokeMemberUpdate(inbox, wallet2, wallet2.Identifier(), 9_000); err != nil {
		t.Fatal(err)
	} else if diff, err = log.publish(u); err != nil || len(diff.RemovedMembers) != 2 {
		t.Fatalf("revoke linked wallet: %+v, %v", diff, err)
	}
	if got := log.state.Installations(); len(got) != 0 {
		t.Fatalf("installations = %v", got)
	}
	if !log.state.RecoveryIdentifier().Equal(wallet2.Identifier()) || !log.state.IsMember(wallet.Identifier()) {
		t.Fatalf("final state: recovery %v, members %v", log.state.RecoveryIdentifier(), log.state.Members())
	}

	// Group membership records a sequence id; StateAt recomputes it.
	at, err := StateAt(log.entries, log.entries[1].SequenceID())
	if err != nil || len(at.Installations()) != 2 {
		t.Fatalf("StateAt: %v, %v", at, err)
	}
	if _, err := StateAt(log.entries, log.entries[1].SequenceID()+1); !errors.Is(err, RuleSequence) {
		t.Fatalf("StateAt unknown sequence id: %v", err)
	}
}

func TestFlowsPasskey(t *testing.T) {
	p := newPasskey(t, "https://app.example")
	inst := newInstallation(t, 80)
	u, inbox, err := CreateInboxUpdate(p, inst, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	v := roundTrip(t, u, 1)
	s, err := ApplyUpdates(nil, []*VerifiedUpdate{v})
	if err != nil {
		t.Fatal(err)
	}
	if s.InboxID() != inbox || !s.RecoveryIdentifier().Equal(p.Identifier()) || !s.HasInstallation(inst.ID()) {
		t.Fatalf("passkey inbox state %+v", s.Members())
	}
}

func TestSignatureRequestMisuse(t *testing.T) {
	wallet, other := newWallet(t, 90), newWallet(t, 91)
	inst := newInstallation(t, 92)
	inbox := inboxOf(t, wallet.Identifier(), 1)
	r := NewSignatureRequest(inbox, 1).CreateInbox(wallet.Identifier(), 1).AddAssociation(inst.Identifier(), wallet.Identifier())
	if m := r.MissingSigners(); len(m) != 2 || !m[0].Equal(wallet.Identifier()) || !m[1].Equal(inst.Identifier()) {
		t.Fatalf("MissingSigners = %v", m)
	}
	if _, err := r.Build(); !errors.Is(err, ErrMissingSignature) {
		t.Fatalf("Build with no signatures: %v", err)
	}
	if err := r.Sign(other); !errors.Is(err, ErrUnknownSigner) {
		t.Fatalf("Sign by a stranger: %v", err)
	}
	bad, _ := wallet.SignIdentityText("not the text")
	if err := r.AddSignature(bad); !errors.Is(err, ErrUnknownSigner) {
		t.Fatalf("signature over another text: %v", err)
	}
	if err := r.AddSignature(&InstallationKeySignature{Signature: make([]byte, 64), PublicKey: inst.ID().Bytes()}); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("forged installation signature: %v", err)
	}
	if err := r.Sign(wallet); err != nil {
		t.Fatal(err)
	}
	if err := r.Sign(wallet); !errors.Is(err, ErrUnknownSigner) {
		t.Fatalf("second wallet signature: %v", err)
	}
	if err := r.Sign(inst); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Build(); err != nil {
		t.Fatal(err)
	}
	if _, err := RevokeInstallationsUpdate(inbox, wallet, nil, 1); err == nil {
		t.Fatal("empty revoke accepted")
	}
}

// TestCreateInboxGolden pins the bytes of a create-inbox update made from
// fixed keys: the signature text, and the protobuf with its ERC-191
// (RFC 6979, deterministic) and Ed25519ph signatures. Run with -update to
// rewrite testdata/create_inbox.golden after a deliberate change.
func TestCreateInboxGolden(t *testing.T) {
	wallet, err := NewEthereumSigner(mustHex(t, web3Key))
	if err != nil {
		t.Fatal(err)
	}
	seed := bytes.Repeat([]byte{7}, 32)
	inst, err := GenerateInstallationSigner(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	u, inbox, err := CreateInboxUpdate(wallet, inst, 1, 1_769_689_696_123_456_789)
	if err != nil {
		t.Fatal(err)
	}
	b, err := u.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got := "inbox_id: " + string(inbox) + "\n" +
		"installation_id: " + inst.ID().String() + "\n" +
		"update_hex: " + hex.EncodeToString(b) + "\n" +
		"signature_text:\n" + u.SignatureText() + "\n"
	path := filepath.Join("testdata", "create_inbox.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file missing (run with -update): %v", err)
	}
	if got != string(want) {
		t.Fatalf("create-inbox update changed:\ngot:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(got, "Current time: 2026-01-29T12:28:16Z") {
		t.Error("timestamp not rendered")
	}
	if _, err := ApplyUpdates(nil, []*VerifiedUpdate{roundTrip(t, u, 1)}); err != nil {
		t.Fatal(err)
	}
}
