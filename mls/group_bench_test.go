package mls

import (
	"bytes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	mathrand "math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/kem"
	"golang.org/x/crypto/chacha20poly1305"
)

// Group-level benchmarks in suite 3 (X25519, ChaCha20-Poly1305, SHA-256,
// Ed25519), each next to its own crypto floor: the cost of the bare
// primitives (circl HPKE and DeriveKeyPair, crypto/ed25519,
// x/crypto/chacha20poly1305) that the operation inherently needs, run once
// each. After the benchmark loop, each benchmark function times alternating
// blocks of operations and of floors (gbCompare), so that the ratio it
// reports as x-floor compares the two under the same machine load.
// docs/benchmarks.md defines every floor and records the results.
//
// The groups of 250 and 2,500 members are fabricated once per size
// (gbFixture): a tree in which every even leaf has committed, so every
// parent node is set (a long-lived group), and one epoch's secrets; each
// member's Group is built from it directly. TestGroupBenchFixture checks
// such a group works like a real one (commits, messages, a Welcome whose
// joiner validates the whole tree).

const gbSuite = MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519

const gbMessageSize = 1024

// gbFixture is a fabricated group of n members at one epoch.
type gbFixture struct {
	n        int
	groupID  []byte
	tree     *ratchetTree
	sigs     [][]byte              // signature private keys by leaf
	leafKeys []nodeKey             // leaf encryption key pairs by leaf
	nodeKeys map[nodeIndex]nodeKey // parent node key pairs
	ctx      GroupContext          // the epoch's group context
	joiner   []byte                // the epoch's joiner_secret
	once     sync.Once             // guards welcome
	welcome  *gbWelcome            // a Welcome adding one more client
}

var gbFixtures sync.Map // int -> *gbFixture

// gbGetFixture returns the fixture of n members, building it once.
func gbGetFixture(tb testing.TB, n int) *gbFixture {
	if v, ok := gbFixtures.Load(n); ok {
		return v.(*gbFixture)
	}
	f, err := gbBuild(n)
	if err != nil {
		tb.Fatalf("build a group of %d: %v", n, err)
	}
	v, _ := gbFixtures.LoadOrStore(n, f)
	return v.(*gbFixture)
}

// gbBuild creates n members with key_package leaves, then has every even
// leaf refresh its path in turn (as its commit would, without encrypting
// the path secrets nobody needs), which sets every parent node.
func gbBuild(n int) (*gbFixture, error) {
	cs := gbSuite
	rnd := mathrand.NewChaCha8([32]byte{'g', 'b', byte(n), byte(n >> 8)})
	f := &gbFixture{n: n, groupID: []byte("benchmark group"), sigs: make([][]byte, n), leafKeys: make([]nodeKey, n),
		nodeKeys: map[nodeIndex]nodeKey{}}
	for i := range n {
		sigPriv, sigPub, err := cs.GenerateSignatureKeyPair(rnd)
		if err != nil {
			return nil, err
		}
		encPriv, encPub, err := cs.GenerateHPKEKeyPair(rnd)
		if err != nil {
			return nil, err
		}
		ln := &LeafNode{EncryptionKey: encPub, SignatureKey: sigPub, Credential: NewBasicCredential(fmt.Appendf(nil, "member %d", i)),
			Capabilities: DefaultCapabilities(cs, CredentialTypeBasic), Source: LeafNodeSourceKeyPackage,
			Lifetime: &Lifetime{NotBefore: 0, NotAfter: ^uint64(0)}, Extensions: []Extension{}}
		if err := ln.sign(rnd, cs, sigPriv, nil, 0); err != nil {
			return nil, err
		}
		if i == 0 {
			f.tree = newRatchetTree(cs, ln)
		} else if l := f.tree.addLeaf(ln); int(l) != i {
			return nil, fmt.Errorf("member %d added at leaf %d", i, l)
		}
		f.sigs[i], f.leafKeys[i] = sigPriv, nodeKey{pub: encPub, priv: encPriv}
	}
	for l := 0; l < n; l += 2 {
		if err := f.refreshPath(rnd, LeafIndex(l)); err != nil {
			return nil, err
		}
	}
	th, err := f.tree.treeHash()
	if err != nil {
		return nil, err
	}
	confirmed, joiner := make([]byte, cs.Nh()), make([]byte, cs.Nh())
	rnd.Read(confirmed)
	rnd.Read(joiner)
	f.ctx = GroupContext{Version: ProtocolVersionMLS10, CipherSuite: cs, GroupID: f.groupID, Epoch: 1000, TreeHash: th,
		ConfirmedTranscriptHash: confirmed, Extensions: []Extension{}}
	f.joiner = joiner
	return f, nil
}

// refreshPath gives leaf l a new leaf key and fresh keys on its filtered
// direct path with parent hashes, signed as a commit's leaf.
func (f *gbFixture) refreshPath(rnd *mathrand.ChaCha8, l LeafIndex) error {
	t := f.tree
	fdp := t.filteredDirectPath(l)
	leafKey, np, err := t.newPathKeys(rnd, fdp)
	if err != nil {
		return err
	}
	t.blankDirectPath(l)
	for i, st := range fdp {
		t.setParent(st.node, &ParentNode{EncryptionKey: np.keys[i].pub})
		f.nodeKeys[st.node] = np.keys[i]
	}
	if _, err := t.signPathLeaf(rnd, t.leaf(l), leafKey.pub, fdp, f.sigs[l], f.groupID, l); err != nil {
		return err
	}
	f.leafKeys[l] = leafKey
	return nil
}

// member returns a fresh Group of the member at leaf l in the fixture's
// epoch, with the private keys of its leaf and direct path. This is the
// only place that knows the Group's internals. (Restoring a serialized
// state instead would start with an empty tree-hash cache, which a
// benchmark that never merges would pay on every commit.)
func (f *gbFixture) member(tb testing.TB, l LeafIndex, cfg Config) *Group {
	cs := gbSuite
	t := f.tree.clone()
	keys := newTreePrivate(l, f.leafKeys[l].priv, f.leafKeys[l].pub)
	for _, x := range directPath(l.node(), t.leafCount()) {
		if k, ok := f.nodeKeys[x]; ok && bytes.Equal(t.encryptionKey(x), k.pub) {
			keys.keys[x] = k
		}
	}
	gc, err := encode(&f.ctx)
	if err != nil {
		tb.Fatal(err)
	}
	secrets := deriveEpochSecrets(cs, f.joiner, nil, gc)
	confTag := secrets.confirmationTag(f.ctx.ConfirmedTranscriptHash)
	s := &epochState{ctx: cloneGroupContext(&f.ctx), tree: t, keys: keys, sigPriv: f.sigs[l], secrets: secrets,
		interim: interimTranscriptHash(cs, f.ctx.ConfirmedTranscriptHash, confTag), confTag: confTag,
		st: newSecretTreeConfig(cs, secrets.encryptionSecret, t.leafCount(), cfg.secretTreeConfig())}
	g := &Group{cfg: cfg, s: s}
	g.rememberResumption()
	return g
}

// gbWelcome is a Welcome of the fixture's group adding one client, with
// that client's key package bundle and the tree (sent out of band).
type gbWelcome struct {
	welcome *Welcome
	bundle  *KeyPackageBundle
	tree    []byte
}

// getWelcome has leaf 0 add a new client and returns the Welcome.
func (f *gbFixture) getWelcome(tb testing.TB) *gbWelcome {
	f.once.Do(func() {
		g := f.member(tb, 0, Config{})
		bundle := gbNewBundle(tb, "joiner")
		res, err := g.Commit(CommitOptions{Adds: []KeyPackage{bundle.KeyPackage}})
		if err != nil {
			tb.Fatal(err)
		}
		if err := g.MergePendingCommit(); err != nil {
			tb.Fatal(err)
		}
		tree, err := g.RatchetTree()
		if err != nil {
			tb.Fatal(err)
		}
		f.welcome = &gbWelcome{welcome: res.Welcome, bundle: bundle, tree: tree}
	})
	if f.welcome == nil {
		tb.Fatal("no welcome")
	}
	return f.welcome
}

func gbNewBundle(tb testing.TB, name string) *KeyPackageBundle {
	priv, _, err := gbSuite.GenerateSignatureKeyPair(nil)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := NewKeyPackageBundle(nil, gbSuite, priv, NewBasicCredential([]byte(name)), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// gbPathShape describes the UpdatePath of a commit by leaf from: its
// length (filtered direct path) and number of HPKE ciphertexts.
func gbPathShape(t *ratchetTree, from LeafIndex) (nodes, ciphertexts int) {
	fdp := t.filteredDirectPath(from)
	for _, st := range fdp {
		ciphertexts += len(t.copathResolution(st.copathChild, nil))
	}
	return len(fdp), ciphertexts
}

// gbDerivations returns how many key pairs member to derives when
// processing a path commit of from: one per node of from's filtered
// direct path from their lowest common ancestor up.
func gbDerivations(t *ratchetTree, from, to LeafIndex) int {
	fdp := t.filteredDirectPath(from)
	for i, st := range fdp {
		if to.node().isAncestor(st.copathChild) {
			return len(fdp) - i
		}
	}
	return 0
}

// The floor.

// gbKit holds what the floor primitives of suite 3 work on; each method
// runs one primitive once, as the operation it stands for would.
type gbKit struct {
	tb        testing.TB
	sigPriv   ed25519.PrivateKey
	sigPub    ed25519.PublicKey
	msg, sig  []byte // 1 KiB and its signature
	pk        kem.PublicKey
	sk        kem.PrivateKey
	info      []byte
	secret    []byte // a 32-byte path secret, also the DeriveKeyPair seed
	enc, ct   []byte // secret sealed to pk
	aead      cipher.AEAD
	nonce     []byte
	pt, small []byte // 1 KiB and 256 bytes (a GroupInfo without tree)
	ctBig     []byte // pt sealed
	ctSmall   []byte // small sealed
}

var gbHPKE = hpke.NewSuite(hpke.KEM_X25519_HKDF_SHA256, hpke.KDF_HKDF_SHA256, hpke.AEAD_ChaCha20Poly1305)

func newGBKit(tb testing.TB) *gbKit {
	k := &gbKit{tb: tb, msg: make([]byte, gbMessageSize), info: []byte("floor info"), secret: make([]byte, 32),
		nonce: make([]byte, chacha20poly1305.NonceSize), pt: make([]byte, gbMessageSize), small: make([]byte, 256)}
	rand.Read(k.msg)
	rand.Read(k.secret)
	var err error
	if k.sigPub, k.sigPriv, err = ed25519.GenerateKey(rand.Reader); err != nil {
		tb.Fatal(err)
	}
	k.sig = ed25519.Sign(k.sigPriv, k.msg)
	if k.pk, k.sk, err = hpke.KEM_X25519_HKDF_SHA256.Scheme().GenerateKeyPair(); err != nil {
		tb.Fatal(err)
	}
	s, err := gbHPKE.NewSender(k.pk, k.info)
	if err != nil {
		tb.Fatal(err)
	}
	enc, sealer, err := s.Setup(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	k.enc = enc
	if k.ct, err = sealer.Seal(k.secret, nil); err != nil {
		tb.Fatal(err)
	}
	key := make([]byte, chacha20poly1305.KeySize)
	rand.Read(key)
	if k.aead, err = chacha20poly1305.New(key); err != nil {
		tb.Fatal(err)
	}
	k.ctBig = k.aead.Seal(nil, k.nonce, k.pt, nil)
	k.ctSmall = k.aead.Seal(nil, k.nonce, k.small, nil)
	return k
}

func (k *gbKit) sign() { ed25519.Sign(k.sigPriv, k.msg) }

func (k *gbKit) verify() {
	if !ed25519.Verify(k.sigPub, k.msg, k.sig) {
		k.tb.Fatal("floor signature does not verify")
	}
}

// hpkeSeal is SetupBaseS and the Seal of a path secret.
func (k *gbKit) hpkeSeal() {
	s, err := gbHPKE.NewSender(k.pk, k.info)
	if err != nil {
		k.tb.Fatal(err)
	}
	_, sealer, err := s.Setup(rand.Reader)
	if err != nil {
		k.tb.Fatal(err)
	}
	if _, err := sealer.Seal(k.secret, nil); err != nil {
		k.tb.Fatal(err)
	}
}

// hpkeOpen is SetupBaseR and the Open of a path secret.
func (k *gbKit) hpkeOpen() {
	r, err := gbHPKE.NewReceiver(k.sk, k.info)
	if err != nil {
		k.tb.Fatal(err)
	}
	opener, err := r.Setup(k.enc)
	if err != nil {
		k.tb.Fatal(err)
	}
	if _, err := opener.Open(k.ct, nil); err != nil {
		k.tb.Fatal(err)
	}
}

func (k *gbKit) derive() { hpke.KEM_X25519_HKDF_SHA256.Scheme().DeriveKeyPair(k.secret) }

func (k *gbKit) aeadSeal(small bool) {
	if small {
		k.aead.Seal(nil, k.nonce, k.small, nil)
	} else {
		k.aead.Seal(nil, k.nonce, k.pt, nil)
	}
}

func (k *gbKit) aeadOpen(small bool) {
	ct := k.ctBig
	if small {
		ct = k.ctSmall
	}
	if _, err := k.aead.Open(nil, k.nonce, ct, nil); err != nil {
		k.tb.Fatal(err)
	}
}

// times runs f n times.
func times(n int, f func()) {
	for range n {
		f()
	}
}

// gbCompare measures the ratio of an operation to its floor (the
// primitives the operation needs, run once each) under the same machine
// load: it alternates blocks of operations and blocks of as many floors,
// each block about 20 ms long, until at least 400 ms and minOps operations
// have passed. prepare, untimed, readies one operation and returns it; a
// block's operations are all prepared before the block is timed. It
// reports floor-ns/op, cmp-ns/op (the operation's time in these blocks)
// and x-floor (their ratio); ns/op, B/op and allocs/op are the benchmark
// loop's, which times the operation alone.
func gbCompare(b *testing.B, minOps int, prepare func() func(), floor func()) {
	b.StopTimer()
	first := prepare()
	t := time.Now()
	first()
	block := max(1, int(20*time.Millisecond/max(time.Since(t), time.Microsecond)))
	var tOp, tFloor time.Duration
	n, start := 0, time.Now()
	for n < minOps || time.Since(start) < 400*time.Millisecond {
		ops := make([]func(), block)
		for i := range ops {
			ops[i] = prepare()
		}
		t0 := time.Now()
		for _, op := range ops {
			op()
		}
		t1 := time.Now()
		times(block, floor)
		tOp += t1.Sub(t0)
		tFloor += time.Since(t1)
		n += block
	}
	b.ReportMetric(float64(tFloor.Nanoseconds())/float64(n), "floor-ns/op")
	b.ReportMetric(float64(tOp.Nanoseconds())/float64(n), "cmp-ns/op")
	b.ReportMetric(float64(tOp)/float64(tFloor), "x-floor")
}

// same returns a prepare function that always returns op.
func same(op func()) func() func() { return func() func() { return op } }

// BenchmarkGroupAppMessage protects (Encrypt + encoding) and unprotects
// (parsing + Process) a 1 KiB application message between two members of
// the 250-member group. Floor: one AEAD seal (open) of 1 KiB and one
// Ed25519 signature (verification) over 1 KiB.
func BenchmarkGroupAppMessage(b *testing.B) {
	f := gbGetFixture(b, 250)
	pt := make([]byte, gbMessageSize)
	b.Run("protect", func(b *testing.B) {
		g, k := f.member(b, 0, Config{}), newGBKit(b)
		protect := func() {
			msg, err := g.Encrypt(pt, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := msg.Bytes(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.SetBytes(gbMessageSize)
		for b.Loop() {
			protect()
		}
		gbCompare(b, 50, same(protect), func() { k.aeadSeal(false); k.sign() })
	})
	b.Run("unprotect", func(b *testing.B) {
		sender, receiver, k := f.member(b, 0, Config{}), f.member(b, 249, Config{}), newGBKit(b)
		next := func() func() {
			msg, err := sender.Encrypt(pt, nil)
			if err != nil {
				b.Fatal(err)
			}
			enc, err := msg.Bytes()
			if err != nil {
				b.Fatal(err)
			}
			return func() {
				msg, err := ParseMLSMessage(enc)
				if err != nil {
					b.Fatal(err)
				}
				if pm, err := receiver.Process(msg); err != nil || len(pm.ApplicationData) != gbMessageSize {
					b.Fatalf("unprotect: %v", err)
				}
			}
		}
		gbRunPrepared(b, next)
		gbCompare(b, 50, next, func() { k.aeadOpen(false); k.verify() })
	})
}

// gbRunPrepared runs the benchmark loop over b.N operations prepared (and
// kept) before the timer starts, for operations that consume their input.
func gbRunPrepared(b *testing.B, prepare func() func()) {
	ops := make([]func(), b.N)
	for i := range ops {
		ops[i] = prepare()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, op := range ops {
		op()
	}
	b.StopTimer()
}

// gbSizes are the group sizes of the commit benchmarks; the targets are
// stated for 250, and 2,500 shows how the cost grows.
var gbSizes = []int{250, 2500}

// BenchmarkGroupCommitPath has leaf 0 of a full group create a path-only
// commit (Commit with no proposal; then ClearPendingCommit). Floor:
// DeriveKeyPair for the new leaf key and each path node, one HPKE seal per
// ciphertext of the path, two signatures (the path's leaf node and the
// framed content).
func BenchmarkGroupCommitPath(b *testing.B) {
	for _, n := range gbSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			f := gbGetFixture(b, n)
			g, k := f.member(b, 0, Config{}), newGBKit(b)
			nodes, cts := gbPathShape(f.tree, 0)
			commit := func() {
				if _, err := g.Commit(CommitOptions{}); err != nil {
					b.Fatal(err)
				}
				g.ClearPendingCommit()
			}
			b.ReportAllocs()
			for b.Loop() {
				commit()
			}
			gbCompare(b, 10, same(commit), func() {
				times(nodes+1, k.derive)
				times(cts, k.hpkeSeal)
				times(2, k.sign)
			})
			b.ReportMetric(float64(nodes), "path-nodes")
			b.ReportMetric(float64(cts), "hpke-seals")
		})
	}
}

// BenchmarkGroupProcessCommitPath has a member of a full group process
// (stage, not merge) path-only commits of leaf 0: "far" is the last leaf,
// below the root's other child (one key pair to derive, like half of the
// group), "near" is leaf 1, leaf 0's sibling (a key pair for every path
// node). Floor: two Ed25519 verifications (framed content and path leaf
// node), one HPKE open, and DeriveKeyPair for each path node from the
// common ancestor up.
func BenchmarkGroupProcessCommitPath(b *testing.B) {
	for _, n := range gbSizes {
		for _, rc := range []struct {
			name     string
			receiver LeafIndex
		}{{"far", LeafIndex(n - 1)}, {"near", 1}} {
			b.Run(fmt.Sprintf("%s/%d", rc.name, n), func(b *testing.B) {
				gbProcessCommits(b, gbGetFixture(b, n), rc.receiver)
			})
		}
	}
}

func gbProcessCommits(b *testing.B, f *gbFixture, to LeafIndex) {
	committer, receiver, k := f.member(b, 0, Config{}), f.member(b, to, Config{}), newGBKit(b)
	next := func() func() {
		res, err := committer.Commit(CommitOptions{})
		if err != nil {
			b.Fatal(err)
		}
		committer.ClearPendingCommit()
		enc, err := res.Commit.Bytes()
		if err != nil {
			b.Fatal(err)
		}
		return func() {
			msg, err := ParseMLSMessage(enc)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := receiver.Process(msg); err != nil {
				b.Fatalf("process commit: %v", err)
			}
		}
	}
	gbRunPrepared(b, next)
	derives := gbDerivations(f.tree, 0, to)
	gbCompare(b, 10, next, func() {
		times(2, k.verify)
		k.hpkeOpen()
		times(derives, k.derive)
	})
	b.ReportMetric(float64(derives), "derives")
}

// BenchmarkGroupAdd has leaf 0 of a full group commit the Add of one new
// member and build its Welcome (Commit with one key package; then
// ClearPendingCommit). Add-only commits carry no path, and the Welcome no
// tree. Floor: two Ed25519 verifications (the key package and its leaf
// node), two signatures (the framed content and the GroupInfo), one HPKE
// seal (the GroupSecrets) and one AEAD seal of the GroupInfo (256 bytes).
func BenchmarkGroupAdd(b *testing.B) {
	for _, n := range gbSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			g, k := gbGetFixture(b, n).member(b, 0, Config{}), newGBKit(b)
			kp := gbNewBundle(b, "new member").KeyPackage
			add := func() {
				res, err := g.Commit(CommitOptions{Adds: []KeyPackage{kp}})
				if err != nil {
					b.Fatal(err)
				}
				if res.Welcome == nil {
					b.Fatal("no welcome")
				}
				g.ClearPendingCommit()
			}
			b.ReportAllocs()
			for b.Loop() {
				add()
			}
			gbCompare(b, 10, same(add), func() {
				times(2, k.verify)
				times(2, k.sign)
				k.hpkeSeal()
				k.aeadSeal(true)
			})
		})
	}
}

// gbJoin250 is the ns/op of BenchmarkGroupJoin/250 in this run, for the
// 2,500-member ratio; 0 until measured.
var gbJoin250 float64

// BenchmarkGroupJoin joins the 250- and 2,500-member groups from a Welcome
// with the tree given out of band (JoinFromWelcome: decrypt, decode and
// validate the whole tree, verify the GroupInfo, key schedule). Floor: one
// HPKE open, one AEAD open of the GroupInfo (256 bytes), and one Ed25519
// verification per member leaf plus one for the GroupInfo. The 2,500 case
// also reports x-join250, its ns/op over the 250 case's.
func BenchmarkGroupJoin(b *testing.B) {
	for _, n := range []int{250, 2500} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			w, k := gbGetFixture(b, n).getWelcome(b), newGBKit(b)
			join := func() {
				if _, err := JoinFromWelcome(Config{}, w.welcome, w.bundle, w.tree); err != nil {
					b.Fatal(err)
				}
			}
			join()
			if n == 2500 && gbJoin250 == 0 {
				w250 := gbGetFixture(b, 250).getWelcome(b)
				start := time.Now()
				for range 10 {
					if _, err := JoinFromWelcome(Config{}, w250.welcome, w250.bundle, w250.tree); err != nil {
						b.Fatal(err)
					}
				}
				gbJoin250 = float64(time.Since(start).Nanoseconds()) / 10
			}
			b.ReportAllocs()
			for b.Loop() {
				join()
			}
			if op := float64(b.Elapsed().Nanoseconds()) / float64(b.N); n == 250 {
				gbJoin250 = op
			} else {
				b.ReportMetric(op/gbJoin250, "x-join250")
			}
			gbCompare(b, 3, same(join), func() {
				k.hpkeOpen()
				k.aeadOpen(true)
				times(n+2, k.verify)
			})
		})
	}
}

// TestGroupBenchFixture checks that a fabricated group behaves like a real
// one: a path commit is processed by near and far members, application
// messages decrypt, and a Welcome's joiner (who validates the whole tree:
// signatures, parent hashes, tree hash) agrees with everyone.
func TestGroupBenchFixture(t *testing.T) {
	f := gbGetFixture(t, 40)
	a, near, far := f.member(t, 0, Config{}), f.member(t, 1, Config{}), f.member(t, 39, Config{})
	res, err := a.Commit(CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*Group{near, far} {
		pm, err := g.Process(res.Commit)
		if err != nil {
			t.Fatalf("leaf %d: process: %v", g.OwnLeafIndex(), err)
		}
		if err := g.MergeStagedCommit(pm.Commit); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	msg, err := far.Encrypt([]byte("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if pm, err := a.Process(msg); err != nil || string(pm.ApplicationData) != "hello" {
		t.Fatalf("application message: %v", err)
	}
	w := f.getWelcome(t)
	joined, err := JoinFromWelcome(Config{}, w.welcome, w.bundle, w.tree)
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	if joined.Epoch() != f.ctx.Epoch+1 || len(joined.Members()) != f.n+1 {
		t.Fatalf("joined epoch %d with %d members", joined.Epoch(), len(joined.Members()))
	}
	if nodes, cts := gbPathShape(f.tree, 0); nodes != 6 || cts != 6 {
		t.Errorf("path of leaf 0 has %d nodes and %d ciphertexts, want 6 and 6 in a full tree", nodes, cts)
	}
	if d := gbDerivations(f.tree, 0, 1); d != 6 {
		t.Errorf("leaf 1 derives %d key pairs, want 6", d)
	}
}
