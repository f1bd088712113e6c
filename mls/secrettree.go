package mls

import (
	"fmt"
	"math"
	"sort"
)

// secretTreeConfig bounds the out-of-order tolerance of a secret tree's
// receiving ratchets (RFC 9420 §9.2 leaves these policies to the
// application).
type secretTreeConfig struct {
	// MaxForwardDistance is the largest number of generations a receiver
	// ratchets forward past the next expected one to reach a message's
	// generation. Zero means only the next expected generation is accepted.
	MaxForwardDistance uint32
	// OutOfOrderTolerance is the number of generations just below the
	// newest one received whose keys are kept, while unused, for late
	// messages. Zero keeps none: a message older than the newest received
	// is rejected.
	OutOfOrderTolerance uint32
}

// defaultSecretTreeConfig matches OpenMLS's defaults: 1000 generations
// forward, the 5 most recent skipped generations kept.
var defaultSecretTreeConfig = secretTreeConfig{MaxForwardDistance: 1000, OutOfOrderTolerance: 5}

// keyNonce is one generation's AEAD key and nonce.
type keyNonce struct {
	key, nonce []byte
}

// ratchet is one hash ratchet of RFC 9420 §9.1: secret is the ratchet
// secret of generation next, the first generation not yet handed out.
// skipped holds the keys of unused generations below next that are still
// within the out-of-order window.
type ratchet struct {
	next    uint32
	secret  []byte
	skipped map[uint32]keyNonce
}

// leafRatchets holds a leaf's handshake and application ratchets.
type leafRatchets struct {
	handshake, application ratchet
}

// secretTree is the secret tree of one epoch (RFC 9420 §9). It is created
// with only the root secret; node secrets are derived on demand, a parent's
// secret is deleted as soon as both children's are derived, a leaf secret
// as soon as its two ratchets are initialised, and each key once used
// (RFC 9420 §9.2). It is not safe for concurrent use.
type secretTree struct {
	suite     CipherSuite
	leafCount uint32
	config    secretTreeConfig
	nodes     map[nodeIndex][]byte     // secrets not yet consumed
	leaves    map[uint32]*leafRatchets // ratchets of leaves already reached
}

// newSecretTree returns the secret tree of an epoch whose encryption_secret
// is encryptionSecret, for a ratchet tree of leafCount leaves, with the
// default out-of-order window. The tree keeps its own copy of the secret.
func newSecretTree(cs CipherSuite, encryptionSecret []byte, leafCount uint32) *secretTree {
	return newSecretTreeConfig(cs, encryptionSecret, leafCount, defaultSecretTreeConfig)
}

// newSecretTreeConfig is newSecretTree with an explicit out-of-order window.
func newSecretTreeConfig(cs CipherSuite, encryptionSecret []byte, leafCount uint32, cfg secretTreeConfig) *secretTree {
	st := &secretTree{
		suite:     cs,
		leafCount: leafCount,
		config:    cfg,
		nodes:     map[nodeIndex][]byte{},
		leaves:    map[uint32]*leafRatchets{},
	}
	if leafCount > 0 {
		st.nodes[st.root()] = append([]byte(nil), encryptionSecret...)
	}
	return st
}

// root returns the root node index; the tree is treated as full (a leaf
// count that is not a power of two is rounded up, as RFC 9420 trees are).
func (st *secretTree) root() nodeIndex {
	n := uint32(1)
	for n < st.leafCount {
		n <<= 1
	}
	return treeRoot(n)
}

// leafState returns the ratchets of leaf, deriving them (and the node
// secrets on the way down from the nearest stored ancestor) on first use.
func (st *secretTree) leafState(leaf uint32) (*leafRatchets, error) {
	if lr, ok := st.leaves[leaf]; ok {
		return lr, nil
	}
	if leaf >= st.leafCount {
		return nil, invalid("§9", "leaf index %d outside a tree of %d leaves", leaf, st.leafCount)
	}
	target := LeafIndex(leaf).node()
	// Walk down from the root to the deepest stored node on target's path.
	var path []nodeIndex
	x := st.root()
	for {
		path = append(path, x)
		if x == target {
			break
		}
		if target < x {
			x = x.left()
		} else {
			x = x.right()
		}
	}
	start := -1
	for i, n := range path {
		if _, ok := st.nodes[n]; ok {
			start = i
		}
	}
	if start < 0 {
		// Every secret on the path was consumed, but the leaf has no state:
		// only possible if the state was corrupted.
		return nil, fmt.Errorf("%w: secret tree has no secret for leaf %d", ErrInternal, leaf)
	}
	for _, n := range path[start : len(path)-1] {
		st.split(n)
	}
	return st.initLeaf(leaf, target), nil
}

// split replaces parent node n's secret by its children's (RFC 9420 §9:
// ExpandWithLabel(secret, "tree", "left"/"right", Nh)).
func (st *secretTree) split(n nodeIndex) {
	cs, secret := st.suite, st.nodes[n]
	st.nodes[n.left()] = cs.ExpandWithLabel(secret, "tree", []byte("left"), cs.Nh())
	st.nodes[n.right()] = cs.ExpandWithLabel(secret, "tree", []byte("right"), cs.Nh())
	delete(st.nodes, n)
}

// initLeaf turns the leaf secret at node n into the handshake and
// application ratchets at generation 0 and deletes it.
func (st *secretTree) initLeaf(leaf uint32, n nodeIndex) *leafRatchets {
	cs, secret := st.suite, st.nodes[n]
	lr := &leafRatchets{
		handshake:   ratchet{secret: cs.ExpandWithLabel(secret, "handshake", nil, cs.Nh())},
		application: ratchet{secret: cs.ExpandWithLabel(secret, "application", nil, cs.Nh())},
	}
	delete(st.nodes, n)
	st.leaves[leaf] = lr
	return lr
}

// ratchetFor returns leaf's handshake or application ratchet.
func (st *secretTree) ratchetFor(leaf uint32, handshake bool) (*ratchet, error) {
	lr, err := st.leafState(leaf)
	if err != nil {
		return nil, err
	}
	if handshake {
		return &lr.handshake, nil
	}
	return &lr.application, nil
}

// nextKey returns the key and nonce of the next unused generation of
// leaf's handshake (or application) ratchet, for sending, and advances the
// ratchet past it. The caller applies the reuse guard to nonce.
func (st *secretTree) nextKey(leaf uint32, handshake bool) (generation uint32, key, nonce []byte, err error) {
	r, err := st.ratchetFor(leaf, handshake)
	if err != nil {
		return 0, nil, nil, err
	}
	if r.next == math.MaxUint32 {
		return 0, nil, nil, fmt.Errorf("mls: secret tree ratchet of leaf %d exhausted", leaf)
	}
	generation = r.next
	kn := st.advance(r)
	return generation, kn.key, kn.nonce, nil
}

// keyAt returns the key and nonce of generation of leaf's handshake (or
// application) ratchet, for receiving, and deletes them (RFC 9420 §9.2).
// Generations ahead of the next expected one are reached by ratcheting
// forward at most MaxForwardDistance steps, keeping the skipped keys of the
// last OutOfOrderTolerance generations. A generation already used, or older
// than the window, or too far ahead gives a *ValidationError.
func (st *secretTree) keyAt(leaf uint32, handshake bool, generation uint32) (key, nonce []byte, err error) {
	r, err := st.ratchetFor(leaf, handshake)
	if err != nil {
		return nil, nil, err
	}
	if generation < r.next {
		kn, ok := r.skipped[generation]
		if !ok {
			return nil, nil, invalid("§9.2", "generation %d of leaf %d already used or outside the window", generation, leaf)
		}
		delete(r.skipped, generation)
		return kn.key, kn.nonce, nil
	}
	if generation-r.next > st.config.MaxForwardDistance {
		return nil, nil, invalid("§9.2", "generation %d of leaf %d is more than %d ahead of %d",
			generation, leaf, st.config.MaxForwardDistance, r.next)
	}
	if generation == math.MaxUint32 {
		return nil, nil, invalid("§9.2", "generation %d out of range", generation)
	}
	kn := st.ratchetTo(r, generation)
	return kn.key, kn.nonce, nil
}

// ratchetTo advances r from r.next to generation (not below r.next) and
// returns generation's key and nonce. The keys of skipped generations
// within OutOfOrderTolerance of generation are kept in r.skipped; older
// ones are dropped.
func (st *secretTree) ratchetTo(r *ratchet, generation uint32) keyNonce {
	keepFrom := uint64(0)
	if g := uint64(generation); g > uint64(st.config.OutOfOrderTolerance) {
		keepFrom = g - uint64(st.config.OutOfOrderTolerance)
	}
	for r.next < generation {
		if uint64(r.next) < keepFrom {
			st.step(r) // outside the window: its keys would be dropped at once
			continue
		}
		g := r.next
		if r.skipped == nil {
			r.skipped = map[uint32]keyNonce{}
		}
		r.skipped[g] = st.advance(r)
	}
	for g := range r.skipped {
		if uint64(g) < keepFrom {
			delete(r.skipped, g)
		}
	}
	return st.advance(r)
}

// advance derives the key and nonce of generation r.next, replaces the
// ratchet secret by the next one and increments r.next (RFC 9420 §9.1).
func (st *secretTree) advance(r *ratchet) keyNonce {
	cs, g := st.suite, r.next
	kn := keyNonce{
		key:   cs.DeriveTreeSecret(r.secret, "key", g, cs.AEADKeyLen()),
		nonce: cs.DeriveTreeSecret(r.secret, "nonce", g, cs.AEADNonceLen()),
	}
	st.step(r)
	return kn
}

// step replaces the ratchet secret by the next generation's and increments
// r.next, without deriving the current generation's key and nonce.
func (st *secretTree) step(r *ratchet) {
	r.secret = st.suite.DeriveTreeSecret(r.secret, "secret", r.next, st.suite.Nh())
	r.next++
}

// senderDataKeyNonce returns the key and nonce that protect a
// PrivateMessage's sender data (RFC 9420 §6.3.2): ExpandWithLabel of
// sender_data_secret with labels "key" and "nonce" over ciphertext_sample,
// the first Nh bytes of ciphertext (all of it when shorter).
func senderDataKeyNonce(cs CipherSuite, senderDataSecret, ciphertext []byte) (key, nonce []byte) {
	sample := ciphertext
	if len(sample) > cs.Nh() {
		sample = sample[:cs.Nh()]
	}
	key = cs.ExpandWithLabel(senderDataSecret, "key", sample, cs.AEADKeyLen())
	nonce = cs.ExpandWithLabel(senderDataSecret, "nonce", sample, cs.AEADNonceLen())
	return key, nonce
}

// marshal writes the tree's whole state for the group state blob: suite,
// leaf count, window, the stored node secrets and every leaf's ratchets,
// each list sorted so that equal states encode equally.
func (st *secretTree) marshal(w *Writer) {
	w.Uint16(uint16(st.suite))
	w.Uint32(st.leafCount)
	w.Uint32(st.config.MaxForwardDistance)
	w.Uint32(st.config.OutOfOrderTolerance)
	nodes := make([]nodeIndex, 0, len(st.nodes))
	for n := range st.nodes {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i] < nodes[j] })
	w.Vector(func(w *Writer) {
		for _, n := range nodes {
			w.Uint32(uint32(n))
			w.Opaque(st.nodes[n])
		}
	})
	leaves := make([]uint32, 0, len(st.leaves))
	for l := range st.leaves {
		leaves = append(leaves, l)
	}
	sort.Slice(leaves, func(i, j int) bool { return leaves[i] < leaves[j] })
	w.Vector(func(w *Writer) {
		for _, l := range leaves {
			w.Uint32(l)
			st.leaves[l].handshake.marshal(w)
			st.leaves[l].application.marshal(w)
		}
	})
}

func (r *ratchet) marshal(w *Writer) {
	w.Uint32(r.next)
	w.Opaque(r.secret)
	gens := make([]uint32, 0, len(r.skipped))
	for g := range r.skipped {
		gens = append(gens, g)
	}
	sort.Slice(gens, func(i, j int) bool { return gens[i] < gens[j] })
	w.Vector(func(w *Writer) {
		for _, g := range gens {
			w.Uint32(g)
			w.Opaque(r.skipped[g].key)
			w.Opaque(r.skipped[g].nonce)
		}
	})
}

// unmarshal restores what marshal wrote. It checks the suite, secret and
// key lengths, that node and leaf indices lie in the tree, that skipped
// generations lie below next, and rejects duplicates.
func (st *secretTree) unmarshal(r *Reader) {
	st.suite = CipherSuite(r.Uint16())
	if r.Err() == nil && !st.suite.Supported() {
		r.Fail("unsupported cipher suite %v", st.suite)
		return
	}
	st.leafCount = r.Uint32()
	st.config.MaxForwardDistance = r.Uint32()
	st.config.OutOfOrderTolerance = r.Uint32()
	if st.leafCount > 1<<31 && r.Err() == nil {
		// root() rounds up to a power of two, which overflows beyond 2^31.
		r.Fail("secret tree of %d leaves", st.leafCount)
		return
	}
	st.nodes = map[nodeIndex][]byte{}
	st.leaves = map[uint32]*leafRatchets{}
	width := 2 * uint64(st.root()) // a full tree has 2*root+1 nodes
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			n := nodeIndex(r.Uint32())
			s := st.readSecret(r, st.suite.Nh())
			if _, dup := st.nodes[n]; (dup || uint64(n) > width) && r.Err() == nil {
				r.Fail("secret tree node %d duplicated or outside the tree", n)
			}
			st.nodes[n] = s
		}
	})
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			l := r.Uint32()
			lr := &leafRatchets{}
			lr.handshake.unmarshal(r, st)
			lr.application.unmarshal(r, st)
			if _, dup := st.leaves[l]; (dup || l >= st.leafCount) && r.Err() == nil {
				r.Fail("secret tree leaf %d duplicated or outside the tree", l)
			}
			st.leaves[l] = lr
		}
	})
}

func (rt *ratchet) unmarshal(r *Reader, st *secretTree) {
	cs := st.suite
	rt.next = r.Uint32()
	rt.secret = st.readSecret(r, cs.Nh())
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			g := r.Uint32()
			kn := keyNonce{key: st.readSecret(r, cs.AEADKeyLen()), nonce: st.readSecret(r, cs.AEADNonceLen())}
			if _, dup := rt.skipped[g]; (dup || g >= rt.next) && r.Err() == nil {
				r.Fail("skipped generation %d duplicated or not below %d", g, rt.next)
			}
			if rt.skipped == nil {
				rt.skipped = map[uint32]keyNonce{}
			}
			rt.skipped[g] = kn
		}
	})
}

// readSecret reads opaque<V> that must be n bytes long.
func (st *secretTree) readSecret(r *Reader, n int) []byte {
	b := r.Opaque()
	if r.Err() == nil && len(b) != n {
		r.Fail("secret of %d bytes, want %d", len(b), n)
	}
	return b
}
