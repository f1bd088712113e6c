package mls

import (
	"bytes"
	"crypto/hmac"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"
)

// framedContentTBSLabel is the SignWithLabel label of FramedContentTBS (RFC
// 9420 §6.1), without the "MLS 1.0 " prefix.
const framedContentTBSLabel = "FramedContentTBS"

// ErrCannotProtect is returned (wrapped) when the caller asks to sign or
// protect content in a way RFC 9420 §6 forbids, such as application data in
// a PublicMessage or a PrivateMessage from a non-member. It is API misuse,
// never bad remote input.
var ErrCannotProtect = errors.New("mls: content cannot be protected this way")

// signatureKeyFunc returns the signature public key of a sender of the
// current epoch: for SenderTypeMember the key in the LeafNode at
// s.LeafIndex, for SenderTypeExternal the key at s.SenderIndex in the
// external_senders extension. It returns an error (a *ValidationError
// naming RFC 9420 §6.1 or §6.3.2) when there is no such non-blank sender.
// It is never called for new-member senders, whose key is in the content.
type signatureKeyFunc func(s Sender) ([]byte, error)

// signFramedContent signs content as it will be sent in wire format wf
// (PublicMessage or PrivateMessage) with the sender's private signature key
// priv (RFC 9420 §6.1). ctx is the current epoch's GroupContext; it is
// required for member and new_member_commit senders. The returned
// AuthenticatedContent has no confirmation tag yet: for a commit the caller
// sets Auth.ConfirmationTag before protecting it.
func signFramedContent(rand io.Reader, cs CipherSuite, priv []byte, wf WireFormat, content *FramedContent, ctx *GroupContext) (*AuthenticatedContent, error) {
	k, err := cs.parseSigningKey(priv)
	if err != nil {
		return nil, fmt.Errorf("mls: sign framed content: %w", err)
	}
	return signFramedContentWith(rand, k, wf, content, ctx)
}

// signFramedContentWith is signFramedContent with the parsed key k.
func signFramedContentWith(rand io.Reader, k *signingKey, wf WireFormat, content *FramedContent, ctx *GroupContext) (*AuthenticatedContent, error) {
	if err := checkProtectable(wf, content); err != nil {
		return nil, err
	}
	tbs, err := encode(&framedContentTBS{WireFormat: wf, Content: content, Context: ctx})
	if err != nil {
		return nil, err
	}
	sig, err := k.signWithLabel(rand, framedContentTBSLabel, tbs)
	if err != nil {
		return nil, fmt.Errorf("mls: sign framed content: %w", err)
	}
	return &AuthenticatedContent{WireFormat: wf, Content: *content, Auth: FramedContentAuthData{Signature: sig}}, nil
}

// checkProtectable refuses what a sender must not produce (RFC 9420 §6,
// §6.1, §6.3.2).
func checkProtectable(wf WireFormat, c *FramedContent) error {
	switch {
	case wf != WireFormatPublicMessage && wf != WireFormatPrivateMessage:
		return fmt.Errorf("%w: wire format %s", ErrCannotProtect, wf)
	case wf == WireFormatPublicMessage && c.ContentType == ContentTypeApplication:
		return fmt.Errorf("%w: application data as a public message (RFC 9420 §6)", ErrCannotProtect)
	case wf == WireFormatPrivateMessage && c.Sender.Type != SenderTypeMember:
		return fmt.Errorf("%w: private message from a %s sender (RFC 9420 §6.3.2)", ErrCannotProtect, c.Sender.Type)
	}
	if err := checkSenderContent(c); err != nil {
		return fmt.Errorf("%w: %w", ErrCannotProtect, err)
	}
	return nil
}

// checkSenderContent enforces which content each sender type may send
// (RFC 9420 §6.1, §12.1.8).
func checkSenderContent(c *FramedContent) error {
	switch c.Sender.Type {
	case SenderTypeMember:
		return nil
	case SenderTypeExternal:
		if c.ContentType != ContentTypeProposal || c.Proposal == nil {
			return invalid("§6.1", "external sender sent %s content, not a proposal", c.ContentType)
		}
		if !c.Proposal.Type.allowedForExternal() {
			return invalid("§12.1.8", "external sender sent a %s proposal", c.Proposal.Type)
		}
	case SenderTypeNewMemberProposal:
		if c.ContentType != ContentTypeProposal || c.Proposal == nil || c.Proposal.Type != ProposalTypeAdd {
			return invalid("§6.1", "new_member_proposal sender sent something other than an add proposal")
		}
	case SenderTypeNewMemberCommit:
		if c.ContentType != ContentTypeCommit || c.Commit == nil {
			return invalid("§6.1", "new_member_commit sender sent %s content, not a commit", c.ContentType)
		}
		if c.Commit.Path == nil {
			return invalid("§12.4.3.2", "external commit without a path")
		}
	default:
		return invalid("§6", "sender type %d", uint8(c.Sender.Type))
	}
	return nil
}

// senderSignatureKey returns the key that must have signed c (RFC 9420
// §6.1): from keyOf for members and external senders, from the content for
// new members.
func senderSignatureKey(c *FramedContent, keyOf signatureKeyFunc) ([]byte, error) {
	if err := checkSenderContent(c); err != nil {
		return nil, err
	}
	switch c.Sender.Type {
	case SenderTypeNewMemberProposal:
		return c.Proposal.Add.KeyPackage.LeafNode.SignatureKey, nil
	case SenderTypeNewMemberCommit:
		return c.Commit.Path.LeafNode.SignatureKey, nil
	}
	return keyOf(c.Sender)
}

// verifyFramedContent checks ac's signature with pub over the
// FramedContentTBS built from ac and ctx (RFC 9420 §6.1).
func verifyFramedContent(cs CipherSuite, ac *AuthenticatedContent, ctx *GroupContext, pub []byte) error {
	tbs, err := encode(&framedContentTBS{WireFormat: ac.WireFormat, Content: &ac.Content, Context: ctx})
	if err != nil {
		return err
	}
	if !cs.VerifyWithLabel(pub, framedContentTBSLabel, tbs, ac.Auth.Signature) {
		return invalid("§6.1", "framed content signature of %s sender does not verify", ac.Content.Sender.Type)
	}
	return nil
}

// checkGroupEpoch checks that a message belongs to the group and epoch of
// ctx (RFC 9420 §6, §12.1, §12.4.2).
func checkGroupEpoch(groupID []byte, epoch uint64, ct ContentType, ctx *GroupContext) error {
	if !bytes.Equal(groupID, ctx.GroupID) {
		return invalid("§6", "message for another group")
	}
	if epoch != ctx.Epoch {
		section := "§6"
		switch ct {
		case ContentTypeProposal:
			section = "§12.1"
		case ContentTypeCommit:
			section = "§12.4.2"
		}
		return invalid(section, "message for epoch %d, current epoch is %d", epoch, ctx.Epoch)
	}
	return nil
}

// membershipTag returns MAC(membership_key, AuthenticatedContentTBM) for ac
// (RFC 9420 §6.2).
func membershipTag(cs CipherSuite, membershipKey []byte, ac *AuthenticatedContent, ctx *GroupContext) ([]byte, error) {
	tbm, err := encode(&authenticatedContentTBM{
		TBS:  framedContentTBS{WireFormat: WireFormatPublicMessage, Content: &ac.Content, Context: ctx},
		Auth: &ac.Auth,
	})
	if err != nil {
		return nil, err
	}
	return cs.MAC(membershipKey, tbm), nil
}

// protectPublic turns signed content into a PublicMessage (RFC 9420 §6.2),
// adding the membership tag under membershipKey (the current epoch's) for a
// member sender. ac must come from signFramedContent with
// WireFormatPublicMessage and, for a commit, carry its confirmation tag.
// Application data is refused with ErrCannotProtect.
func protectPublic(cs CipherSuite, ac *AuthenticatedContent, ctx *GroupContext, membershipKey []byte) (*PublicMessage, error) {
	if ac.WireFormat != WireFormatPublicMessage {
		return nil, fmt.Errorf("%w: %s content as a public message", ErrCannotProtect, ac.WireFormat)
	}
	if err := checkProtectable(ac.WireFormat, &ac.Content); err != nil {
		return nil, err
	}
	if err := checkConfirmationTag(ac); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCannotProtect, err)
	}
	pm := &PublicMessage{Content: ac.Content, Auth: ac.Auth}
	if ac.Content.Sender.Type == SenderTypeMember {
		tag, err := membershipTag(cs, membershipKey, ac, ctx)
		if err != nil {
			return nil, err
		}
		pm.MembershipTag = tag
	}
	return pm, nil
}

// checkConfirmationTag checks that a confirmation tag is present exactly on
// commits (RFC 9420 §6.1).
func checkConfirmationTag(ac *AuthenticatedContent) error {
	isCommit := ac.Content.ContentType == ContentTypeCommit
	if isCommit != (ac.Auth.ConfirmationTag != nil) {
		return invalid("§6.1", "confirmation tag must be present exactly on commits")
	}
	return nil
}

// unprotectPublic verifies a received PublicMessage against the current
// epoch (RFC 9420 §6.2): group and epoch of ctx, no application data, the
// sender/content rules of §6.1, the membership tag under membershipKey for
// member senders, and the signature with the key keyOf (or, for new-member
// senders, the content) gives. The confirmation tag of a commit is not
// checked here: commit processing does that with the new epoch's key.
func unprotectPublic(cs CipherSuite, pm *PublicMessage, ctx *GroupContext, membershipKey []byte, keyOf signatureKeyFunc) (*AuthenticatedContent, error) {
	c := &pm.Content
	if err := checkGroupEpoch(c.GroupID, c.Epoch, c.ContentType, ctx); err != nil {
		return nil, err
	}
	if c.ContentType == ContentTypeApplication {
		return nil, invalid("§6", "application data in a public message")
	}
	ac := pm.authenticatedContent()
	pub, err := senderSignatureKey(c, keyOf)
	if err != nil {
		return nil, err
	}
	if c.Sender.Type == SenderTypeMember {
		tag, err := membershipTag(cs, membershipKey, ac, ctx)
		if err != nil {
			return nil, err
		}
		if !hmac.Equal(tag, pm.MembershipTag) {
			return nil, invalid("§6.2", "membership tag does not verify")
		}
	}
	if err := verifyFramedContent(cs, ac, ctx, pub); err != nil {
		return nil, err
	}
	return ac, nil
}

// privateProtection holds what PrivateMessage protection needs from the
// epoch: the secret tree (consumed as keys are used), the sender data
// secret and, when sending, the padding rule.
type privateProtection struct {
	Suite            CipherSuite
	Tree             *secretTree
	SenderDataSecret []byte
	// PadTo pads each PrivateMessageContent with zero bytes up to a multiple
	// of PadTo bytes; 0 or 1 means no padding (RFC 9420 §6.3.1).
	PadTo int
}

// protectPrivate encrypts ac into a PrivateMessage (RFC 9420 §6.3): the
// next generation of the sender's handshake (proposal, commit) or
// application ratchet, a fresh reuse guard from rand (nil: crypto/rand)
// XORed into the nonce, padding per p.PadTo, and the sender data encrypted
// under the key and nonce sampled from the ciphertext. ac must come from
// signFramedContent with WireFormatPrivateMessage and a member sender.
func protectPrivate(rand io.Reader, p *privateProtection, ac *AuthenticatedContent) (*PrivateMessage, error) {
	c := &ac.Content
	if ac.WireFormat != WireFormatPrivateMessage {
		return nil, fmt.Errorf("%w: %s content as a private message", ErrCannotProtect, ac.WireFormat)
	}
	if err := checkProtectable(ac.WireFormat, c); err != nil {
		return nil, err
	}
	if err := checkConfirmationTag(ac); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCannotProtect, err)
	}
	sd := senderData{LeafIndex: c.Sender.LeafIndex}
	if rand == nil {
		rand = cryptorand.Reader
	}
	if _, err := io.ReadFull(rand, sd.ReuseGuard[:]); err != nil {
		return nil, fmt.Errorf("mls: read reuse guard: %w", err)
	}
	gen, key, nonce, err := p.Tree.nextKey(uint32(c.Sender.LeafIndex), c.ContentType != ContentTypeApplication)
	if err != nil {
		return nil, fmt.Errorf("mls: next sender key: %w", err)
	}
	sd.Generation = gen
	pm := &PrivateMessage{GroupID: c.GroupID, Epoch: c.Epoch, ContentType: c.ContentType, AuthenticatedData: c.AuthenticatedData}
	if pm.Ciphertext, err = p.sealContent(ac, key, applyReuseGuard(nonce, sd.ReuseGuard)); err != nil {
		return nil, err
	}
	if pm.EncryptedSenderData, err = p.sealSenderData(pm, &sd); err != nil {
		return nil, err
	}
	return pm, nil
}

// applyReuseGuard returns a copy of nonce with its first four bytes XORed
// with guard (RFC 9420 §6.3.1).
func applyReuseGuard(nonce []byte, guard [4]byte) []byte {
	out := append([]byte(nil), nonce...)
	for i := 0; i < len(guard) && i < len(out); i++ {
		out[i] ^= guard[i]
	}
	return out
}

// paddingFor returns how many zero bytes bring n up to a multiple of padTo.
func paddingFor(n, padTo int) int {
	if padTo <= 1 {
		return 0
	}
	return (padTo - n%padTo) % padTo
}

// sealContent encrypts the padded PrivateMessageContent of ac.
func (p *privateProtection) sealContent(ac *AuthenticatedContent, key, nonce []byte) ([]byte, error) {
	pmc := privateMessageContent{Content: &ac.Content, Auth: &ac.Auth}
	pt, err := encode(&pmc)
	if err != nil {
		return nil, err
	}
	if pad := paddingFor(len(pt), p.PadTo); pad > 0 {
		pt = append(pt, make([]byte, pad)...)
	}
	c := &ac.Content
	aad, err := encode(&privateContentAAD{GroupID: c.GroupID, Epoch: c.Epoch, ContentType: c.ContentType, AuthenticatedData: c.AuthenticatedData})
	if err != nil {
		return nil, err
	}
	ct, err := p.Suite.Seal(key, nonce, aad, pt)
	if err != nil {
		return nil, fmt.Errorf("mls: encrypt private message content: %w", err)
	}
	return ct, nil
}

// sealSenderData encrypts sd under the key and nonce derived from
// pm.Ciphertext (RFC 9420 §6.3.2).
func (p *privateProtection) sealSenderData(pm *PrivateMessage, sd *senderData) ([]byte, error) {
	pt, err := encode(sd)
	if err != nil {
		return nil, err
	}
	aad, err := encode(&senderDataAAD{GroupID: pm.GroupID, Epoch: pm.Epoch, ContentType: pm.ContentType})
	if err != nil {
		return nil, err
	}
	key, nonce := senderDataKeyNonce(p.Suite, p.SenderDataSecret, pm.Ciphertext)
	ct, err := p.Suite.Seal(key, nonce, aad, pt)
	if err != nil {
		return nil, fmt.Errorf("mls: encrypt sender data: %w", err)
	}
	return ct, nil
}

// openSenderData decrypts and decodes the sender data of pm (RFC 9420
// §6.3.2).
func (p *privateProtection) openSenderData(pm *PrivateMessage) (*senderData, error) {
	aad, err := encode(&senderDataAAD{GroupID: pm.GroupID, Epoch: pm.Epoch, ContentType: pm.ContentType})
	if err != nil {
		return nil, err
	}
	key, nonce := senderDataKeyNonce(p.Suite, p.SenderDataSecret, pm.Ciphertext)
	pt, err := p.Suite.Open(key, nonce, aad, pm.EncryptedSenderData)
	if err != nil {
		return nil, invalid("§6.3.2", "sender data does not decrypt")
	}
	sd := new(senderData)
	if err := decode(pt, sd); err != nil {
		return nil, fmt.Errorf("mls: decode sender data: %w", err)
	}
	return sd, nil
}

// unprotectPrivate decrypts and verifies a received PrivateMessage against
// the current epoch (RFC 9420 §6.3): group and epoch of ctx, the sender
// data, the sender's leaf (keyOf must fail for a blank or absent leaf), the
// content key of the indicated generation (a replayed or too distant
// generation fails in the secret tree), the all-zero padding, and the
// signature. The returned AuthenticatedContent has WireFormatPrivateMessage
// and the member sender; a commit's confirmation tag is checked later by
// commit processing.
func unprotectPrivate(p *privateProtection, pm *PrivateMessage, ctx *GroupContext, keyOf signatureKeyFunc) (*AuthenticatedContent, error) {
	if err := checkGroupEpoch(pm.GroupID, pm.Epoch, pm.ContentType, ctx); err != nil {
		return nil, err
	}
	sd, err := p.openSenderData(pm)
	if err != nil {
		return nil, err
	}
	sender := Sender{Type: SenderTypeMember, LeafIndex: sd.LeafIndex}
	pub, err := keyOf(sender)
	if err != nil {
		return nil, err
	}
	key, nonce, err := p.Tree.keyAt(uint32(sd.LeafIndex), pm.ContentType != ContentTypeApplication, sd.Generation)
	if err != nil {
		return nil, err
	}
	ac := &AuthenticatedContent{WireFormat: WireFormatPrivateMessage, Content: FramedContent{
		GroupID: pm.GroupID, Epoch: pm.Epoch, Sender: sender,
		AuthenticatedData: pm.AuthenticatedData, ContentType: pm.ContentType,
	}}
	if err := p.openContent(pm, ac, key, applyReuseGuard(nonce, sd.ReuseGuard)); err != nil {
		return nil, err
	}
	if err := verifyFramedContent(p.Suite, ac, ctx, pub); err != nil {
		return nil, err
	}
	return ac, nil
}

// openContent decrypts pm.Ciphertext and decodes the PrivateMessageContent
// into ac (RFC 9420 §6.3.1).
func (p *privateProtection) openContent(pm *PrivateMessage, ac *AuthenticatedContent, key, nonce []byte) error {
	aad, err := encode(&privateContentAAD{GroupID: pm.GroupID, Epoch: pm.Epoch, ContentType: pm.ContentType, AuthenticatedData: pm.AuthenticatedData})
	if err != nil {
		return err
	}
	pt, err := p.Suite.Open(key, nonce, aad, pm.Ciphertext)
	if err != nil {
		return invalid("§6.3.1", "private message content does not decrypt")
	}
	pmc := privateMessageContent{Content: &ac.Content, Auth: &ac.Auth}
	if err := decode(pt, &pmc); err != nil {
		return fmt.Errorf("mls: decode private message content: %w", err)
	}
	return nil
}
