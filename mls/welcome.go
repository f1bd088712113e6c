package mls

import (
	"bytes"
	"fmt"
	"io"
)

// Labels of the Welcome building blocks (RFC 9420 §12.4.3), without the
// "MLS 1.0 " prefix that the labelled functions add.
const (
	groupInfoTBSLabel = "GroupInfoTBS"
	welcomeHPKELabel  = "Welcome"
)

// PathSecret carries the path secret of the lowest common ancestor of the
// committer and a new member (RFC 9420 §12.4.3.1).
type PathSecret struct {
	PathSecret []byte
}

// GroupSecrets is what a Welcome encrypts to each new member (RFC 9420
// §12.4.3.1). PathSecret nil means the optional path secret is absent.
type GroupSecrets struct {
	JoinerSecret []byte
	PathSecret   *PathSecret
	PSKs         []PreSharedKeyID
}

func (g *GroupSecrets) marshal(w *Writer) {
	w.Opaque(g.JoinerSecret)
	w.Optional(g.PathSecret != nil, func(w *Writer) { w.Opaque(g.PathSecret.PathSecret) })
	w.Vector(func(w *Writer) {
		for i := range g.PSKs {
			g.PSKs[i].marshal(w)
		}
	})
}

func (g *GroupSecrets) unmarshal(r *Reader) {
	g.JoinerSecret = r.Opaque()
	g.PathSecret = nil
	if r.Optional() {
		g.PathSecret = &PathSecret{PathSecret: r.Opaque()}
	}
	g.PSKs = []PreSharedKeyID{}
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			var id PreSharedKeyID
			id.unmarshal(r)
			g.PSKs = append(g.PSKs, id)
		}
	})
}

// EncryptedGroupSecrets is the GroupSecrets of one new member, HPKE-encrypted
// to the init key of the KeyPackage whose reference is NewMember (RFC 9420
// §12.4.3.1).
type EncryptedGroupSecrets struct {
	NewMember             KeyPackageRef
	EncryptedGroupSecrets HPKECiphertext
}

func (e *EncryptedGroupSecrets) marshal(w *Writer) {
	w.Opaque(e.NewMember)
	e.EncryptedGroupSecrets.marshal(w)
}

func (e *EncryptedGroupSecrets) unmarshal(r *Reader) {
	e.NewMember = KeyPackageRef(r.Opaque())
	e.EncryptedGroupSecrets.unmarshal(r)
}

// Welcome lets new members join the epoch a Commit creates (RFC 9420
// §12.4.3.1): one EncryptedGroupSecrets per new member and the GroupInfo
// encrypted under the epoch's welcome key.
type Welcome struct {
	CipherSuite        CipherSuite
	Secrets            []EncryptedGroupSecrets
	EncryptedGroupInfo []byte
}

func (m *Welcome) marshal(w *Writer) {
	w.Uint16(uint16(m.CipherSuite))
	w.Vector(func(w *Writer) {
		for i := range m.Secrets {
			m.Secrets[i].marshal(w)
		}
	})
	w.Opaque(m.EncryptedGroupInfo)
}

func (m *Welcome) unmarshal(r *Reader) {
	m.CipherSuite = CipherSuite(r.Uint16())
	m.Secrets = []EncryptedGroupSecrets{}
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			var e EncryptedGroupSecrets
			e.unmarshal(r)
			m.Secrets = append(m.Secrets, e)
		}
	})
	m.EncryptedGroupInfo = r.Opaque()
}

// findSecrets returns the entry of m addressed to the KeyPackage with
// reference ref, or nil when there is none.
func (m *Welcome) findSecrets(ref KeyPackageRef) *EncryptedGroupSecrets {
	for i := range m.Secrets {
		if bytes.Equal(m.Secrets[i].NewMember, ref) {
			return &m.Secrets[i]
		}
	}
	return nil
}

// GroupInfo describes a group's current epoch to joiners (RFC 9420 §12.4.3),
// signed by the member at leaf Signer. A decoded GroupInfo is unverified
// until verify accepts it with that member's signature key.
type GroupInfo struct {
	GroupContext    GroupContext
	Extensions      []Extension
	ConfirmationTag []byte
	Signer          LeafIndex
	Signature       []byte
}

// marshalTBS writes GroupInfoTBS: every field but the signature.
func (g *GroupInfo) marshalTBS(w *Writer) {
	g.GroupContext.marshal(w)
	marshalExtensions(w, g.Extensions)
	w.Opaque(g.ConfirmationTag)
	w.Uint32(uint32(g.Signer))
}

func (g *GroupInfo) marshal(w *Writer) {
	g.marshalTBS(w)
	w.Opaque(g.Signature)
}

func (g *GroupInfo) unmarshal(r *Reader) {
	g.GroupContext.unmarshal(r)
	g.Extensions = unmarshalExtensions(r)
	g.ConfirmationTag = r.Opaque()
	g.Signer = LeafIndex(r.Uint32())
	g.Signature = r.Opaque()
}

func (g *GroupInfo) tbs() ([]byte, error) {
	var w Writer
	g.marshalTBS(&w)
	return w.Bytes(), w.Err()
}

// sign sets g.Signature to SignWithLabel(priv, "GroupInfoTBS", GroupInfoTBS)
// under the suite of g's group context (RFC 9420 §12.4.3).
func (g *GroupInfo) sign(rand io.Reader, priv []byte) error {
	k, err := g.GroupContext.CipherSuite.parseSigningKey(priv)
	if err != nil {
		return fmt.Errorf("mls: sign group info: %w", err)
	}
	return g.signWith(rand, k)
}

// signWith is sign with the parsed key k (of the GroupInfo's suite).
func (g *GroupInfo) signWith(rand io.Reader, k *signingKey) error {
	tbs, err := g.tbs()
	if err != nil {
		return err
	}
	sig, err := k.signWithLabel(rand, groupInfoTBSLabel, tbs)
	if err != nil {
		return fmt.Errorf("mls: sign group info: %w", err)
	}
	g.Signature = sig
	return nil
}

// verify checks g.Signature with pub, the signature key of leaf g.Signer
// (RFC 9420 §12.4.3). The suite must be supported (callers check it first).
func (g *GroupInfo) verify(pub []byte) error {
	tbs, err := g.tbs()
	if err != nil {
		return err
	}
	if !g.GroupContext.CipherSuite.VerifyWithLabel(pub, groupInfoTBSLabel, tbs, g.Signature) {
		return invalid("§12.4.3", "group info signature does not verify with the key of leaf %d", g.Signer)
	}
	return nil
}

// encryptGroupInfo encodes gi and encrypts it under the welcome key and
// nonce of welcomeSecret with empty AAD, giving Welcome.encrypted_group_info
// (RFC 9420 §12.4.3.1).
func encryptGroupInfo(cs CipherSuite, welcomeSecret []byte, gi *GroupInfo) ([]byte, error) {
	pt, err := encode(gi)
	if err != nil {
		return nil, err
	}
	key, nonce := welcomeKeyNonce(cs, welcomeSecret)
	ct, err := cs.Seal(key, nonce, nil, pt)
	if err != nil {
		return nil, fmt.Errorf("mls: encrypt group info: %w", err)
	}
	return ct, nil
}

// decryptGroupInfo reverses encryptGroupInfo. The GroupInfo it returns is
// not yet verified.
func decryptGroupInfo(cs CipherSuite, welcomeSecret, encrypted []byte) (*GroupInfo, error) {
	key, nonce := welcomeKeyNonce(cs, welcomeSecret)
	pt, err := cs.Open(key, nonce, nil, encrypted)
	if err != nil {
		return nil, invalid("§12.4.3.1", "encrypted group info does not decrypt with the welcome key")
	}
	gi := new(GroupInfo)
	if err := decode(pt, gi); err != nil {
		return nil, fmt.Errorf("mls: decode group info: %w", err)
	}
	return gi, nil
}

// sealGroupSecrets encrypts gs to initKey, the init key of the KeyPackage
// with reference newMember: EncryptWithLabel(init_key, "Welcome",
// encrypted_group_info, group_secrets) (RFC 9420 §12.4.3.1).
func sealGroupSecrets(rand io.Reader, cs CipherSuite, newMember KeyPackageRef, initKey, encryptedGroupInfo []byte, gs *GroupSecrets) (EncryptedGroupSecrets, error) {
	pt, err := encode(gs)
	if err != nil {
		return EncryptedGroupSecrets{}, err
	}
	kemOutput, ct, err := cs.EncryptWithLabel(rand, initKey, welcomeHPKELabel, encryptedGroupInfo, pt)
	if err != nil {
		return EncryptedGroupSecrets{}, fmt.Errorf("mls: encrypt group secrets: %w", err)
	}
	return EncryptedGroupSecrets{
		NewMember:             newMember,
		EncryptedGroupSecrets: HPKECiphertext{KEMOutput: kemOutput, Ciphertext: ct},
	}, nil
}

// openGroupSecrets finds the entry of w addressed to ref, decrypts it with
// initPriv (the private key of that KeyPackage's init key) and decodes the
// GroupSecrets (RFC 9420 §12.4.3.1). It does not check w.CipherSuite against
// the KeyPackage; the caller does.
func openGroupSecrets(w *Welcome, ref KeyPackageRef, initPriv []byte) (*GroupSecrets, error) {
	egs := w.findSecrets(ref)
	if egs == nil {
		return nil, invalid("§12.4.3.1", "welcome has no entry for our key package")
	}
	c := &egs.EncryptedGroupSecrets
	pt, err := w.CipherSuite.DecryptWithLabel(initPriv, welcomeHPKELabel, w.EncryptedGroupInfo, c.KEMOutput, c.Ciphertext)
	if err != nil {
		return nil, invalid("§12.4.3.1", "group secrets do not decrypt with our init key")
	}
	gs := new(GroupSecrets)
	if err := decode(pt, gs); err != nil {
		return nil, fmt.Errorf("mls: decode group secrets: %w", err)
	}
	return gs, nil
}
