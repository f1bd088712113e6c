package mls

import (
	"bytes"
	"errors"
	"testing"
)

func init() { vectorRunners["treekem.json"] = runTreeKEMVectors }

type treeKEMVector struct {
	CipherSuite             uint16   `json:"cipher_suite"`
	GroupID                 hexBytes `json:"group_id"`
	Epoch                   uint64   `json:"epoch"`
	ConfirmedTranscriptHash hexBytes `json:"confirmed_transcript_hash"`
	RatchetTree             hexBytes `json:"ratchet_tree"`
	LeavesPrivate           []struct {
		Index          uint32   `json:"index"`
		EncryptionPriv hexBytes `json:"encryption_priv"`
		SignaturePriv  hexBytes `json:"signature_priv"`
		PathSecrets    []struct {
			Node       uint32   `json:"node"`
			PathSecret hexBytes `json:"path_secret"`
		} `json:"path_secrets"`
	} `json:"leaves_private"`
	UpdatePaths []struct {
		Sender        uint32     `json:"sender"`
		UpdatePath    hexBytes   `json:"update_path"`
		PathSecrets   []hexBytes `json:"path_secrets"`
		CommitSecret  hexBytes   `json:"commit_secret"`
		TreeHashAfter hexBytes   `json:"tree_hash_after"`
	} `json:"update_paths"`
}

func runTreeKEMVectors(t *testing.T, path string) {
	for i, v := range loadVectors[treeKEMVector](t, path) {
		t.Run(suiteName(v.CipherSuite, i), func(t *testing.T) { checkTreeKEM(t, &v) })
	}
}

// groupContextFor returns the vector's provisional GroupContext builder.
func (v *treeKEMVector) groupContextFor() groupContextFunc {
	return func(treeHash []byte) ([]byte, error) {
		return encode(&GroupContext{Version: ProtocolVersionMLS10, CipherSuite: CipherSuite(v.CipherSuite),
			GroupID: v.GroupID, Epoch: v.Epoch, TreeHash: treeHash,
			ConfirmedTranscriptHash: v.ConfirmedTranscriptHash, Extensions: []Extension{}})
	}
}

// privates builds each member's private state from the vector.
func (v *treeKEMVector) privates(t *testing.T, tree *ratchetTree) map[LeafIndex]*treePrivate {
	out := map[LeafIndex]*treePrivate{}
	for _, lp := range v.LeavesPrivate {
		l := LeafIndex(lp.Index)
		p := newTreePrivate(l, lp.EncryptionPriv, tree.leaf(l).EncryptionKey)
		for _, ps := range lp.PathSecrets {
			k, err := deriveNodeKey(tree.cs, ps.PathSecret)
			if err != nil {
				t.Fatalf("derive node key: %v", err)
			}
			if !bytes.Equal(k.pub, tree.encryptionKey(nodeIndex(ps.Node))) {
				t.Fatalf("leaf %d: path secret of node %d gives the wrong key", l, ps.Node)
			}
			p.keys[nodeIndex(ps.Node)] = k
		}
		out[l] = p
	}
	return out
}

func checkTreeKEM(t *testing.T, v *treeKEMVector) {
	cs := CipherSuite(v.CipherSuite)
	tree, err := decodeRatchetTree(cs, v.RatchetTree)
	if err != nil {
		t.Fatalf("decodeRatchetTree: %v", err)
	}
	privs := v.privates(t, tree)
	for k, up := range v.UpdatePaths {
		var path UpdatePath
		if err := decode(up.UpdatePath, &path); err != nil {
			t.Fatalf("path %d: decode: %v", k, err)
		}
		from := LeafIndex(up.Sender)
		for l, priv := range privs {
			if l == from {
				continue
			}
			tr, p := tree.clone(), priv.clone()
			ps, commit, err := tr.processUpdatePathSecret(p, from, &path, v.GroupID, nil, v.groupContextFor())
			if err != nil {
				t.Fatalf("path %d, member %d: process: %v", k, l, err)
			}
			if !bytes.Equal(ps, up.PathSecrets[l]) || !bytes.Equal(commit, up.CommitSecret) {
				t.Errorf("path %d, member %d: path secret %x, commit secret %x; want %x, %x", k, l, ps, commit, up.PathSecrets[l], up.CommitSecret)
			}
			if h, _ := tr.treeHash(); !bytes.Equal(h, up.TreeHashAfter) {
				t.Errorf("path %d, member %d: tree hash after %x, want %x", k, l, h, up.TreeHashAfter)
			}
			if err := tr.verifyParentHashes(); err != nil {
				t.Errorf("path %d, member %d: parent hashes after merge: %v", k, l, err)
			}
		}
		checkOwnUpdatePath(t, v, tree, privs, from)
	}
}

// checkOwnUpdatePath creates a fresh UpdatePath from sender and checks
// that every other member processes it to the creator's commit secret and
// tree hash.
func checkOwnUpdatePath(t *testing.T, v *treeKEMVector, tree *ratchetTree, privs map[LeafIndex]*treePrivate, from LeafIndex) {
	var sigPriv []byte
	for _, lp := range v.LeavesPrivate {
		if LeafIndex(lp.Index) == from {
			sigPriv = lp.SignaturePriv
		}
	}
	mine, myPriv := tree.clone(), privs[from].clone()
	path, secrets, err := mine.createUpdatePath(nil, myPriv, nil, sigPriv, v.GroupID, nil, v.groupContextFor())
	if err != nil {
		t.Fatalf("create from %d: %v", from, err)
	}
	wantHash, _ := mine.treeHash()
	if err := mine.verifyParentHashes(); err != nil {
		t.Errorf("own path from %d: parent hashes: %v", from, err)
	}
	enc, err := encode(path)
	if err != nil {
		t.Fatal(err)
	}
	var wire UpdatePath
	if err := decode(enc, &wire); err != nil {
		t.Fatal(err)
	}
	for l, priv := range privs {
		if l == from {
			continue
		}
		tr, p := tree.clone(), priv.clone()
		ps, commit, err := tr.processUpdatePathSecret(p, from, &wire, v.GroupID, nil, v.groupContextFor())
		if err != nil {
			t.Fatalf("own path from %d, member %d: %v", from, l, err)
		}
		if !bytes.Equal(commit, secrets.commitSecret) || !bytes.Equal(ps, secrets.forJoiner(from, l)) {
			t.Errorf("own path from %d, member %d: secrets differ", from, l)
		}
		if h, _ := tr.treeHash(); !bytes.Equal(h, wantHash) {
			t.Errorf("own path from %d, member %d: tree hash differs", from, l)
		}
	}
}

// TestTreeKEMRejects checks that processing refuses a tampered UpdatePath.
func TestTreeKEMRejects(t *testing.T) {
	v := firstTreeKEMVector(t)
	cs := CipherSuite(v.CipherSuite)
	tree, err := decodeRatchetTree(cs, v.RatchetTree)
	if err != nil {
		t.Fatal(err)
	}
	privs := v.privates(t, tree)
	up := v.UpdatePaths[0]
	from := LeafIndex(up.Sender)
	var me LeafIndex
	for l := range privs {
		if l != from {
			me = l
		}
	}
	tamper := map[string]func(p *UpdatePath){
		"short path":     func(p *UpdatePath) { p.Nodes = p.Nodes[:len(p.Nodes)-1] },
		"leaf signature": func(p *UpdatePath) { p.LeafNode.Signature[0] ^= 1 },
		"parent hash":    func(p *UpdatePath) { p.LeafNode.ParentHash[0] ^= 1 },
		"node key":       func(p *UpdatePath) { p.Nodes[len(p.Nodes)-1].EncryptionKey[1] ^= 1 },
		"ciphertext": func(p *UpdatePath) {
			for i := range p.Nodes {
				for j := range p.Nodes[i].EncryptedPathSecret {
					p.Nodes[i].EncryptedPathSecret[j].Ciphertext[0] ^= 1
				}
			}
		},
		"missing ciphertext": func(p *UpdatePath) { p.Nodes[0].EncryptedPathSecret = nil },
	}
	for name, f := range tamper {
		var path UpdatePath
		if err := decode(up.UpdatePath, &path); err != nil {
			t.Fatal(err)
		}
		f(&path)
		_, err := tree.clone().processUpdatePath(privs[me].clone(), from, &path, v.GroupID, nil, v.groupContextFor())
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: err = %v, want a ValidationError", name, err)
		}
	}
}

func firstTreeKEMVector(t *testing.T) *treeKEMVector {
	vs := loadVectors[treeKEMVector](t, vectorDir()+"/treekem.json")
	for i := range vs {
		if len(vs[i].LeavesPrivate) >= 3 && len(vs[i].UpdatePaths) > 0 {
			return &vs[i]
		}
	}
	t.Fatal("no treekem vector with 3 members")
	return nil
}

// TestTreePrivateRoundTrip checks the serialized private state.
func TestTreePrivateRoundTrip(t *testing.T) {
	p := newTreePrivate(3, []byte{1, 2}, []byte{3})
	p.keys[7] = nodeKey{pub: []byte{4}, priv: []byte{5, 6}}
	enc, err := encode(p)
	if err != nil {
		t.Fatal(err)
	}
	var q treePrivate
	if err := decode(enc, &q); err != nil {
		t.Fatal(err)
	}
	enc2, _ := encode(&q)
	if q.leaf != 3 || len(q.keys) != 2 || !bytes.Equal(enc, enc2) {
		t.Errorf("round trip: %+v", q)
	}
	if err := decode(append([]byte{9}, enc[1:]...), &q); err == nil {
		t.Error("unknown version accepted")
	}
}

// TestTreeKEMExcludeAndJoin adds a member, commits with a path that
// excludes it, and checks that the old members process the path, that the
// new member is sent nothing in the path and derives the same commit
// secret from its Welcome path secret.
func TestTreeKEMExcludeAndJoin(t *testing.T) {
	v := firstTreeKEMVector(t)
	cs := CipherSuite(v.CipherSuite)
	tree, err := decodeRatchetTree(cs, v.RatchetTree)
	if err != nil {
		t.Fatal(err)
	}
	privs := v.privates(t, tree)
	encPriv, encPub, err := cs.GenerateHPKEKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	newcomer := &LeafNode{EncryptionKey: encPub, SignatureKey: []byte("newcomer"), Source: LeafNodeSourceKeyPackage,
		Credential: Credential{Type: CredentialTypeBasic, Identity: []byte("n")}, Lifetime: &Lifetime{}}
	added := tree.addLeaf(newcomer)
	exclude := []LeafIndex{added}
	from := LeafIndex(v.UpdatePaths[0].Sender)
	var sigPriv []byte
	for _, lp := range v.LeavesPrivate {
		if LeafIndex(lp.Index) == from {
			sigPriv = lp.SignaturePriv
		}
	}
	mine := tree.clone()
	path, secrets, err := mine.createUpdatePath(nil, privs[from].clone(), nil, sigPriv, v.GroupID, exclude, v.groupContextFor())
	if err != nil {
		t.Fatal(err)
	}
	excluded := 0
	for i, st := range mine.filteredDirectPath(from) {
		n := len(tree.copathResolution(st.copathChild, exclude))
		if n != len(path.Nodes[i].EncryptedPathSecret) {
			t.Errorf("node %d: %d ciphertexts, want %d", st.node, len(path.Nodes[i].EncryptedPathSecret), n)
		}
		excluded += len(tree.resolution(nil, st.copathChild)) - n
	}
	if excluded != 1 {
		t.Errorf("the newcomer was left out of %d resolutions, want 1", excluded)
	}
	for l, priv := range privs {
		if l == from {
			continue
		}
		commit, err := tree.clone().processUpdatePath(priv.clone(), from, path, v.GroupID, exclude, v.groupContextFor())
		if err != nil || !bytes.Equal(commit, secrets.commitSecret) {
			t.Errorf("member %d: commit secret %x, %v; want %x", l, commit, err, secrets.commitSecret)
		}
	}
	if _, err := tree.clone().processUpdatePath(newTreePrivate(added, encPriv, encPub), from, path, v.GroupID, exclude, v.groupContextFor()); !errors.Is(err, ErrWrongLeaf) {
		t.Errorf("newcomer processing its own commit: err = %v, want ErrWrongLeaf", err)
	}
	joiner := newTreePrivate(added, encPriv, encPub)
	ps := secrets.forJoiner(from, added)
	commit, err := joiner.setPathSecret(mine, commonAncestor(added.node(), from.node()), ps)
	if err != nil || !bytes.Equal(commit, secrets.commitSecret) {
		t.Errorf("joiner: commit secret %x, %v; want %x", commit, err, secrets.commitSecret)
	}
	if err := joiner.setJoinPathSecret(mine, from, []byte("wrong secret")); err == nil {
		t.Error("joiner accepted a wrong path secret")
	}
}
