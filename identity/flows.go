package identity

import "fmt"

// The flows below build the updates libxmtp publishes for its common
// operations (spec §5.6). Each takes the caller's clock reading
// clientTimestampNs (Unix nanoseconds) and returns a signed, unverified
// update ready to encode and publish; verify and apply it locally first, as
// libxmtp does.

// CreateInboxUpdate builds a new inbox for wallet's address with nonce,
// and its first installation, in one update: [CreateInbox(wallet),
// AddAssociation(installation, existing = wallet)]. The wallet signs once
// and that signature serves both actions. It returns the update and the
// inbox id. (node-bindings uses nonce 1 by default.)
func CreateInboxUpdate(wallet, installation Signer, nonce, clientTimestampNs uint64) (*UnverifiedUpdate, InboxID, error) {
	id, err := ComputeInboxID(wallet.Identifier(), nonce)
	if err != nil {
		return nil, "", err
	}
	r := NewSignatureRequest(id, clientTimestampNs).
		CreateInbox(wallet.Identifier(), nonce).
		AddAssociation(installation.Identifier(), wallet.Identifier())
	u, err := signAll(r, installation, wallet)
	if err != nil {
		return nil, "", err
	}
	return u, id, nil
}

// AddInstallationUpdate adds installation to inboxID, vouched for by
// existing: a wallet member or the recovery identifier.
func AddInstallationUpdate(inboxID InboxID, existing, installation Signer, clientTimestampNs uint64) (*UnverifiedUpdate, error) {
	r := NewSignatureRequest(inboxID, clientTimestampNs).AddAssociation(installation.Identifier(), existing.Identifier())
	return signAll(r, installation, existing)
}

// AddWalletUpdate links another wallet (or passkey) newMember to inboxID,
// vouched for by existing.
func AddWalletUpdate(inboxID InboxID, existing, newMember Signer, clientTimestampNs uint64) (*UnverifiedUpdate, error) {
	r := NewSignatureRequest(inboxID, clientTimestampNs).AddAssociation(newMember.Identifier(), existing.Identifier())
	return signAll(r, newMember, existing)
}

// RevokeInstallationsUpdate revokes installations from inboxID, one action
// each, all signed by the one recovery signature. installations must not be
// empty.
func RevokeInstallationsUpdate(inboxID InboxID, recovery Signer, installations []InstallationID, clientTimestampNs uint64) (*UnverifiedUpdate, error) {
	if len(installations) == 0 {
		return nil, fmt.Errorf("%w: no installations to revoke", ErrInvalidIdentifier)
	}
	r := NewSignatureRequest(inboxID, clientTimestampNs)
	for _, id := range installations {
		r.RevokeAssociation(recovery.Identifier(), InstallationMember(id))
	}
	return signAll(r, recovery)
}

// RevokeMemberUpdate revokes any member (a wallet, passkey or
// installation) from inboxID; installations it added go with it.
func RevokeMemberUpdate(inboxID InboxID, recovery Signer, member MemberIdentifier, clientTimestampNs uint64) (*UnverifiedUpdate, error) {
	r := NewSignatureRequest(inboxID, clientTimestampNs).RevokeAssociation(recovery.Identifier(), member)
	return signAll(r, recovery)
}

// ChangeRecoveryAddressUpdate makes newRecovery (an Ethereum address or
// passkey) the recovery identifier of inboxID.
func ChangeRecoveryAddressUpdate(inboxID InboxID, recovery Signer, newRecovery MemberIdentifier, clientTimestampNs uint64) (*UnverifiedUpdate, error) {
	r := NewSignatureRequest(inboxID, clientTimestampNs).ChangeRecoveryAddress(recovery.Identifier(), newRecovery)
	return signAll(r, recovery)
}

// signAll signs r with each signer, in order (libxmtp signs with the
// installation first, then the wallet), and builds it.
func signAll(r *SignatureRequest, signers ...Signer) (*UnverifiedUpdate, error) {
	for _, s := range signers {
		if err := r.Sign(s); err != nil {
			return nil, err
		}
	}
	return r.Build()
}
