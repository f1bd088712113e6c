package node

import (
	"encoding/hex"
	"log/slog"
	"slices"
	"testing"

	"mlsbridge/identity"
	"mlsbridge/internal/interoptest"
	"mlsbridge/wire/identityapi"
)

// TestInteropIdentity checks identity/ against what libxmtp itself
// produces through one peer (issue 3): its inbox id is our
// ComputeInboxID, the signature text it signs is byte for byte our
// SignatureText of the update it publishes, and that update verifies
// (ERC-191 and Ed25519ph) and applies to a state holding the peer's
// address and installation.
func TestInteropIdentity(t *testing.T) {
	if testing.Short() {
		t.Skip("libxmtp interop test skipped in -short mode")
	}
	dir := interoptest.Dir(t)
	tn := startTestNodeLevel(t, "", Config{}, slog.LevelInfo)
	ctx := ctxT(t)

	wallet, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := interoptest.StartPeer(t, dir)
	created := p.Call(t, map[string]any{"op": "create", "client": "alice", "db": t.TempDir() + "/a.db3",
		"host": "http://" + tn.addr().String(), "key": "0x" + hex.EncodeToString(wallet.PrivateKey())})
	if reg, _ := created["isRegistered"].(bool); reg {
		t.Fatalf("create without register: isRegistered = true")
	}
	addr, _ := created["address"].(string)
	if addr != string(wallet.Address()) {
		t.Fatalf("peer address %q, want %q", addr, wallet.Address())
	}
	installHex, _ := created["installationId"].(string)
	installID, err := hex.DecodeString(installHex)
	if err != nil || len(installID) != 32 {
		t.Fatalf("peer installation id %q: %v", installHex, err)
	}

	reg := p.Call(t, map[string]any{"op": "register"})
	peerText, _ := reg["signatureText"].(string)
	if peerText == "" {
		t.Fatalf("register returned no signatureText: %v", reg)
	}
	ids := p.Call(t, map[string]any{"op": "inboxId"})
	inbox, _ := ids["inboxId"].(string)
	if inbox != created["inboxId"] || inbox != reg["inboxId"] {
		t.Fatalf("inbox ids differ: create %v, register %v, inboxId %v", created["inboxId"], reg["inboxId"], inbox)
	}
	if ok, _ := ids["isRegistered"].(bool); !ok {
		t.Fatalf("not registered after register: %v", ids)
	}

	// 1. The inbox id. node-bindings derives a new inbox with nonce 1.
	const nonce = 1
	want, err := identity.ComputeInboxID(identity.EthereumMember(wallet.Address()), nonce)
	if err != nil {
		t.Fatal(err)
	}
	if inbox != string(want) {
		t.Fatalf("libxmtp inbox id %s, ComputeInboxID(address, %d) = %s", inbox, nonce, want)
	}

	// 2. The signature text, rebuilt from the update the node stored.
	resp, err := tn.id.GetIdentityUpdates(ctx, &identityapi.GetIdentityUpdatesRequest{Requests: []*identityapi.GetIdentityUpdatesRequest_Request{{InboxId: inbox}}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.GetResponses()); n != 1 {
		t.Fatalf("%d responses, want 1", n)
	}
	logs := resp.GetResponses()[0].GetUpdates()
	if len(logs) != 1 {
		t.Fatalf("inbox log has %d updates, want 1 (the registration)", len(logs))
	}
	u, err := identity.DecodeUpdateLog(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	if u.InboxID != inbox {
		t.Fatalf("update inbox %q, want %q", u.InboxID, inbox)
	}
	if got := u.SignatureText(); got != peerText {
		t.Fatalf("signature text differs\nours:    %q\nlibxmtp: %q", got, peerText)
	}
	actions := make([]identity.Action, len(u.Actions))
	for i, a := range u.Actions {
		actions[i] = a.Action
	}
	if got := identity.SignatureText(inbox, u.ClientTimestampNs, actions); got != peerText {
		t.Fatalf("SignatureText(inbox, ts, actions) differs\nours:    %q\nlibxmtp: %q", got, peerText)
	}
	t.Logf("libxmtp signature text (matches ours):\n%s", peerText)

	// The registration is CreateInbox(address, nonce) then
	// AddAssociation(installation), as libxmtp builds it.
	if len(u.Actions) != 2 || u.Actions[0].Kind != identity.ActionCreateInbox || u.Actions[1].Kind != identity.ActionAddAssociation {
		t.Fatalf("actions %v, want create inbox + add association", actions)
	}
	if c := u.Actions[0]; !c.Member.Equal(identity.EthereumMember(wallet.Address())) || c.Nonce != nonce {
		t.Fatalf("create inbox member %v nonce %d, want %s nonce %d", c.Member, c.Nonce, wallet.Address(), nonce)
	}
	if got := hex.EncodeToString(u.Actions[1].Member.Key()); got != installHex {
		t.Fatalf("added member %s, want installation %s", got, installHex)
	}

	// 3. It verifies and applies.
	v, err := u.Verify()
	if err != nil {
		t.Fatalf("verify libxmtp's update: %v", err)
	}
	state, err := identity.ApplyUpdates(nil, []*identity.VerifiedUpdate{v})
	if err != nil {
		t.Fatalf("apply libxmtp's update: %v", err)
	}
	if state.InboxID() != want {
		t.Fatalf("state inbox %s, want %s", state.InboxID(), want)
	}
	if !state.IsMember(identity.EthereumMember(wallet.Address())) {
		t.Fatalf("state members %v lack %s", state.Members(), wallet.Address())
	}
	iid, err := identity.InstallationIDFromBytes(installID)
	if err != nil {
		t.Fatal(err)
	}
	if !state.HasInstallation(iid) || !slices.Equal(state.Installations(), []identity.InstallationID{iid}) {
		t.Fatalf("state installations %v, want [%s]", state.Installations(), installHex)
	}
	if got := state.RecoveryIdentifier(); !got.Equal(identity.EthereumMember(wallet.Address())) {
		t.Fatalf("recovery %v, want %s", got, wallet.Address())
	}
	sigs := v.Actions()
	if s := sigs[0].Signature; s.Kind() != identity.SignatureERC191 || !s.Signer().Equal(identity.EthereumMember(wallet.Address())) {
		t.Fatalf("create inbox signed by %v (%v), want the wallet's ERC-191", s.Signer(), s.Kind())
	}
	if s := sigs[1].NewMemberSignature; s.Kind() != identity.SignatureInstallationKey || !s.Signer().Equal(identity.InstallationMember(iid)) {
		t.Fatalf("new member signed by %v (%v), want installation %s", s.Signer(), s.Kind(), installHex)
	}
	// The installation key signature, checked directly as Ed25519ph.
	ik, ok := u.Actions[1].NewMemberSignature.(*identity.InstallationKeySignature)
	if !ok {
		t.Fatalf("new member signature is %T, want installation key", u.Actions[1].NewMemberSignature)
	}
	if hex.EncodeToString(ik.PublicKey) != installHex {
		t.Fatalf("installation signature key %x, want %s", ik.PublicKey, installHex)
	}
	if err := identity.VerifyEd25519ph(ik.PublicKey, identity.InstallationKeySignatureContext, peerText, ik.Signature); err != nil {
		t.Fatalf("installation Ed25519ph over libxmtp's text: %v", err)
	}

	// libxmtp's own view of the inbox agrees.
	st := p.Call(t, map[string]any{"op": "inboxState"})
	if st["inboxId"] != inbox || st["recovery"] != addr {
		t.Fatalf("libxmtp inbox state %v", st)
	}
	if inst, _ := st["installations"].([]any); len(inst) != 1 || inst[0] != installHex {
		t.Fatalf("libxmtp installations %v, want [%s]", st["installations"], installHex)
	}
	if idents, _ := st["identifiers"].([]any); len(idents) != 1 || idents[0] != addr {
		t.Fatalf("libxmtp identifiers %v, want [%s]", st["identifiers"], addr)
	}
}
