package identity

import (
	"errors"
	"testing"
)

func TestParseAccountID(t *testing.T) {
	tests := []struct {
		in    string
		ok    bool
		chain uint64
	}{
		{"eip155:8453:0xabcdef0123456789abcdef0123456789abcdef01", true, 8453},
		{"eip155:1:0xAbC", true, 1},
		{"cosmos:cosmoshub-3:cosmos1t2uflqwqe0fsj0shcfkrvpukewcw40yjj6hdc0", true, 0},
		{"eip155:1", false, 0},
		{"eip155:1:0xabc:extra", false, 0},
		{"EIP155:1:0xabc", false, 0},
		{"ei:1:0xabc", false, 0},
		{"eip155:1:", false, 0},
		{"eip155:1:0x abc", false, 0},
		{"eip155::0xabc", false, 0},
	}
	for _, tc := range tests {
		id, err := ParseAccountID(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseAccountID(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		if id.String() != tc.in {
			t.Errorf("String = %q, want %q", id.String(), tc.in)
		}
		n, err := id.EVMChainID()
		if tc.chain != 0 && (err != nil || n != tc.chain) {
			t.Errorf("%q EVMChainID = %d, %v", tc.in, n, err)
		}
		if tc.chain == 0 && err == nil {
			t.Errorf("%q EVMChainID accepted a non-eip155 chain", tc.in)
		}
	}
}

func TestSmartContractWalletUnsupported(t *testing.T) {
	id, _ := ParseAccountID("eip155:8453:0xabcdef0123456789abcdef0123456789abcdef01")
	inst := newInstallation(t, 30)
	r := NewSignatureRequest("inbox", 5).AddAssociation(inst.Identifier(), EthereumMember("0xabcdef0123456789abcdef0123456789abcdef01"))
	isig, _ := inst.SignIdentityText(r.SignatureText())
	u := &UnverifiedUpdate{InboxID: "inbox", ClientTimestampNs: 5, Actions: []UnverifiedAction{{
		Action:             Action{Kind: ActionAddAssociation, Member: inst.Identifier()},
		Signature:          &SmartContractWalletSignature{AccountID: id, BlockNumber: 7, Signature: []byte{1, 2}},
		NewMemberSignature: isig,
	}}}
	_, err := u.Verify()
	var se *SignatureError
	if !errors.As(err, &se) || !errors.Is(err, ErrSmartContractWalletUnsupported) {
		t.Fatalf("Verify error = %v, want SignatureError wrapping ErrSmartContractWalletUnsupported", err)
	}
	if se.Action != 0 || se.Role != RoleExistingMember || se.Kind != SignatureERC1271 {
		t.Errorf("SignatureError = %+v", se)
	}
	checks := u.SmartContractWalletChecks()
	if len(checks) != 1 || checks[0].AccountID != id || checks[0].BlockNumber != 7 || checks[0].Hash != EIP191Hash(u.SignatureText()) || checks[0].Role != RoleExistingMember {
		t.Errorf("SmartContractWalletChecks = %+v", checks)
	}
	// The encoding round-trips.
	b, err := u.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeUpdate(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Actions[0].Signature.(*SmartContractWalletSignature); got.AccountID != id || got.BlockNumber != 7 {
		t.Errorf("decoded %+v", got)
	}
}
