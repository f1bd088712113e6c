package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"mlsbridge/identity"
	"mlsbridge/storage"
	"mlsbridge/wire/association"
	"mlsbridge/wire/identityapi"
	"mlsbridge/wire/mlsapi"
)

// Key package rotation (spec §6.5).
const (
	// KeyPackageRotationInterval is how old our key package may get before
	// RotateKeyPackageIfDue replaces it.
	KeyPackageRotationInterval = 30 * 24 * time.Hour
	// keyPackageRetention is how long a superseded key package's private
	// keys are kept, so late welcomes still open.
	keyPackageRetention = 24 * time.Hour
	// maxIdentityRequests is libxmtp's batch size for GetIdentityUpdates.
	maxIdentityRequests = 50
)

// Register puts the installation on the network as libxmtp does (spec
// §5.6): it uploads a fresh key package, then publishes the identity update
// that creates the inbox with this installation (or, when the wallet's
// inbox exists, adds the installation to it), signed by the wallet and the
// installation. The update is verified and applied locally first. It needs
// the Signer and is a no-op for a registered installation.
// [Client.RegisterInstallation] also reports what was signed.
func (c *Client) Register(ctx context.Context) error {
	_, err := c.RegisterInstallation(ctx)
	return err
}

// Registration is what [Client.RegisterInstallation] did.
type Registration struct {
	// SignatureText is the text the wallet (and the installation) signed:
	// the signature text of the identity update that registered the
	// installation (spec §5.3), as libxmtp's signatureText() returns it.
	// It is "" when the installation was already registered and nothing
	// was signed.
	SignatureText string
}

// RegisterInstallation is [Client.Register], reporting the signature text
// of the identity update it published.
func (c *Client) RegisterInstallation(ctx context.Context) (Registration, error) {
	if c.isRegistered() {
		return Registration{}, nil
	}
	if c.signer == nil {
		return Registration{}, fmt.Errorf("%w: registering needs a signer", ErrInvalidArgument)
	}
	if err := c.uploadKeyPackage(ctx); err != nil {
		return Registration{}, fmt.Errorf("register: %w", err)
	}
	state, err := c.InboxState(ctx, c.inbox)
	if err != nil && !errors.Is(err, ErrInboxNotFound) {
		return Registration{}, fmt.Errorf("register: %w", err)
	}
	now := uint64(c.nowNs())
	var u *identity.UnverifiedUpdate
	if state == nil {
		u, _, err = identity.CreateInboxUpdate(c.signer, c.inst, c.nonce, now)
	} else {
		u, err = identity.AddInstallationUpdate(c.inbox, c.signer, c.inst, now)
	}
	if err != nil {
		return Registration{}, fmt.Errorf("register: build identity update: %w", err)
	}
	if err := c.publishIdentityUpdate(ctx, state, u); err != nil {
		return Registration{}, fmt.Errorf("register: %w", err)
	}
	c.mu.Lock()
	c.registered = true
	c.mu.Unlock()
	reg := Registration{SignatureText: u.SignatureText()}
	if err := c.saveIdentity(ctx); err != nil {
		return reg, fmt.Errorf("register: %w", err)
	}
	c.log.Info("installation registered")
	return reg, nil
}

// publishIdentityUpdate verifies u, applies it to state (nil for a new
// inbox) and publishes it.
func (c *Client) publishIdentityUpdate(ctx context.Context, state *identity.State, u *identity.UnverifiedUpdate) error {
	v, err := u.Verify()
	if err != nil {
		return fmt.Errorf("verify identity update: %w", err)
	}
	if _, err := identity.ApplyUpdates(state, []*identity.VerifiedUpdate{v}); err != nil {
		return fmt.Errorf("apply identity update: %w", err)
	}
	if _, err := c.idAPI.PublishIdentityUpdate(ctx, &identityapi.PublishIdentityUpdateRequest{IdentityUpdate: u.Proto()}); err != nil {
		return fmt.Errorf("publish identity update: %w", err)
	}
	return nil
}

// RevokeInstallations revokes installations of our inbox, signed by the
// wallet (the recovery identifier), and returns the inbox's new state.
func (c *Client) RevokeInstallations(ctx context.Context, ids []identity.InstallationID) (*identity.State, error) {
	if c.signer == nil {
		return nil, fmt.Errorf("%w: revoking needs a signer", ErrInvalidArgument)
	}
	state, err := c.InboxState(ctx, c.inbox)
	if err != nil {
		return nil, fmt.Errorf("revoke installations: %w", err)
	}
	u, err := identity.RevokeInstallationsUpdate(c.inbox, c.signer, ids, uint64(c.nowNs()))
	if err != nil {
		return nil, fmt.Errorf("revoke installations: %w", err)
	}
	if err := c.publishIdentityUpdate(ctx, state, u); err != nil {
		return nil, fmt.Errorf("revoke installations: %w", err)
	}
	return c.InboxState(ctx, c.inbox)
}

// uploadKeyPackage makes, stores and uploads a new key package, then
// retires the older ones (kept a day for late welcomes).
func (c *Client) uploadKeyPackage(ctx context.Context) error {
	kp, err := newKeyPackage(c.rand, c.now(), c.signaturePriv(), c.inbox)
	if err != nil {
		return err
	}
	id, err := c.db.InsertKeyPackage(ctx, storage.ClientKeyPackage{InitPublicKey: kp.KeyPackage.InitKey, KeyPackage: kp.Encoded,
		InitPrivateKey: kp.InitPrivateKey, EncryptionPrivateKey: kp.EncryptionPrivateKey, CreatedNs: c.nowNs()})
	if err != nil {
		return fmt.Errorf("store key package: %w", err)
	}
	crashPoint("keypackage.after_store")
	_, err = c.mlsAPI.UploadKeyPackage(ctx, &mlsapi.UploadKeyPackageRequest{
		KeyPackage: &mlsapi.KeyPackageUpload{KeyPackageTlsSerialized: kp.Encoded}, IsInboxIdCredential: true})
	if err != nil {
		return fmt.Errorf("upload key package: %w", err)
	}
	crashPoint("keypackage.after_upload")
	now := c.now()
	if err := c.db.MarkKeyPackageUploaded(ctx, id, now.UnixNano(), now.Add(keyPackageRetention).UnixNano()); err != nil {
		return err
	}
	c.log.Debug("key package uploaded")
	return nil
}

// RotateKeyPackage uploads a new key package now, and deletes superseded
// key packages whose grace period is over (spec §6.5).
func (c *Client) RotateKeyPackage(ctx context.Context) error {
	if !c.isRegistered() {
		return ErrNotRegistered
	}
	if err := c.uploadKeyPackage(ctx); err != nil {
		return fmt.Errorf("rotate key package: %w", err)
	}
	if _, err := c.db.DeleteExpiredKeyPackages(ctx, c.nowNs()); err != nil {
		return fmt.Errorf("rotate key package: %w", err)
	}
	return nil
}

// RotateKeyPackageIfDue rotates when the current key package was uploaded
// more than KeyPackageRotationInterval ago. It reports whether it did.
func (c *Client) RotateKeyPackageIfDue(ctx context.Context) (bool, error) {
	kp, err := c.db.LatestKeyPackage(ctx)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return false, err
	}
	if kp != nil && kp.UploadedNs > 0 && c.now().Sub(time.Unix(0, kp.UploadedNs)) < KeyPackageRotationInterval {
		return false, nil
	}
	return true, c.RotateKeyPackage(ctx)
}

// InboxIDFor returns the inbox id that the node maps address to, and false
// when it has none (spec §3.2 GetInboxIds).
func (c *Client) InboxIDFor(ctx context.Context, address identity.Address) (identity.InboxID, bool, error) {
	m, err := c.inboxIDsFor(ctx, []identity.Address{address})
	if err != nil {
		return "", false, err
	}
	id, ok := m[address]
	return id, ok, nil
}

func (c *Client) inboxIDsFor(ctx context.Context, addrs []identity.Address) (map[identity.Address]identity.InboxID, error) {
	req := &identityapi.GetInboxIdsRequest{}
	for _, a := range addrs {
		if !a.Valid() {
			return nil, fmt.Errorf("%w: address %q", ErrInvalidArgument, a)
		}
		req.Requests = append(req.Requests, &identityapi.GetInboxIdsRequest_Request{
			Identifier: string(a), IdentifierKind: association.IdentifierKind_IDENTIFIER_KIND_ETHEREUM})
	}
	resp, err := c.idAPI.GetInboxIds(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("get inbox ids: %w", err)
	}
	out := map[identity.Address]identity.InboxID{}
	for _, r := range resp.GetResponses() {
		if r.InboxId == nil {
			continue
		}
		id, err := identity.ParseInboxID(r.GetInboxId())
		if err != nil {
			continue
		}
		out[identity.Address(r.GetIdentifier())] = id
	}
	return out, nil
}

// CanMessage reports, for each address, whether it has an inbox on the
// network (as libxmtp's canMessage does).
func (c *Client) CanMessage(ctx context.Context, addrs []identity.Address) (map[identity.Address]bool, error) {
	m, err := c.inboxIDsFor(ctx, addrs)
	if err != nil {
		return nil, err
	}
	out := make(map[identity.Address]bool, len(addrs))
	for _, a := range addrs {
		_, out[a] = m[a]
	}
	return out, nil
}

// ErrInboxNotFound is returned for an inbox with no identity updates.
var ErrInboxNotFound = errors.New("client: inbox not found")

// InboxState fetches an inbox's whole identity log from the node, verifies
// every update and returns the association state at its last update.
func (c *Client) InboxState(ctx context.Context, inbox identity.InboxID) (*identity.State, error) {
	logs, err := c.identityLogs(ctx, []identity.InboxID{inbox})
	if err != nil {
		return nil, err
	}
	ups := logs[inbox]
	if len(ups) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrInboxNotFound, inbox)
	}
	st, err := identity.ApplyUpdates(nil, ups)
	if err != nil {
		return nil, fmt.Errorf("inbox %s: %w", inbox, err)
	}
	return st, nil
}
