package mls

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"hash"
	"io"
	mathrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"
)

var simSeedFlag = flag.Uint64("mls.sim.seed", 0, "seed of TestSimulation; 0 means $MLS_SIM_SEED or the default")

const simDefaultSeed = 9420

// simLongSuite is the suite of the long run.
const simLongSuite = MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519

// simParams sizes one simulation run.
type simParams struct {
	ops        int // random operations to apply
	maxMembers int // the group never grows beyond this
}

func simSeed(t *testing.T) uint64 {
	if *simSeedFlag != 0 {
		return *simSeedFlag
	}
	if v := os.Getenv("MLS_SIM_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 0, 64)
		if err != nil {
			t.Fatalf("MLS_SIM_SEED=%q: %v", v, err)
		}
		return s
	}
	return simDefaultSeed
}

// TestSimulation drives one group through a long run of random operations
// (adds by Welcome, removes, Update proposals, path-only commits, commits
// by random members, proposals by reference committed by someone else,
// application messages delivered out of order or after the next commit,
// state round-trips) and checks after every epoch that all members agree
// on the epoch, the epoch authenticator, the tree hash and the membership,
// and that every application message decrypts to its plaintext for every
// recipient.
//
// The run is reproducible: all randomness (operation choices, Config.Rand
// and, through testing/cryptotest, crypto/rand) comes from one seed, taken
// from -mls.sim.seed, else $MLS_SIM_SEED, else simDefaultSeed. The seed is
// logged; a failure names the operation it happened in.
func TestSimulation(t *testing.T) {
	seed := simSeed(t)
	t.Logf("seed %d (reproduce with MLS_SIM_SEED=%d or -args -mls.sim.seed=%d)", seed, seed, seed)
	long, short := simParams{ops: 520, maxMembers: 50}, simParams{ops: 40, maxMembers: 6}
	if testing.Short() {
		long, short = simParams{ops: 150, maxMembers: 20}, simParams{ops: 20, maxMembers: 5}
	}
	t.Run("long/"+simLongSuite.String(), func(t *testing.T) {
		runSimulation(t, simLongSuite, seed, long)
	})
	for cs := CipherSuite(1); cs <= 7; cs++ {
		if !cs.Supported() {
			t.Errorf("suite %d is not supported", cs)
			continue
		}
		// Go's P-384 and P-521 arithmetic is pure Go, which the race
		// detector slows down about tenfold: shorter runs for those.
		p := short
		switch cs {
		case MLS_256_DHKEMP384_AES256GCM_SHA384_P384:
			p = simParams{ops: short.ops / 2, maxMembers: 4}
		case MLS_256_DHKEMP521_AES256GCM_SHA512_P521:
			p = simParams{ops: short.ops * 2 / 5, maxMembers: 3}
		}
		t.Run("short/"+cs.String(), func(t *testing.T) {
			runSimulation(t, cs, seed+uint64(cs), p)
		})
	}
	t.Run("reproducible", func(t *testing.T) {
		p := simParams{ops: 25, maxMembers: 6}
		a := runSimulation(t, simLongSuite, seed, p)
		b := runSimulation(t, simLongSuite, seed, p)
		if a != b {
			t.Fatalf("two runs with seed %d differ: trace %s vs %s", seed, a, b)
		}
	})
}

// runSimulation runs one simulation and returns the digest of its trace
// (every epoch authenticator in order).
func runSimulation(t *testing.T, cs CipherSuite, seed uint64, p simParams) string {
	cryptotest.SetGlobalRandom(t, seed)
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	s := &simulation{
		t: t, cs: cs, p: p,
		rng:     mathrand.New(mathrand.NewPCG(seed, uint64(cs))),
		entropy: mathrand.NewChaCha8(key),
		counts:  map[string]int{},
		spent:   map[string]time.Duration{},
		trace:   sha256.New(),
	}
	s.resetEpoch()
	s.start()
	for s.op = 1; s.op <= p.ops; s.op++ {
		s.step()
	}
	s.op = 0
	s.finish()
	digest := fmt.Sprintf("%x", s.trace.Sum(nil))
	t.Logf("%s: %d ops, %d members at the end (peak %d), epoch %d, trace %.16s", cs, p.ops, len(s.members),
		s.peak, s.members[0].g.Epoch(), digest)
	t.Logf("counts (operations with their total time): %s", s.countSummary())
	return digest
}

// simMember is one client in the group.
type simMember struct {
	id      int
	sigPriv []byte
	sigPub  []byte
	cfg     Config
	g       *Group
}

// simJoiner is a client with a key package, not yet in the group.
type simJoiner struct {
	id      int
	sigPriv []byte
	sigPub  []byte
	bundle  *KeyPackageBundle
}

// simLate is an application message held back until after the next commit.
type simLate struct {
	from  *simMember
	text  string
	msg   []byte
	epoch uint64
	leaf  LeafIndex
	to    []*simMember
}

type simulation struct {
	t       *testing.T
	cs      CipherSuite
	p       simParams
	rng     *mathrand.Rand
	entropy io.Reader
	op      int // number of the running operation, for failure messages
	nextID  int
	members []*simMember
	peak    int
	counts  map[string]int
	spent   map[string]time.Duration
	trace   hash.Hash
	msgSeq  int

	// Proposals queued in the current epoch (every member queues the same
	// ones): touched are the leaves an Update or Remove concerns, propAdds
	// the joiners of Add proposals, removals the targets of Removes.
	nProps   int
	touched  map[LeafIndex]bool
	removals []LeafIndex
	propAdds []*simJoiner
	// late messages of the current epoch; lateFrom their senders, who send
	// nothing else this epoch (so the held generation stays in the window).
	late     []*simLate
	lateFrom map[*simMember]bool
}

func (s *simulation) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("op %d: %s", s.op, fmt.Sprintf(format, args...))
}

func (s *simulation) check(err error, what string) {
	s.t.Helper()
	if err != nil {
		s.fatalf("%s: %v", what, err)
	}
}

func (s *simulation) resetEpoch() {
	s.nProps = 0
	s.touched = map[LeafIndex]bool{}
	s.removals, s.propAdds = nil, nil
	s.late = nil
	s.lateFrom = map[*simMember]bool{}
}

// config returns a new client's local policies: a random handshake wire
// format, past epochs kept for late messages, an out-of-order window wider
// than any shuffled batch.
func (s *simulation) config() Config {
	wf := WireFormatPrivateMessage
	if s.rng.IntN(3) == 0 {
		wf = WireFormatPublicMessage
	}
	return Config{Rand: s.entropy, HandshakeWireFormat: wf, MaxPastEpochs: 2, OutOfOrderTolerance: 8,
		PaddingBlock: s.rng.IntN(3) * 16}
}

func (s *simulation) newJoiner() *simJoiner {
	s.nextID++
	j := &simJoiner{id: s.nextID}
	var err error
	j.sigPriv, j.sigPub, err = s.cs.GenerateSignatureKeyPair(s.entropy)
	s.check(err, "generate signature key")
	j.bundle, err = NewKeyPackageBundle(s.entropy, s.cs, j.sigPriv, NewBasicCredential(fmt.Appendf(nil, "client-%d", j.id)), nil)
	s.check(err, "new key package")
	// The key package travels as an MLSMessage, as it would be published.
	b, err := (&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatKeyPackage, KeyPackage: &j.bundle.KeyPackage}).Bytes()
	s.check(err, "encode key package")
	m, err := ParseMLSMessage(b)
	s.check(err, "parse key package")
	j.bundle.KeyPackage = *m.KeyPackage
	return j
}

// start creates the group with its first member.
func (s *simulation) start() {
	j := s.newJoiner()
	m := &simMember{id: j.id, sigPriv: j.sigPriv, sigPub: j.sigPub, cfg: s.config()}
	var err error
	m.g, err = NewGroup(m.cfg, s.cs, fmt.Appendf(nil, "simulation %v", s.cs), m.sigPriv,
		NewBasicCredential(fmt.Appendf(nil, "client-%d", m.id)), nil, nil)
	s.check(err, "new group")
	s.members = []*simMember{m}
	s.peak = 1
	s.checkAgreement()
}

// simOp is one kind of operation with its current weight.
type simOp struct {
	name   string
	weight int
	run    func()
}

// target is the group size the simulation steers towards at the current
// operation: up to maxMembers over the first 30% of the run, down to an
// eighth of it by 50%, then between an eighth and a third. The peak
// exercises large trees; the valley leaves many blank leaves and keeps the
// run affordable.
func (s *simulation) target() int {
	x, m := float64(s.op)/float64(s.p.ops), float64(s.p.maxMembers)
	switch {
	case x < 0.3:
		return max(2, int(m*x/0.27))
	case x < 0.5:
		return max(2, int(m-(m*7/8)*(x-0.3)/0.2))
	case x < 0.75:
		return max(2, int(m/8+(m*5/24)*(x-0.5)/0.25))
	}
	return max(2, int(m/3-(m*5/24)*(x-0.75)/0.25))
}

// step applies one random operation, weighted so that the group size
// follows target.
func (s *simulation) step() {
	n := len(s.members)
	room := s.p.maxMembers - n - len(s.propAdds)
	grow, shrink := 1, 1
	switch tgt := s.target(); {
	case n < tgt:
		grow = 4
	case n > tgt+1 && n > 2:
		shrink = 4
	}
	ops := []simOp{
		{"app", 16, s.opApp},
		{"roundtrip", 3, s.opRoundTrip},
		{"commit-empty", 5, s.opCommitEmpty},
		{"commit-pending", s.ifThen(s.nProps > 0, 8+2*s.nProps), s.opCommitPending},
		{"commit-add", s.ifThen(room > 0, 3*grow), s.opCommitAdd},
		{"commit-remove", s.ifThen(n > 2, 3*shrink), s.opCommitRemove},
		{"propose-update", s.ifThen(n >= 2, 6), s.opProposeUpdate},
		{"propose-remove", s.ifThen(n > 2, 2*shrink), s.opProposeRemove},
		{"propose-add", s.ifThen(room > 0, 2*grow), s.opProposeAdd},
	}
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	r := s.rng.IntN(total)
	for _, o := range ops {
		if r < o.weight {
			s.counts["op "+o.name]++
			start := time.Now()
			o.run()
			s.spent[o.name] += time.Since(start)
			return
		}
		r -= o.weight
	}
}

func (s *simulation) ifThen(cond bool, w int) int {
	if cond {
		return w
	}
	return 0
}

func (s *simulation) pick() *simMember { return s.members[s.rng.IntN(len(s.members))] }

// pickOther returns a random member other than not; nil if there is none.
func (s *simulation) pickOther(not *simMember, ok func(*simMember) bool) *simMember {
	var cands []*simMember
	for _, m := range s.members {
		if m != not && (ok == nil || ok(m)) {
			cands = append(cands, m)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	return cands[s.rng.IntN(len(cands))]
}

func (s *simulation) others(not *simMember) []*simMember {
	out := make([]*simMember, 0, len(s.members))
	for _, m := range s.members {
		if m != not {
			out = append(out, m)
		}
	}
	return out
}

func encodeMsg(s *simulation, m *MLSMessage) []byte {
	b, err := m.Bytes()
	s.check(err, "encode message")
	return b
}

// process parses b and processes it at m.
func (s *simulation) process(m *simMember, b []byte) *ProcessedMessage {
	s.t.Helper()
	msg, err := ParseMLSMessage(b)
	s.check(err, "parse message")
	pm, err := m.g.Process(msg)
	if err != nil {
		s.fatalf("client %d (leaf %d, epoch %d): process: %v", m.id, m.g.OwnLeafIndex(), m.g.Epoch(), err)
	}
	return pm
}

// opApp sends a batch of application messages from one member; each
// recipient gets them in its own random order, and sometimes the last one
// only after the next commit.
func (s *simulation) opApp() {
	from := s.pickOther(nil, func(m *simMember) bool { return !s.lateFrom[m] })
	if from == nil {
		return
	}
	k := 1 + s.rng.IntN(3)
	texts := make([]string, k)
	msgs := make([][]byte, k)
	for i := range k {
		s.msgSeq++
		texts[i] = fmt.Sprintf("message %d from client %d%s", s.msgSeq, from.id, strings.Repeat(".", s.rng.IntN(300)))
		msg, err := from.g.Encrypt([]byte(texts[i]), fmt.Appendf(nil, "aad %d", s.msgSeq))
		s.check(err, "encrypt")
		msgs[i] = encodeMsg(s, msg)
	}
	to := s.others(from)
	if k > 1 && len(to) > 0 && s.rng.IntN(4) == 0 {
		k--
		s.late = append(s.late, &simLate{from: from, text: texts[k], msg: msgs[k], epoch: from.g.Epoch(),
			leaf: from.g.OwnLeafIndex(), to: to})
		s.lateFrom[from] = true
	}
	s.counts["app messages"] += k
	for _, r := range to {
		order := s.rng.Perm(k)
		if !slices.IsSorted(order) {
			s.counts["app out-of-order batches"]++
		}
		for _, i := range order {
			s.checkApp(r, msgs[i], texts[i], from.g.OwnLeafIndex(), from.g.Epoch())
		}
		s.counts["app deliveries"] += k
	}
}

func (s *simulation) checkApp(r *simMember, b []byte, text string, leaf LeafIndex, epoch uint64) {
	s.t.Helper()
	pm := s.process(r, b)
	if pm.ContentType != ContentTypeApplication || string(pm.ApplicationData) != text ||
		pm.Sender.LeafIndex != leaf || pm.Epoch != epoch {
		s.fatalf("client %d got %v %.40q from leaf %d epoch %d, want %.40q from leaf %d epoch %d", r.id, pm.ContentType,
			pm.ApplicationData, pm.Sender.LeafIndex, pm.Epoch, text, leaf, epoch)
	}
}

// opRoundTrip serializes a random member and continues with the restored
// state.
func (s *simulation) opRoundTrip() {
	s.roundTrip(s.pick())
}

func (s *simulation) roundTrip(m *simMember) {
	s.t.Helper()
	b, err := m.g.MarshalBinary()
	s.check(err, "marshal group")
	g, err := UnmarshalGroup(m.cfg, b)
	s.check(err, "unmarshal group")
	b2, err := g.MarshalBinary()
	s.check(err, "re-marshal group")
	if !bytes.Equal(b, b2) {
		s.fatalf("client %d: restored state re-encodes differently", m.id)
	}
	if !bytes.Equal(g.EpochAuthenticator(), m.g.EpochAuthenticator()) || g.OwnLeafIndex() != m.g.OwnLeafIndex() {
		s.fatalf("client %d: restored state differs", m.id)
	}
	m.g = g
	s.counts["state round-trips"]++
}

// opProposeUpdate has a member whose leaf no pending proposal concerns
// propose an Update; every other member receives it.
func (s *simulation) opProposeUpdate() {
	m := s.pickOther(nil, func(m *simMember) bool { return !s.touched[m.g.OwnLeafIndex()] })
	if m == nil {
		return
	}
	msg, err := m.g.ProposeUpdate(nil)
	s.check(err, "propose update")
	s.touched[m.g.OwnLeafIndex()] = true
	s.broadcastProposal(m, msg, ProposalTypeUpdate)
}

// opProposeRemove has a member propose removing another one.
func (s *simulation) opProposeRemove() {
	from := s.pick()
	target := s.pickOther(from, func(m *simMember) bool { return !s.touched[m.g.OwnLeafIndex()] })
	if target == nil || len(s.members)-len(s.removals) <= 2 {
		return
	}
	msg, err := from.g.ProposeRemove(target.g.OwnLeafIndex())
	s.check(err, "propose remove")
	s.touched[target.g.OwnLeafIndex()] = true
	s.removals = append(s.removals, target.g.OwnLeafIndex())
	s.broadcastProposal(from, msg, ProposalTypeRemove)
}

// opProposeAdd has a member propose adding a new client.
func (s *simulation) opProposeAdd() {
	from := s.pick()
	j := s.newJoiner()
	msg, err := from.g.ProposeAdd(j.bundle.KeyPackage)
	s.check(err, "propose add")
	s.propAdds = append(s.propAdds, j)
	s.broadcastProposal(from, msg, ProposalTypeAdd)
}

func (s *simulation) broadcastProposal(from *simMember, msg *MLSMessage, t ProposalType) {
	b := encodeMsg(s, msg)
	for _, r := range s.others(from) {
		pm := s.process(r, b)
		if pm.ContentType != ContentTypeProposal || pm.Proposal.Type != t || pm.Sender.LeafIndex != from.g.OwnLeafIndex() {
			s.fatalf("client %d: proposal processed as %+v", r.id, pm)
		}
	}
	s.nProps++
	s.counts["proposals "+t.String()]++
}

// simCommit describes a commit the simulation makes.
type simCommit struct {
	by             *simMember
	adds           []*simJoiner
	removes        []*simMember
	includePending bool
	forcePath      bool
}

func (s *simulation) opCommitEmpty() {
	s.commit(&simCommit{by: s.pick(), includePending: s.nProps > 0 && s.rng.IntN(2) == 0})
}

// opCommitPending commits the queued proposals by reference, by a random
// member (usually not their proposer), sometimes with more by value.
func (s *simulation) opCommitPending() {
	c := &simCommit{by: s.pick(), includePending: true, forcePath: s.rng.IntN(4) == 0}
	if s.rng.IntN(3) == 0 && len(s.members)+len(s.propAdds) < s.p.maxMembers {
		c.adds = []*simJoiner{s.newJoiner()}
	}
	s.commit(c)
}

func (s *simulation) opCommitAdd() {
	room := s.p.maxMembers - len(s.members) - len(s.propAdds)
	c := &simCommit{by: s.pick(), includePending: s.nProps > 0 && s.rng.IntN(2) == 0, forcePath: s.rng.IntN(3) == 0}
	if !c.includePending {
		room = s.p.maxMembers - len(s.members)
	}
	for range 1 + s.rng.IntN(min(room, 4)) {
		c.adds = append(c.adds, s.newJoiner())
	}
	s.commit(c)
}

func (s *simulation) opCommitRemove() {
	c := &simCommit{by: s.pick(), includePending: s.nProps > 0 && s.rng.IntN(2) == 0}
	left := len(s.members) - 1
	if c.includePending {
		left -= len(s.removals)
	}
	for range 1 + s.rng.IntN(3) {
		m := s.pickOther(c.by, func(m *simMember) bool {
			return !slices.Contains(c.removes, m) && (!c.includePending || !s.touched[m.g.OwnLeafIndex()])
		})
		if m == nil || left <= 1 {
			break
		}
		c.removes = append(c.removes, m)
		left--
	}
	if len(c.removes) == 0 {
		return
	}
	s.commit(c)
}

// commit has c.by create the commit, delivers it to every other member,
// merges it everywhere, checks what each member staged, then lets the
// added clients join from the Welcome.
func (s *simulation) commit(c *simCommit) {
	by := c.by
	opts := CommitOptions{IncludePending: c.includePending, ForcePath: c.forcePath,
		RatchetTreeInWelcome: s.rng.IntN(2) == 0, AuthenticatedData: fmt.Appendf(nil, "op %d", s.op)}
	for _, j := range c.adds {
		opts.Adds = append(opts.Adds, j.bundle.KeyPackage)
	}
	for _, m := range c.removes {
		opts.Removes = append(opts.Removes, m.g.OwnLeafIndex())
	}
	removed, joiners := s.expectedChanges(c)
	res, err := by.g.Commit(opts)
	s.check(err, fmt.Sprintf("client %d: commit", by.id))
	b := encodeMsg(s, res.Commit)
	for _, m := range s.others(by) {
		pm := s.process(m, b)
		s.checkStaged(m, pm, by, removed, len(joiners))
		s.check(m.g.MergeStagedCommit(pm.Commit), "merge staged commit")
	}
	s.mergeOwn(by, b)
	s.counts[s.commitKind(c, len(joiners), len(removed))]++
	s.counts["members added"] += len(joiners)
	s.counts["members removed"] += len(removed)
	s.dropRemoved(removed)
	s.deliverLate(removed)
	s.join(by, res, joiners, opts.RatchetTreeInWelcome)
	s.resetEpoch()
	s.checkAgreement()
}

// expectedChanges returns the leaves a commit will remove and the clients
// it will add.
func (s *simulation) expectedChanges(c *simCommit) (map[LeafIndex]bool, []*simJoiner) {
	removed := map[LeafIndex]bool{}
	for _, m := range c.removes {
		removed[m.g.OwnLeafIndex()] = true
	}
	var joiners []*simJoiner
	if c.includePending {
		for _, l := range s.removals {
			if l != c.by.g.OwnLeafIndex() {
				removed[l] = true
			}
		}
		joiners = append(joiners, s.propAdds...)
	}
	return removed, append(joiners, c.adds...)
}

func (s *simulation) commitKind(c *simCommit, adds, removes int) string {
	switch {
	case c.includePending && s.nProps > 0:
		return "commits by reference"
	case adds > 0 && removes == 0 && !c.forcePath:
		return "commits add-only (no path)"
	case adds == 0 && removes == 0:
		return "commits path-only"
	}
	return "commits by value with path"
}

// checkStaged checks what member m staged for the commit of by.
func (s *simulation) checkStaged(m *simMember, pm *ProcessedMessage, by *simMember, removed map[LeafIndex]bool, adds int) {
	sc := pm.Commit
	if pm.ContentType != ContentTypeCommit || sc == nil {
		s.fatalf("client %d: commit processed as %v", m.id, pm.ContentType)
	}
	if sc.SelfRemoved {
		// A member removed by the commit stages only its removal.
		adds = len(sc.AddedLeaves)
	}
	if sc.Sender.LeafIndex != by.g.OwnLeafIndex() || len(sc.AddedLeaves) != adds || len(sc.RemovedLeaves) != len(removed) {
		s.fatalf("client %d: staged commit from leaf %d adds %d removes %d, want from %d adds %d removes %d",
			m.id, sc.Sender.LeafIndex, len(sc.AddedLeaves), len(sc.RemovedLeaves), by.g.OwnLeafIndex(), adds, len(removed))
	}
	for _, r := range sc.RemovedLeaves {
		if !removed[r.Index] {
			s.fatalf("client %d: commit removes leaf %d unexpectedly", m.id, r.Index)
		}
	}
	if sc.SelfRemoved != removed[m.g.OwnLeafIndex()] {
		s.fatalf("client %d: SelfRemoved = %v", m.id, sc.SelfRemoved)
	}
}

// mergeOwn merges the committer's pending commit: directly, or (sometimes
// after a state round-trip) by processing its echo.
func (s *simulation) mergeOwn(by *simMember, b []byte) {
	if s.rng.IntN(4) == 0 {
		s.roundTrip(by)
	}
	if s.rng.IntN(2) == 0 {
		s.check(by.g.MergePendingCommit(), "merge pending commit")
		return
	}
	pm := s.process(by, b)
	if pm.Commit == nil {
		s.fatalf("client %d: own commit echo not staged", by.id)
	}
	s.check(by.g.MergeStagedCommit(pm.Commit), "merge own echo")
	s.counts["own commit echoes"]++
}

func (s *simulation) dropRemoved(removed map[LeafIndex]bool) {
	var keep []*simMember
	for _, m := range s.members {
		if !removed[m.g.OwnLeafIndex()] {
			keep = append(keep, m)
			continue
		}
		if m.g.Active() {
			s.fatalf("client %d is still active after its removal", m.id)
		}
		if _, err := m.g.Encrypt([]byte("x"), nil); err == nil {
			s.fatalf("removed client %d can still encrypt", m.id)
		}
	}
	s.members = keep
}

// deliverLate delivers the messages held back in the epoch just ended to
// their recipients still in the group (RFC 9420 §15.3).
func (s *simulation) deliverLate(removed map[LeafIndex]bool) {
	for _, l := range s.late {
		for _, r := range l.to {
			if removed[r.g.OwnLeafIndex()] || !r.g.Active() {
				continue
			}
			s.checkApp(r, l.msg, l.text, l.leaf, l.epoch)
			s.counts["app late deliveries"]++
		}
	}
}

// join lets the clients the commit added join from its Welcome (sent as an
// MLSMessage), with the tree in the Welcome or out of band.
func (s *simulation) join(by *simMember, res *CommitResult, joiners []*simJoiner, treeInWelcome bool) {
	if len(joiners) == 0 {
		if res.Welcome != nil {
			s.fatalf("a welcome for a commit without adds")
		}
		return
	}
	wb := encodeMsg(s, &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatWelcome, Welcome: res.Welcome})
	var tree []byte
	if !treeInWelcome {
		var err error
		tree, err = by.g.RatchetTree()
		s.check(err, "ratchet tree")
	}
	for _, j := range joiners {
		wm, err := ParseMLSMessage(wb)
		s.check(err, "parse welcome")
		m := &simMember{id: j.id, sigPriv: j.sigPriv, sigPub: j.sigPub, cfg: s.config()}
		m.g, err = JoinFromWelcome(m.cfg, wm.Welcome, j.bundle, tree)
		if err != nil {
			s.fatalf("client %d: join: %v", j.id, err)
		}
		s.members = append(s.members, m)
	}
	s.peak = max(s.peak, len(s.members))
}

// checkAgreement checks that every member is in the same epoch with the
// same epoch authenticator, tree hash and membership, and that the
// membership is the simulation's.
func (s *simulation) checkAgreement() {
	ref := s.members[0].g
	for _, m := range s.members {
		g := m.g
		if g.Epoch() != ref.Epoch() || !bytes.Equal(g.EpochAuthenticator(), ref.EpochAuthenticator()) ||
			!bytes.Equal(g.TreeHash(), ref.TreeHash()) {
			s.fatalf("client %d disagrees with client %d in epoch %d/%d", m.id, s.members[0].id, g.Epoch(), ref.Epoch())
		}
	}
	want := map[LeafIndex][]byte{}
	for _, m := range s.members {
		want[m.g.OwnLeafIndex()] = m.sigPub
	}
	got := ref.Members()
	if len(got) != len(want) {
		s.fatalf("group has %d members, simulation %d", len(got), len(want))
	}
	for _, mb := range got {
		if !bytes.Equal(want[mb.Index], mb.LeafNode.SignatureKey) {
			s.fatalf("leaf %d holds an unexpected member", mb.Index)
		}
	}
	s.trace.Write(ref.EpochAuthenticator())
	s.counts["epochs"]++
}

// finish commits what is still pending and checks a last round of
// messages from every member.
func (s *simulation) finish() {
	s.commit(&simCommit{by: s.pick(), includePending: s.nProps > 0})
	for _, m := range s.members {
		s.msgSeq++
		text := fmt.Sprintf("final message from client %d", m.id)
		msg, err := m.g.Encrypt([]byte(text), nil)
		s.check(err, "encrypt")
		b := encodeMsg(s, msg)
		for _, r := range s.others(m) {
			s.checkApp(r, b, text, m.g.OwnLeafIndex(), m.g.Epoch())
		}
	}
}

func (s *simulation) countSummary() string {
	keys := make([]string, 0, len(s.counts))
	for k := range s.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "\n  %-28s %6d", k, s.counts[k])
		if d, ok := s.spent[strings.TrimPrefix(k, "op ")]; ok && strings.HasPrefix(k, "op ") {
			fmt.Fprintf(&sb, "  %8.2fs", d.Seconds())
		}
	}
	return sb.String()
}
