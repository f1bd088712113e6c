package identity

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"mlsbridge/wire/association"
	"mlsbridge/wire/identityapi"
)

func TestDecodeUpdateErrors(t *testing.T) {
	erc := &association.Signature{Signature: &association.Signature_Erc_191{Erc_191: &association.RecoverableEcdsaSignature{Bytes: []byte{1}}}}
	eth := &association.MemberIdentifier{Kind: &association.MemberIdentifier_EthereumAddress{EthereumAddress: "0x01"}}
	tests := []struct {
		name  string
		u     *association.IdentityUpdate
		field string
	}{
		{"empty action", &association.IdentityUpdate{Actions: []*association.IdentityAction{{}}}, "actions[0]"},
		{"create without signature", upd(&association.IdentityAction_CreateInbox{CreateInbox: &association.CreateInbox{InitialIdentifier: "0x01"}}), "actions[0].create_inbox.initial_identifier_signature"},
		{"create empty signature oneof", upd(&association.IdentityAction_CreateInbox{CreateInbox: &association.CreateInbox{InitialIdentifier: "0x01", InitialIdentifierSignature: &association.Signature{}}}), "actions[0].create_inbox.initial_identifier_signature"},
		{"create passkey not hex", upd(&association.IdentityAction_CreateInbox{CreateInbox: &association.CreateInbox{InitialIdentifier: "zz", InitialIdentifierKind: association.IdentifierKind_IDENTIFIER_KIND_PASSKEY, InitialIdentifierSignature: erc}}), "actions[0].create_inbox.initial_identifier"},
		{"add without member", upd(&association.IdentityAction_Add{Add: &association.AddAssociation{ExistingMemberSignature: erc, NewMemberSignature: erc}}), "actions[0].add.new_member_identifier"},
		{"add without new signature", upd(&association.IdentityAction_Add{Add: &association.AddAssociation{NewMemberIdentifier: eth, ExistingMemberSignature: erc}}), "actions[0].add.new_member_signature"},
		{"revoke without member", upd(&association.IdentityAction_Revoke{Revoke: &association.RevokeAssociation{RecoveryIdentifierSignature: erc}}), "actions[0].revoke.member_to_revoke"},
		{"revoke empty member oneof", upd(&association.IdentityAction_Revoke{Revoke: &association.RevokeAssociation{RecoveryIdentifierSignature: erc, MemberToRevoke: &association.MemberIdentifier{}}}), "actions[0].revoke.member_to_revoke"},
		{"change without signature", upd(&association.IdentityAction_ChangeRecoveryAddress{ChangeRecoveryAddress: &association.ChangeRecoveryAddress{NewRecoveryIdentifier: "0x01"}}), "actions[0].change_recovery_address.existing_recovery_identifier_signature"},
		{"installation key short", upd(&association.IdentityAction_Revoke{Revoke: &association.RevokeAssociation{MemberToRevoke: eth, RecoveryIdentifierSignature: &association.Signature{Signature: &association.Signature_InstallationKey{InstallationKey: &association.RecoverableEd25519Signature{PublicKey: []byte{1}}}}}}), "actions[0].revoke.recovery_identifier_signature.installation_key.public_key"},
		{"scw bad account", upd(&association.IdentityAction_Revoke{Revoke: &association.RevokeAssociation{MemberToRevoke: eth, RecoveryIdentifierSignature: &association.Signature{Signature: &association.Signature_Erc_6492{Erc_6492: &association.SmartContractWalletSignature{AccountId: "nope"}}}}}), "actions[0].revoke.recovery_identifier_signature.erc_6492.account_id"},
		{"legacy without key", upd(&association.IdentityAction_Revoke{Revoke: &association.RevokeAssociation{MemberToRevoke: eth, RecoveryIdentifierSignature: &association.Signature{Signature: &association.Signature_DelegatedErc_191{DelegatedErc_191: &association.LegacyDelegatedSignature{Signature: &association.RecoverableEcdsaSignature{}}}}}}), "actions[0].revoke.recovery_identifier_signature.delegated_erc_191.delegated_key"},
		{"legacy without signature", upd(&association.IdentityAction_Revoke{Revoke: &association.RevokeAssociation{MemberToRevoke: eth, RecoveryIdentifierSignature: &association.Signature{Signature: &association.Signature_DelegatedErc_191{DelegatedErc_191: &association.LegacyDelegatedSignature{}}}}}), "actions[0].revoke.recovery_identifier_signature.delegated_erc_191.signature"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := proto.Marshal(tc.u)
			if err != nil {
				t.Fatal(err)
			}
			_, err = DecodeUpdate(b)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error = %v, want DecodeError", err)
			}
			if de.Field != tc.field {
				t.Errorf("field = %q, want %q", de.Field, tc.field)
			}
		})
	}
	if _, err := DecodeUpdate([]byte{0xff, 0xff}); err == nil {
		t.Error("garbage decoded")
	}
}

func upd(kind any) *association.IdentityUpdate {
	a := &association.IdentityAction{}
	switch k := kind.(type) {
	case *association.IdentityAction_CreateInbox:
		a.Kind = k
	case *association.IdentityAction_Add:
		a.Kind = k
	case *association.IdentityAction_Revoke:
		a.Kind = k
	case *association.IdentityAction_ChangeRecoveryAddress:
		a.Kind = k
	}
	return &association.IdentityUpdate{InboxId: "x", Actions: []*association.IdentityAction{a}}
}

// An unspecified or unknown identifier kind is read as Ethereum, as prost's
// enum getter does.
func TestDecodeIdentifierKinds(t *testing.T) {
	erc := &association.Signature{Signature: &association.Signature_Erc_191{Erc_191: &association.RecoverableEcdsaSignature{}}}
	rp := "https://rp"
	for _, kind := range []association.IdentifierKind{0, 1, 7} {
		u, err := UpdateFromProto(upd(&association.IdentityAction_CreateInbox{CreateInbox: &association.CreateInbox{InitialIdentifier: "0xAB", InitialIdentifierKind: kind, InitialIdentifierSignature: erc}}))
		if err != nil {
			t.Fatal(err)
		}
		if a, ok := u.Actions[0].Member.Address(); !ok || a != "0xAB" {
			t.Errorf("kind %d: member %v", kind, u.Actions[0].Member)
		}
	}
	u, err := UpdateFromProto(upd(&association.IdentityAction_ChangeRecoveryAddress{ChangeRecoveryAddress: &association.ChangeRecoveryAddress{
		NewRecoveryIdentifier: "02AB", NewRecoveryIdentifierKind: association.IdentifierKind_IDENTIFIER_KIND_PASSKEY, RelyingParty: &rp, ExistingRecoveryIdentifierSignature: erc,
	}}))
	if err != nil {
		t.Fatal(err)
	}
	m := u.Actions[0].Member
	if got, ok := m.RelyingParty(); m.Kind() != MemberPasskey || !bytes.Equal(m.Key(), []byte{2, 0xab}) || !ok || got != rp {
		t.Errorf("passkey member %v", m)
	}
}

func TestDecodeUpdateLog(t *testing.T) {
	w, i := newWallet(t, 40), newInstallation(t, 41)
	u, _, err := CreateInboxUpdate(w, i, 1, 99)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeUpdateLog(&identityapi.GetIdentityUpdatesResponse_IdentityUpdateLog{SequenceId: 42, ServerTimestampNs: 1, Update: u.Proto()})
	if err != nil {
		t.Fatal(err)
	}
	if got.SequenceID != 42 || got.SignatureText() != u.SignatureText() {
		t.Errorf("decoded seq %d", got.SequenceID)
	}
	if _, err := DecodeUpdateLog(&identityapi.GetIdentityUpdatesResponse_IdentityUpdateLog{}); err == nil {
		t.Error("log entry without update accepted")
	}
}

// allKindsUpdate returns an update with every action and signature kind
// (not a valid inbox log entry; signatures are not over its text).
func allKindsUpdate(t testing.TB) *UnverifiedUpdate {
	w, i := newWallet(t, 50), newInstallation(t, 51)
	rp := "https://rp.example"
	esig, _ := w.SignIdentityText("t")
	isig, _ := i.SignIdentityText("t")
	p := newPasskey(t, rp)
	psig, _ := p.SignIdentityText("t")
	scwID, _ := ParseAccountID("eip155:1:0xabcdef0123456789abcdef0123456789abcdef01")
	lsig := makeLegacy(t, w, newWallet(t, 52), "t")
	return &UnverifiedUpdate{InboxID: "abc", ClientTimestampNs: 123, Actions: []UnverifiedAction{
		{Action: Action{Kind: ActionCreateInbox, Member: w.Identifier(), Nonce: 3}, Signature: esig},
		{Action: Action{Kind: ActionAddAssociation, Member: i.Identifier()}, Signature: lsig, NewMemberSignature: isig},
		{Action: Action{Kind: ActionAddAssociation, Member: p.Identifier()}, Signature: &SmartContractWalletSignature{AccountID: scwID, BlockNumber: 9, Signature: []byte{7}}, NewMemberSignature: psig},
		{Action: Action{Kind: ActionRevokeAssociation, Member: PasskeyMember([]byte{2, 3}, &rp)}, Signature: esig},
		{Action: Action{Kind: ActionChangeRecoveryAddress, Member: PasskeyMember([]byte{4, 5}, &rp)}, Signature: esig},
	}}
}

func TestUpdateEncodingRoundTrip(t *testing.T) {
	u := allKindsUpdate(t)
	b, err := u.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeUpdate(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.SignatureText() != u.SignatureText() {
		t.Errorf("signature text changed:\n%s\n%s", d.SignatureText(), u.SignatureText())
	}
	b2, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Error("encode → decode → encode changed the bytes")
	}
	// libxmtp copies a passkey subject's relying party to the action.
	if rp := d.Proto().GetActions()[4].GetChangeRecoveryAddress().RelyingParty; rp == nil || *rp != "https://rp.example" {
		t.Errorf("relying party = %v", rp)
	}
}

func FuzzDecodeUpdate(f *testing.F) {
	for _, u := range []*UnverifiedUpdate{allKindsUpdate(f)} {
		b, _ := u.Marshal()
		f.Add(b)
	}
	w, i := newWallet(f, 60), newInstallation(f, 61)
	u, _, _ := CreateInboxUpdate(w, i, 1, 5)
	b, _ := u.Marshal()
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := DecodeUpdate(b)
		if err != nil {
			return
		}
		_ = u.SignatureText()
		_ = u.SmartContractWalletChecks()
		if v, err := u.Verify(); err == nil {
			_, _ = ApplyUpdates(nil, []*VerifiedUpdate{v})
		}
		enc, err := u.Marshal()
		if err != nil {
			t.Fatalf("Marshal of decoded update: %v", err)
		}
		u2, err := DecodeUpdate(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		enc2, err := u2.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("decode → encode → decode → encode is not stable")
		}
		if u2.SignatureText() != u.SignatureText() {
			t.Fatalf("signature text changed after re-encoding")
		}
	})
}
