package mls

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
)

// TreeKEM (RFC 9420 §7.4–§7.6): creating, encrypting, merging and
// decrypting UpdatePaths, and the private keys a member holds.

// ErrWrongLeaf is returned when a private tree state is used for a leaf it
// does not belong to, or a member tries to process its own UpdatePath.
var ErrWrongLeaf = errors.New("mls: private tree state belongs to another leaf")

// updatePathLabel is the EncryptWithLabel label of path secrets (§7.6).
const updatePathLabel = "UpdatePathNode"

// nodeKey is an HPKE key pair of one tree node held by a member.
type nodeKey struct {
	pub, priv []byte
}

// treePrivate is the private part of a member's view of the ratchet tree
// (RFC 9420 §4.2): the HPKE private keys of its leaf and of the nodes on
// its direct path that it knows. Path and node secrets are never kept.
// Keys are stored with their public keys, and a key is used only while the
// tree still holds that public key, so entries made stale by tree changes
// are harmless; prune drops them. It is not safe for concurrent use.
type treePrivate struct {
	leaf LeafIndex
	keys map[nodeIndex]nodeKey
}

// newTreePrivate returns the private state of the member at leaf whose
// leaf encryption key pair is (priv, pub).
func newTreePrivate(leaf LeafIndex, priv, pub []byte) *treePrivate {
	return &treePrivate{leaf: leaf, keys: map[nodeIndex]nodeKey{leaf.node(): {pub: pub, priv: priv}}}
}

// clone returns an independent copy, for staging.
func (p *treePrivate) clone() *treePrivate {
	return &treePrivate{leaf: p.leaf, keys: maps.Clone(p.keys)}
}

// privateKey returns the private key for node x of t, or nil if p holds
// none matching the node's current public key.
func (p *treePrivate) privateKey(t *ratchetTree, x nodeIndex) []byte {
	k, ok := p.keys[x]
	if !ok {
		return nil
	}
	pub := t.encryptionKey(x)
	if pub == nil || !bytes.Equal(pub, k.pub) {
		return nil
	}
	return k.priv
}

// prune drops the keys whose node in t is gone, blank or re-keyed.
func (p *treePrivate) prune(t *ratchetTree) {
	width := nodeIndex(nodeWidth(t.leafCount()))
	for x, k := range p.keys {
		if x >= width || !bytes.Equal(t.encryptionKey(x), k.pub) {
			delete(p.keys, x)
		}
	}
}

// treePrivateVersion tags the serialized form of treePrivate.
const treePrivateVersion = 1

// marshal writes p as: uint8 version, uint32 leaf, then a vector of
// {uint32 node; opaque pub<V>; opaque priv<V>} in increasing node order.
// The encoding holds private keys: store it as a secret.
func (p *treePrivate) marshal(w *Writer) {
	w.Uint8(treePrivateVersion)
	w.Uint32(uint32(p.leaf))
	w.Vector(func(w *Writer) {
		for _, x := range slices.Sorted(maps.Keys(p.keys)) {
			w.Uint32(uint32(x))
			w.Opaque(p.keys[x].pub)
			w.Opaque(p.keys[x].priv)
		}
	})
}

func (p *treePrivate) unmarshal(r *Reader) {
	if v := r.Uint8(); v != treePrivateVersion {
		r.Fail("private tree state version %d", v)
		return
	}
	p.leaf = LeafIndex(r.Uint32())
	p.keys = map[nodeIndex]nodeKey{}
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			x := nodeIndex(r.Uint32())
			k := nodeKey{pub: r.Opaque(), priv: r.Opaque()}
			if _, dup := p.keys[x]; dup {
				r.Fail("private tree state lists node %d twice", x)
			}
			p.keys[x] = k
		}
	})
}

// deriveNodeKey derives the key pair of a node from its path secret:
// DeriveKeyPair(DeriveSecret(path_secret, "node")) (RFC 9420 §7.4).
func deriveNodeKey(cs CipherSuite, pathSecret []byte) (nodeKey, error) {
	priv, pub, err := cs.DeriveHPKEKeyPair(cs.DeriveSecret(pathSecret, "node"))
	if err != nil {
		return nodeKey{}, fmt.Errorf("mls: derive node key pair: %w", err)
	}
	return nodeKey{pub: pub, priv: priv}, nil
}

// setPathSecret installs the keys derived from pathSecret for node x of t
// and, deriving the next path secret at each step, for every non-blank
// ancestor of x (the rest of the committer's filtered direct path). Each
// derived public key must equal the node's. A joiner calls it with the
// path_secret of its Welcome and x = commonAncestor of its leaf and the
// committer's (RFC 9420 §12.4.3.1); it returns the secret one step past
// the root, the commit_secret. p is unchanged on error.
func (p *treePrivate) setPathSecret(t *ratchetTree, x nodeIndex, pathSecret []byte) ([]byte, error) {
	cs := t.cs
	if uint32(x) >= nodeWidth(t.leafCount()) || t.blank(x) {
		return nil, invalid("§12.4.3.1", "path secret given for blank node %d", x)
	}
	fresh := map[nodeIndex]nodeKey{}
	ps := pathSecret
	for {
		if !t.blank(x) {
			k, err := deriveNodeKey(cs, ps)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(k.pub, t.encryptionKey(x)) {
				return nil, invalid("§12.4.2", "public key derived for node %d does not match the tree", x)
			}
			fresh[x] = k
			ps = cs.DeriveSecret(ps, "path")
		}
		if x == t.root() {
			break
		}
		x = x.parent()
	}
	maps.Copy(p.keys, fresh)
	return ps, nil
}

// setJoinPathSecret is setPathSecret for a joiner at p.leaf whose Welcome
// carried pathSecret from the committer at leaf committer.
func (p *treePrivate) setJoinPathSecret(t *ratchetTree, committer LeafIndex, pathSecret []byte) error {
	_, err := p.setPathSecret(t, commonAncestor(p.leaf.node(), committer.node()), pathSecret)
	return err
}

// groupContextFunc returns the serialized provisional GroupContext for
// the given tree hash of the tree with the UpdatePath merged (RFC 9420
// §12.4.1): the path secrets are encrypted under it.
type groupContextFunc func(treeHash []byte) ([]byte, error)

// pathSecrets are the secrets of an UpdatePath its creator keeps until the
// Welcome is built: one path secret per node of the filtered direct path.
type pathSecrets struct {
	nodes        []nodeIndex
	secrets      [][]byte
	commitSecret []byte
}

// forJoiner returns the path secret the committer at leaf from sends to the
// new member at leaf to in its Welcome (RFC 9420 §12.4.3.1): the one of
// their lowest common ancestor; nil if that node is not on the path.
func (s *pathSecrets) forJoiner(from, to LeafIndex) []byte {
	a := commonAncestor(from.node(), to.node())
	if i := slices.Index(s.nodes, a); i >= 0 {
		return s.secrets[i]
	}
	return nil
}

// createUpdatePath refreshes the direct path of the member owning priv
// (RFC 9420 §7.4–§7.6) in t, which must already hold the commit's
// proposals, and returns the UpdatePath to send and the path secrets.
//
// The new leaf copies template (or the current leaf when template is nil),
// with a fresh encryption key, source commit and the new parent hash, and
// is signed with signaturePriv over groupID and the leaf index. Path
// secrets are encrypted to the copath resolutions without the leaves in
// exclude (the members added by this commit), with the GroupContext that
// groupContext returns for the new tree hash. rnd nil means crypto/rand.
//
// t and priv are modified in place, also on error: callers work on clones
// and keep them only if the commit is accepted.
func (t *ratchetTree) createUpdatePath(rnd io.Reader, priv *treePrivate, template *LeafNode, signaturePriv, groupID []byte,
	exclude []LeafIndex, groupContext groupContextFunc) (*UpdatePath, *pathSecrets, error) {
	signer, err := t.cs.parseSigningKey(signaturePriv)
	if err != nil {
		return nil, nil, err
	}
	return t.createUpdatePathWith(rnd, priv, template, signer, groupID, exclude, groupContext)
}

// createUpdatePathWith is createUpdatePath with the parsed key signer.
func (t *ratchetTree) createUpdatePathWith(rnd io.Reader, priv *treePrivate, template *LeafNode, signer *signingKey, groupID []byte,
	exclude []LeafIndex, groupContext groupContextFunc) (*UpdatePath, *pathSecrets, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	from := priv.leaf
	if template == nil {
		template = t.leaf(from)
	}
	if template == nil {
		return nil, nil, fmt.Errorf("%w: update path from leaf %d", ErrBlankLeaf, from)
	}
	fdp := t.filteredDirectPath(from)
	leafKey, secrets, err := t.newPathKeys(rnd, fdp)
	if err != nil {
		return nil, nil, err
	}
	t.blankDirectPath(from)
	path := &UpdatePath{Nodes: make([]UpdatePathNode, len(fdp))}
	for i, st := range fdp {
		path.Nodes[i].EncryptionKey = secrets.keys[i].pub
		t.setParent(st.node, &ParentNode{EncryptionKey: secrets.keys[i].pub})
	}
	ln, err := t.signPathLeafWith(rnd, template, leafKey.pub, fdp, signer, groupID, from)
	if err != nil {
		return nil, nil, err
	}
	path.LeafNode = *ln
	if err := t.encryptPathSecrets(rnd, path, fdp, secrets.ps.secrets, exclude, groupContext); err != nil {
		return nil, nil, err
	}
	for _, x := range directPath(from.node(), t.leafCount()) {
		delete(priv.keys, x)
	}
	priv.keys[from.node()] = leafKey
	for i, st := range fdp {
		priv.keys[st.node] = secrets.keys[i]
	}
	return path, &secrets.ps, nil
}

// newPath holds freshly derived path secrets and node keys.
type newPath struct {
	ps   pathSecrets
	keys []nodeKey
}

// newPathKeys samples a leaf secret and derives the leaf key pair, the path
// secrets for fdp with their node key pairs, and the commit secret:
// leaf_secret -> path_secret[0] -> ... -> path_secret[n-1] -> commit_secret,
// each step DeriveSecret(., "path") (RFC 9420 §7.4, §12.4.1).
func (t *ratchetTree) newPathKeys(rnd io.Reader, fdp []pathStep) (nodeKey, *newPath, error) {
	cs := t.cs
	leafSecret := make([]byte, cs.Nh())
	if _, err := io.ReadFull(rnd, leafSecret); err != nil {
		return nodeKey{}, nil, fmt.Errorf("mls: read random leaf secret: %w", err)
	}
	leafKey, err := deriveNodeKey(cs, leafSecret)
	if err != nil {
		return nodeKey{}, nil, err
	}
	np := &newPath{}
	ps := leafSecret
	for _, st := range fdp {
		ps = cs.DeriveSecret(ps, "path")
		k, err := deriveNodeKey(cs, ps)
		if err != nil {
			return nodeKey{}, nil, err
		}
		np.ps.nodes = append(np.ps.nodes, st.node)
		np.ps.secrets = append(np.ps.secrets, ps)
		np.keys = append(np.keys, k)
	}
	np.ps.commitSecret = cs.DeriveSecret(ps, "path")
	return leafKey, np, nil
}

// signPathLeaf computes the parent hashes of the freshly keyed path fdp,
// builds the committer's new leaf from template and installs it.
func (t *ratchetTree) signPathLeaf(rnd io.Reader, template *LeafNode, encKey []byte, fdp []pathStep,
	signaturePriv, groupID []byte, from LeafIndex) (*LeafNode, error) {
	signer, err := t.cs.parseSigningKey(signaturePriv)
	if err != nil {
		return nil, err
	}
	return t.signPathLeafWith(rnd, template, encKey, fdp, signer, groupID, from)
}

// signPathLeafWith is signPathLeaf with the parsed key signer.
func (t *ratchetTree) signPathLeafWith(rnd io.Reader, template *LeafNode, encKey []byte, fdp []pathStep,
	signer *signingKey, groupID []byte, from LeafIndex) (*LeafNode, error) {
	ph, err := t.setPathParentHashes(fdp)
	if err != nil {
		return nil, err
	}
	ln := *template
	ln.EncryptionKey = encKey
	ln.Source = LeafNodeSourceCommit
	ln.Lifetime = nil
	ln.ParentHash = ph
	if err := ln.signWith(rnd, signer, groupID, uint32(from)); err != nil {
		return nil, err
	}
	t.setLeaf(from, &ln)
	return &ln, nil
}

// copathResolution returns the resolution of node x without the leaves in
// exclude (RFC 9420 §7.6).
func (t *ratchetTree) copathResolution(x nodeIndex, exclude []LeafIndex) []nodeIndex {
	res := t.resolution(nil, x)
	if len(exclude) == 0 {
		return res
	}
	return slices.DeleteFunc(res, func(y nodeIndex) bool {
		return y.isLeaf() && slices.Contains(exclude, y.leaf())
	})
}

// encryptPathSecrets fills the ciphertexts of path: each path secret
// encrypted to every node of its copath child's resolution, under the
// provisional GroupContext of the merged tree (RFC 9420 §7.6).
func (t *ratchetTree) encryptPathSecrets(rnd io.Reader, path *UpdatePath, fdp []pathStep, secrets [][]byte,
	exclude []LeafIndex, groupContext groupContextFunc) error {
	th, err := t.treeHash()
	if err != nil {
		return fmt.Errorf("mls: tree hash: %w", err)
	}
	ctx, err := groupContext(th)
	if err != nil {
		return fmt.Errorf("mls: provisional group context: %w", err)
	}
	for i, st := range fdp {
		res := t.copathResolution(st.copathChild, exclude)
		cts := make([]HPKECiphertext, len(res))
		for j, y := range res {
			kem, ct, err := t.cs.EncryptWithLabel(rnd, t.encryptionKey(y), updatePathLabel, ctx, secrets[i])
			if err != nil {
				return fmt.Errorf("mls: encrypt path secret: %w", err)
			}
			cts[j] = HPKECiphertext{KEMOutput: kem, Ciphertext: ct}
		}
		path.Nodes[i].EncryptedPathSecret = cts
	}
	return nil
}

// processUpdatePath merges the UpdatePath that the member at leaf from
// sent in a commit into t and decrypts it with priv (RFC 9420 §7.5,
// §12.4.2), returning the commit_secret. t must already hold the commit's
// proposals; exclude lists the leaves they added, and groupContext gives
// the provisional GroupContext for the merged tree hash.
//
// It checks the path length against the sender's filtered direct path, the
// leaf's source and signature (the caller still applies the other leaf
// rules of §7.3), the leaf's parent hash, the ciphertext counts, and that
// the derived public keys match the path. Any failure of the remote input
// is a *ValidationError. t and priv are modified in place, also on error:
// callers work on clones.
func (t *ratchetTree) processUpdatePath(priv *treePrivate, from LeafIndex, path *UpdatePath, groupID []byte,
	exclude []LeafIndex, groupContext groupContextFunc) ([]byte, error) {
	_, commitSecret, err := t.processUpdatePathSecret(priv, from, path, groupID, exclude, groupContext)
	return commitSecret, err
}

// processUpdatePathSecret is processUpdatePath that also returns the path
// secret decrypted at the lowest common ancestor.
func (t *ratchetTree) processUpdatePathSecret(priv *treePrivate, from LeafIndex, path *UpdatePath, groupID []byte,
	exclude []LeafIndex, groupContext groupContextFunc) (pathSecret, commitSecret []byte, err error) {
	if from == priv.leaf || slices.Contains(exclude, priv.leaf) {
		return nil, nil, fmt.Errorf("%w: leaf %d processing a path from leaf %d", ErrWrongLeaf, priv.leaf, from)
	}
	fdp, err := t.checkUpdatePath(from, path, groupID, exclude)
	if err != nil {
		return nil, nil, err
	}
	i, ct, key, err := t.findPathCiphertext(priv, fdp, path, exclude)
	if err != nil {
		return nil, nil, err
	}
	if err := t.mergeUpdatePath(from, path, fdp); err != nil {
		return nil, nil, err
	}
	th, err := t.treeHash()
	if err != nil {
		return nil, nil, fmt.Errorf("mls: tree hash: %w", err)
	}
	ctx, err := groupContext(th)
	if err != nil {
		return nil, nil, fmt.Errorf("mls: provisional group context: %w", err)
	}
	ps, err := t.cs.DecryptWithLabel(key, updatePathLabel, ctx, ct.KEMOutput, ct.Ciphertext)
	if err != nil {
		return nil, nil, invalid("§12.4.2", "path secret for node %d does not decrypt", fdp[i].node)
	}
	for _, x := range directPath(from.node(), t.leafCount()) {
		delete(priv.keys, x)
	}
	commitSecret, err = priv.setPathSecret(t, fdp[i].node, ps)
	if err != nil {
		return nil, nil, err
	}
	return ps, commitSecret, nil
}

// checkUpdatePath checks the shape of path against the sender's filtered
// direct path and its leaf's source and signature, before merging.
func (t *ratchetTree) checkUpdatePath(from LeafIndex, path *UpdatePath, groupID []byte, exclude []LeafIndex) ([]pathStep, error) {
	if uint64(from) >= uint64(t.leafCount()) {
		return nil, invalid("§12.4.2", "update path sender %d is outside the tree", from)
	}
	fdp := t.filteredDirectPath(from)
	if len(path.Nodes) != len(fdp) {
		return nil, invalid("§12.4.2", "update path has %d nodes, the filtered direct path %d", len(path.Nodes), len(fdp))
	}
	for i, st := range fdp {
		n := len(t.copathResolution(st.copathChild, exclude))
		if len(path.Nodes[i].EncryptedPathSecret) != n {
			return nil, invalid("§7.6", "update path node %d has %d ciphertexts for a resolution of %d",
				i, len(path.Nodes[i].EncryptedPathSecret), n)
		}
	}
	ln := &path.LeafNode
	if ln.Source != LeafNodeSourceCommit {
		return nil, invalid("§7.3", "update path leaf source is %v, want commit", ln.Source)
	}
	if !ln.verifySignature(t.cs, groupID, uint32(from)) {
		return nil, invalid("§7.3", "update path leaf signature does not verify")
	}
	return fdp, nil
}

// findPathCiphertext finds the node of the sender's filtered direct path
// whose copath child is above priv's leaf, and in that child's resolution a
// node priv holds a key for; it returns the step, the ciphertext for that
// node and the private key. It runs before the merge, which does not touch
// copath subtrees.
func (t *ratchetTree) findPathCiphertext(priv *treePrivate, fdp []pathStep, path *UpdatePath,
	exclude []LeafIndex) (int, *HPKECiphertext, []byte, error) {
	me := priv.leaf.node()
	for i, st := range fdp {
		if !me.isAncestor(st.copathChild) {
			continue
		}
		for j, y := range t.copathResolution(st.copathChild, exclude) {
			if key := priv.privateKey(t, y); key != nil {
				return i, &path.Nodes[i].EncryptedPathSecret[j], key, nil
			}
		}
		return 0, nil, nil, fmt.Errorf("%w: no private key for the resolution of node %d", ErrInternal, st.copathChild)
	}
	return 0, nil, nil, fmt.Errorf("%w: leaf %d is not below the update path", ErrWrongLeaf, priv.leaf)
}

// mergeUpdatePath blanks the sender's direct path, installs the path's
// public keys with fresh parent hashes and the sender's new leaf, after
// checking the leaf's parent hash (RFC 9420 §7.5, §7.9.2).
func (t *ratchetTree) mergeUpdatePath(from LeafIndex, path *UpdatePath, fdp []pathStep) error {
	t.blankDirectPath(from)
	for i, st := range fdp {
		t.setParent(st.node, &ParentNode{EncryptionKey: path.Nodes[i].EncryptionKey})
	}
	ph, err := t.setPathParentHashes(fdp)
	if err != nil {
		return err
	}
	if !bytes.Equal(ph, path.LeafNode.ParentHash) {
		return invalid("§7.9.2", "update path leaf has the wrong parent hash")
	}
	ln := path.LeafNode
	t.setLeaf(from, &ln)
	return nil
}
