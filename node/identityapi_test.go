package node

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"mlsbridge/identity"
	"mlsbridge/wire/association"
	"mlsbridge/wire/identityapi"
)

type testInboxOwner struct {
	wallet *identity.EthereumSigner
	inst   *identity.InstallationSigner
	inbox  identity.InboxID
	create *association.IdentityUpdate
}

func newInboxOwner(t *testing.T) testInboxOwner {
	t.Helper()
	w, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := identity.GenerateInstallationSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, inbox, err := identity.CreateInboxUpdate(w, inst, 1, uint64(time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	return testInboxOwner{wallet: w, inst: inst, inbox: inbox, create: u.Proto()}
}

func (tn *testNode) publish(ctx context.Context, u *association.IdentityUpdate) error {
	_, err := tn.id.PublishIdentityUpdate(ctx, &identityapi.PublishIdentityUpdateRequest{IdentityUpdate: u})
	return err
}

func (tn *testNode) inboxLog(ctx context.Context, inbox identity.InboxID, after uint64) []*identityapi.GetIdentityUpdatesResponse_IdentityUpdateLog {
	tn.t.Helper()
	resp, err := tn.id.GetIdentityUpdates(ctx, &identityapi.GetIdentityUpdatesRequest{Requests: []*identityapi.GetIdentityUpdatesRequest_Request{
		{InboxId: string(inbox), SequenceId: after}}})
	if err != nil {
		tn.t.Fatal(err)
	}
	return resp.GetResponses()[0].GetUpdates()
}

func (tn *testNode) lookup(ctx context.Context, addr identity.Address) string {
	tn.t.Helper()
	resp, err := tn.id.GetInboxIds(ctx, &identityapi.GetInboxIdsRequest{Requests: []*identityapi.GetInboxIdsRequest_Request{
		{Identifier: string(addr), IdentifierKind: association.IdentifierKind_IDENTIFIER_KIND_ETHEREUM}}})
	if err != nil {
		tn.t.Fatal(err)
	}
	r := resp.GetResponses()[0]
	if r.GetIdentifier() != string(addr) || r.GetIdentifierKind() != association.IdentifierKind_IDENTIFIER_KIND_ETHEREUM {
		tn.t.Fatalf("lookup echo = %v", r)
	}
	return r.GetInboxId()
}

func TestIdentityLifecycle(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{})
	alice, bob := newInboxOwner(t), newInboxOwner(t)
	if got := tn.lookup(ctx, alice.wallet.Address()); got != "" {
		t.Fatalf("unknown address maps to %q", got)
	}
	for _, o := range []testInboxOwner{alice, bob} {
		if err := tn.publish(ctx, o.create); err != nil {
			t.Fatal(err)
		}
	}
	if got := tn.lookup(ctx, alice.wallet.Address()); got != string(alice.inbox) {
		t.Fatalf("alice's address maps to %q, want %q", got, alice.inbox)
	}
	log := tn.inboxLog(ctx, alice.inbox, 0)
	if len(log) != 1 || log[0].GetSequenceId() == 0 || log[0].GetServerTimestampNs() == 0 || !proto.Equal(log[0].GetUpdate(), alice.create) {
		t.Fatalf("alice's log = %v", log)
	}
	first := log[0].GetSequenceId()

	// A second installation, then revoke the first.
	inst2, err := identity.GenerateInstallationSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	add, err := identity.AddInstallationUpdate(alice.inbox, alice.wallet, inst2, uint64(time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.publish(ctx, add.Proto()); err != nil {
		t.Fatal(err)
	}
	revoke, err := identity.RevokeInstallationsUpdate(alice.inbox, alice.wallet, []identity.InstallationID{alice.inst.ID()}, uint64(time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.publish(ctx, revoke.Proto()); err != nil {
		t.Fatal(err)
	}
	// A second wallet joins, then is unlinked: the address index follows.
	w2, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	link, err := identity.AddWalletUpdate(alice.inbox, alice.wallet, w2, uint64(time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.publish(ctx, link.Proto()); err != nil {
		t.Fatal(err)
	}
	if got := tn.lookup(ctx, w2.Address()); got != string(alice.inbox) {
		t.Fatalf("linked wallet maps to %q", got)
	}
	unlink, err := identity.RevokeMemberUpdate(alice.inbox, alice.wallet, w2.Identifier(), uint64(time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.publish(ctx, unlink.Proto()); err != nil {
		t.Fatal(err)
	}
	if got := tn.lookup(ctx, w2.Address()); got != "" {
		t.Fatalf("unlinked wallet still maps to %q", got)
	}
	log = tn.inboxLog(ctx, alice.inbox, 0)
	if len(log) != 5 {
		t.Fatalf("alice's log has %d updates, want 5", len(log))
	}
	for i := 1; i < len(log); i++ {
		if log[i].GetSequenceId() <= log[i-1].GetSequenceId() {
			t.Fatal("sequence ids not increasing")
		}
	}
	if after := tn.inboxLog(ctx, alice.inbox, first); len(after) != 4 || after[0].GetSequenceId() != log[1].GetSequenceId() {
		t.Fatalf("updates after %d: %d", first, len(after))
	}
	// The log verifies as a client would check it.
	var verified []*identity.VerifiedUpdate
	for _, l := range log {
		u, err := identity.DecodeUpdateLog(l)
		if err != nil {
			t.Fatal(err)
		}
		v, err := u.Verify()
		if err != nil {
			t.Fatal(err)
		}
		verified = append(verified, v)
	}
	state, err := identity.ApplyUpdates(nil, verified)
	if err != nil {
		t.Fatal(err)
	}
	if state.HasInstallation(alice.inst.ID()) || !state.HasInstallation(inst2.ID()) {
		t.Fatal("final state has the wrong installations")
	}

	// Several inboxes per call, unknown ones empty, order kept.
	resp, err := tn.id.GetIdentityUpdates(ctx, &identityapi.GetIdentityUpdatesRequest{Requests: []*identityapi.GetIdentityUpdatesRequest_Request{
		{InboxId: string(bob.inbox)}, {InboxId: "unknown"}, {InboxId: string(alice.inbox), SequenceId: log[4].GetSequenceId()}}})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.GetResponses()
	if len(r) != 3 || r[0].GetInboxId() != string(bob.inbox) || len(r[0].GetUpdates()) != 1 || len(r[1].GetUpdates()) != 0 || len(r[2].GetUpdates()) != 0 {
		t.Fatalf("batch = %v", r)
	}
}

func TestPublishIdentityUpdateRejectsInvalidAndStoresNothing(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{})
	alice, mallory := newInboxOwner(t), newInboxOwner(t)
	if err := tn.publish(ctx, alice.create); err != nil {
		t.Fatal(err)
	}
	// Mallory's installation tries to join alice's inbox on her own.
	inst, err := identity.GenerateInstallationSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	notMember, err := identity.AddInstallationUpdate(alice.inbox, mallory.wallet, inst, 1)
	if err != nil {
		t.Fatal(err)
	}
	tampered := proto.Clone(mallory.create).(*association.IdentityUpdate)
	tampered.ClientTimestampNs += 2e9 // the text shows whole seconds
	wrongInbox := proto.Clone(mallory.create).(*association.IdentityUpdate)
	wrongInbox.InboxId = string(alice.inbox)
	otherInbox := proto.Clone(mallory.create).(*association.IdentityUpdate)
	otherInbox.InboxId = "0000000000000000000000000000000000000000000000000000000000000000"
	badHex := proto.Clone(mallory.create).(*association.IdentityUpdate)
	badHex.InboxId = "XYZ"
	noSig := proto.Clone(mallory.create).(*association.IdentityUpdate)
	noSig.Actions[0].GetCreateInbox().InitialIdentifierSignature = nil
	scw := proto.Clone(mallory.create).(*association.IdentityUpdate)
	scw.Actions[0].GetCreateInbox().InitialIdentifierSignature = &association.Signature{Signature: &association.Signature_Erc_6492{
		Erc_6492: &association.SmartContractWalletSignature{AccountId: "eip155:1:" + string(mallory.wallet.Address()), Signature: []byte{1}}}}
	cases := map[string]*association.IdentityUpdate{
		"missing":            nil,
		"replayed create":    alice.create,
		"wrong signature":    tampered,
		"wrong inbox":        wrongInbox,
		"inbox not derived":  otherInbox,
		"malformed inbox id": badHex,
		"signature missing":  noSig,
		"not a member":       notMember.Proto(),
		"smart contract":     scw,
		"no actions":         {InboxId: string(mallory.inbox)},
	}
	for name, u := range cases {
		t.Run(name, func(t *testing.T) {
			wantCode(t, tn.publish(ctx, u), codes.InvalidArgument)
		})
	}
	if log := tn.inboxLog(ctx, alice.inbox, 0); len(log) != 1 {
		t.Fatalf("alice's log has %d updates after rejected ones", len(log))
	}
	if log := tn.inboxLog(ctx, mallory.inbox, 0); len(log) != 0 {
		t.Fatalf("mallory's log has %d updates", len(log))
	}
	if got := tn.lookup(ctx, mallory.wallet.Address()); got != "" {
		t.Fatalf("rejected inbox indexed: %q", got)
	}
	// Replaying an accepted add (same signatures) is refused too.
	inst2, err := identity.GenerateInstallationSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	add, err := identity.AddInstallationUpdate(alice.inbox, alice.wallet, inst2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.publish(ctx, add.Proto()); err != nil {
		t.Fatal(err)
	}
	wantCode(t, tn.publish(ctx, add.Proto()), codes.InvalidArgument)
	if log := tn.inboxLog(ctx, alice.inbox, 0); len(log) != 2 {
		t.Fatalf("alice's log has %d updates after a replay, want 2", len(log))
	}
}

func TestVerifySmartContractWalletSignatures(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{})
	req := &identityapi.VerifySmartContractWalletSignaturesRequest{}
	for range 3 {
		req.Signatures = append(req.Signatures, &identityapi.VerifySmartContractWalletSignatureRequestSignature{
			AccountId: "eip155:1:0x0000000000000000000000000000000000000001", Signature: []byte{1}, Hash: make([]byte, 32)})
	}
	resp, err := tn.id.VerifySmartContractWalletSignatures(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetResponses()) != 3 {
		t.Fatalf("%d responses for 3 signatures", len(resp.GetResponses()))
	}
	for _, r := range resp.GetResponses() {
		if r.GetIsValid() || r.GetError() == "" {
			t.Fatalf("response %v", r)
		}
	}
}
