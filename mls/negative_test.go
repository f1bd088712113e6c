package mls

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestNegative has a malicious but authenticated member (bob) send forged
// or tampered handshake and application messages to an honest member
// (alice), and checks for each that alice rejects it with a
// *ValidationError naming the RFC 9420 rule, that her epoch, epoch
// authenticator and tree hash are unchanged, and that she then processes
// the next valid commit and agrees with everyone else.
//
// Bob signs everything with his real key and protects it with the real
// epoch keys (membership tag, secret tree), so only the rule under test is
// broken. Forged commits carry a zero confirmation tag: every rule tested
// here must be checked before the confirmation tag is (except the test of
// the tag itself, which uses an honest commit).
func TestNegative(t *testing.T) {
	f := newNegFixture(t, MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519)
	for _, tc := range negCases() {
		t.Run(tc.name, func(t *testing.T) {
			before := negSnapshot(f.alice.g)
			msg := tc.build(t, f)
			b, err := msg.Bytes()
			if err != nil {
				t.Fatalf("encode forged message: %v", err)
			}
			parsed, err := ParseMLSMessage(b)
			if err != nil {
				t.Fatalf("parse forged message: %v", err)
			}
			pm, err := f.alice.g.Process(parsed)
			negCheckRejected(t, pm, err, tc.section, tc.reason)
			if after := negSnapshot(f.alice.g); after != before {
				t.Errorf("rejected message changed alice's state: %s -> %s", before, after)
			}
			f.honestCommit(t)
		})
	}
}

// negCase is one message alice must reject: section is the RFC 9420
// section the *ValidationError must cite, reason (if not empty) a word its
// Reason must contain, where the section alone is ambiguous.
type negCase struct {
	name    string
	section string
	reason  string
	build   func(t *testing.T, f *negFixture) *MLSMessage
}

func negCases() []negCase {
	return slices.Concat(negFramingCases(), negProposalListCases(), negMoreCases())
}

// negFramingCases break the framing, protection and commit processing
// rules (RFC 9420 §6, §7.9.2, §9.2, §12.4.2).
func negFramingCases() []negCase {
	flipSig := func(ac *AuthenticatedContent) { ac.Auth.Signature[0] ^= 1 }
	return []negCase{
		{"tampered signature/PublicMessage commit", "§6.1", "signature", func(t *testing.T, f *negFixture) *MLSMessage {
			return f.forge(t, WireFormatPublicMessage, nil, f.path(t), nil, flipSig)
		}},
		{"tampered signature/PrivateMessage commit", "§6.1", "signature", func(t *testing.T, f *negFixture) *MLSMessage {
			return f.forge(t, WireFormatPrivateMessage, nil, f.path(t), nil, flipSig)
		}},
		{"tampered signature/PrivateMessage application", "§6.1", "signature", func(t *testing.T, f *negFixture) *MLSMessage {
			return f.forgeApp(t, nil, flipSig)
		}},
		{"wrong membership tag", "§6.2", "membership", func(t *testing.T, f *negFixture) *MLSMessage {
			msg := f.forge(t, WireFormatPublicMessage, nil, f.path(t), nil, nil)
			msg.PublicMessage.MembershipTag[0] ^= 1
			return msg
		}},
		{"wrong epoch/PublicMessage commit", "§12.4.2", "epoch", func(t *testing.T, f *negFixture) *MLSMessage {
			return f.forge(t, WireFormatPublicMessage, nil, f.path(t), func(c *FramedContent) { c.Epoch++ }, nil)
		}},
		{"wrong epoch/PrivateMessage commit", "§12.4.2", "epoch", func(t *testing.T, f *negFixture) *MLSMessage {
			return f.forge(t, WireFormatPrivateMessage, nil, f.path(t), func(c *FramedContent) { c.Epoch++ }, nil)
		}},
		{"wrong epoch/application message", "§6", "epoch", func(t *testing.T, f *negFixture) *MLSMessage {
			return f.forgeApp(t, func(c *FramedContent) { c.Epoch++ }, nil)
		}},
		{"replayed application message generation", "§9.2", "generation", func(t *testing.T, f *negFixture) *MLSMessage {
			msg, err := f.bob.g.Encrypt([]byte("once"), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := msg.Bytes()
			first, _ := ParseMLSMessage(b)
			if pm, err := f.alice.g.Process(first); err != nil || string(pm.ApplicationData) != "once" {
				t.Fatalf("first delivery: %v", err)
			}
			return msg
		}},
		{"invalid parent hash in the UpdatePath", "§7.9.2", "parent hash", func(t *testing.T, f *negFixture) *MLSMessage {
			path := f.path(t)
			ln := &path.LeafNode
			ln.ParentHash = bytes.Clone(ln.ParentHash)
			ln.ParentHash[0] ^= 1
			s := f.bob.g.s
			if err := ln.sign(nil, s.ctx.CipherSuite, s.sigPriv, s.ctx.GroupID, uint32(s.keys.leaf)); err != nil {
				t.Fatal(err)
			}
			return f.forge(t, WireFormatPublicMessage, nil, path, nil, nil)
		}},
		{"bad confirmation tag", "§12.4.2", "confirmation tag", func(t *testing.T, f *negFixture) *MLSMessage {
			// An honest commit of bob's (a PublicMessage), with its tag
			// altered and the membership tag recomputed over it.
			res, err := f.bob.g.Commit(CommitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			f.bob.g.ClearPendingCommit()
			pm := res.Commit.PublicMessage
			pm.Auth.ConfirmationTag[0] ^= 1
			s := f.bob.g.s
			if pm.MembershipTag, err = membershipTag(s.ctx.CipherSuite, s.secrets.membershipKey, pm.authenticatedContent(), &s.ctx); err != nil {
				t.Fatal(err)
			}
			return res.Commit
		}},
		// Controls: forged commits that break no rule fail only on their
		// zero confirmation tag, so the forgery itself is sound.
		{"control: forged path-only commit", "§12.4.2", "confirmation tag", func(t *testing.T, f *negFixture) *MLSMessage {
			return f.forge(t, WireFormatPublicMessage, nil, f.path(t), nil, nil)
		}},
		{"control: forged add-only commit", "§12.4.2", "confirmation tag", func(t *testing.T, f *negFixture) *MLSMessage {
			p := newNegKeyPackages().fresh("control")(t, f)
			return f.forge(t, WireFormatPrivateMessage, []ProposalOrRef{{Proposal: &p}}, nil, nil, nil)
		}},
		{"unknown proposal reference", "§12.4.2", "unknown", func(t *testing.T, f *negFixture) *MLSMessage {
			ref := bytes.Repeat([]byte{0xaa}, f.cs.Nh())
			return f.forge(t, WireFormatPublicMessage, []ProposalOrRef{{Reference: ref}}, f.path(t), nil, nil)
		}},
	}
}

// negProposalListCases are commits whose proposal list a malicious
// committer built against RFC 9420 §12.2 (and the proposal rules of
// §12.1, §10.1, §7.3 and the path rule of §12.4).
func negProposalListCases() []negCase {
	public := func(props func(t *testing.T, f *negFixture) []ProposalOrRef, withPath bool) func(t *testing.T, f *negFixture) *MLSMessage {
		return func(t *testing.T, f *negFixture) *MLSMessage {
			var path *UpdatePath
			if withPath {
				path = f.path(t)
			}
			return f.forge(t, WireFormatPublicMessage, props(t, f), path, nil, nil)
		}
	}
	val := func(ps ...func(t *testing.T, f *negFixture) Proposal) func(t *testing.T, f *negFixture) []ProposalOrRef {
		return func(t *testing.T, f *negFixture) []ProposalOrRef {
			out := make([]ProposalOrRef, len(ps))
			for i, p := range ps {
				pr := p(t, f)
				out[i] = ProposalOrRef{Proposal: &pr}
			}
			return out
		}
	}
	kp := newNegKeyPackages()
	return []negCase{
		{"§12.2 add of the same key package twice", "§12.2", "", public(val(kp.fresh("x"), kp.fresh("x")), false)},
		{"§12.2 adds of two key packages with one signature key", "§12.2", "", public(val(kp.fresh("y1"), kp.sameSigner("y1")), false)},
		{"§12.2 add of a client already in the group", "§12.2", "", public(val(kp.ofMember("carol")), false)},
		{"§12.2 remove of a blank leaf", "§12.1.3", "blank", public(val(negRemove(negBlankLeaf)), true)},
		{"§12.2 remove of a leaf outside the tree", "§12.1.3", "", public(val(negRemove(99)), true)},
		{"§12.2 remove of one leaf twice", "§12.2", "", public(val(negRemoveOf("carol"), negRemoveOf("carol")), true)},
		{"§12.2 remove of the committer", "§12.2", "", public(val(negRemoveOf("bob")), true)},
		{"§12.2 update by the committer by value", "§12.2", "", public(val(negOwnUpdate), true)},
		{"§12.2 update by the committer by reference", "§12.2", "", public(func(t *testing.T, f *negFixture) []ProposalOrRef {
			return []ProposalOrRef{{Reference: f.proposeUpdate(t, f.bob)}}
		}, true)},
		{"§12.2 update and remove of one leaf", "§12.2", "", public(func(t *testing.T, f *negFixture) []ProposalOrRef {
			rm := negRemoveOf("carol")(t, f)
			return []ProposalOrRef{{Reference: f.proposeUpdate(t, f.carol)}, {Proposal: &rm}}
		}, true)},
		{"§12.2 two group context extensions proposals", "§12.2", "", public(val(negGCE, negGCE), true)},
		{"§12.2 one pre-shared key twice", "§12.2", "", public(val(negPSK(1), negPSK(1)), false)},
		{"§12.2 reinit with another proposal", "§12.2", "", public(val(negReInit, kp.fresh("z")), false)},
		{"§12.2 external init in a member commit", "§12.2", "", public(val(negExternalInit), true)},
		{"§12.4 path missing/empty commit", "§12.4", "path", public(val(), false)},
		{"§12.4 path missing/remove", "§12.4", "path", public(val(negRemoveOf("dave")), false)},
		{"§12.4 path missing/update by reference", "§12.4", "path", public(func(t *testing.T, f *negFixture) []ProposalOrRef {
			return []ProposalOrRef{{Reference: f.proposeUpdate(t, f.carol)}}
		}, false)},
		{"§12.4 path missing/group context extensions", "§12.4", "path", public(val(negGCE), false)},
		{"§10.1 add with a bad key package signature", "§10.1", "signature", public(val(kp.badSignature), false)},
		{"§10.1 add with init_key equal to encryption_key", "§10.1", "init_key", public(val(kp.initIsEncryption), false)},
		{"§7.3 add with an expired key package", "§7.3", "expired", public(val(kp.expired), false)},
		{"§7.3 add with a bad leaf node signature", "§7.3", "signature", public(val(kp.badLeafSignature), false)},
	}
}

// negNow is the clock of every member: key package lifetimes are checked.
var negNow = time.Unix(1_750_000_000, 0)

// negBlankLeaf is the leaf the fixture leaves blank (erin's, removed).
const negBlankLeaf = 2

// negMember is one client of the fixture.
type negMember struct {
	name    string
	sigPriv []byte
	bundle  *KeyPackageBundle
	g       *Group
}

// negFixture is a group of alice (honest receiver), bob (malicious
// committer), carol and dave, with leaf 2 blank.
type negFixture struct {
	cs                      CipherSuite
	cfg                     Config
	alice, bob, carol, dave *negMember
}

func (f *negFixture) all() []*negMember { return []*negMember{f.alice, f.bob, f.carol, f.dave} }

func (f *negFixture) byName(name string) *negMember {
	for _, m := range f.all() {
		if m.name == name {
			return m
		}
	}
	panic("no member " + name)
}

func newNegMember(t *testing.T, cs CipherSuite, name string) *negMember {
	t.Helper()
	priv, _, err := cs.GenerateSignatureKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewKeyPackageBundle(nil, cs, priv, NewBasicCredential([]byte(name)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &negMember{name: name, sigPriv: priv, bundle: b}
}

// newNegFixture builds the group: alice adds bob, erin, carol and dave,
// then removes erin so that leaf 2 is blank.
func newNegFixture(t *testing.T, cs CipherSuite) *negFixture {
	t.Helper()
	psk := func(id []byte) ([]byte, bool) { return []byte("external psk"), string(id) == "psk" }
	f := &negFixture{cs: cs, cfg: Config{Now: func() time.Time { return negNow }, ExternalPSK: psk}}
	f.alice, f.bob, f.carol, f.dave = newNegMember(t, cs, "alice"), newNegMember(t, cs, "bob"),
		newNegMember(t, cs, "carol"), newNegMember(t, cs, "dave")
	erin := newNegMember(t, cs, "erin")
	var err error
	if f.alice.g, err = NewGroup(f.cfg, cs, []byte("negative tests"), f.alice.sigPriv, NewBasicCredential([]byte("alice")), nil, nil); err != nil {
		t.Fatal(err)
	}
	res, err := f.alice.g.Commit(CommitOptions{Adds: []KeyPackage{f.bob.bundle.KeyPackage, erin.bundle.KeyPackage,
		f.carol.bundle.KeyPackage, f.dave.bundle.KeyPackage}, RatchetTreeInWelcome: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.alice.g.MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*negMember{f.bob, f.carol, f.dave} {
		cfg := f.cfg
		if m == f.bob {
			// Bob's honest commits are PublicMessages, which the test of
			// the confirmation tag alters.
			cfg.HandshakeWireFormat = WireFormatPublicMessage
		}
		if m.g, err = JoinFromWelcome(cfg, res.Welcome, m.bundle, nil); err != nil {
			t.Fatalf("%s: join: %v", m.name, err)
		}
	}
	if f.bob.g.OwnLeafIndex() != 1 || f.carol.g.OwnLeafIndex() != 3 {
		t.Fatalf("unexpected leaves: bob %d carol %d", f.bob.g.OwnLeafIndex(), f.carol.g.OwnLeafIndex())
	}
	f.commit(t, f.alice, CommitOptions{Removes: []LeafIndex{negBlankLeaf}})
	return f
}

// commit has from commit opts, delivers the commit to every other member
// and merges it everywhere, then checks they all agree.
func (f *negFixture) commit(t *testing.T, from *negMember, opts CommitOptions) {
	t.Helper()
	res, err := from.g.Commit(opts)
	if err != nil {
		t.Fatalf("%s: commit: %v", from.name, err)
	}
	b, err := res.Commit.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range f.all() {
		if m == from {
			continue
		}
		msg, _ := ParseMLSMessage(b)
		pm, err := m.g.Process(msg)
		if err != nil {
			t.Fatalf("%s: process the valid commit of %s: %v", m.name, from.name, err)
		}
		if err := m.g.MergeStagedCommit(pm.Commit); err != nil {
			t.Fatalf("%s: merge: %v", m.name, err)
		}
	}
	if err := from.g.MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	for _, m := range f.all() {
		if negSnapshot(m.g) != negSnapshot(f.alice.g) {
			t.Fatalf("%s disagrees with alice after a valid commit", m.name)
		}
	}
}

// honestCommit is the valid commit that follows each rejected message:
// carol updates her path (a PrivateMessage, as configured).
func (f *negFixture) honestCommit(t *testing.T) {
	t.Helper()
	f.commit(t, f.carol, CommitOptions{})
}

// negState is what a rejected message must not change.
type negState struct {
	epoch    uint64
	auth     string
	treeHash string
}

func (s negState) String() string { return fmt.Sprintf("epoch %d auth %.8x", s.epoch, s.auth) }

func negSnapshot(g *Group) negState {
	return negState{epoch: g.Epoch(), auth: string(g.EpochAuthenticator()), treeHash: string(g.TreeHash())}
}

// negCheckRejected asserts err is a *ValidationError citing section (with
// want in its reason, if set).
func negCheckRejected(t *testing.T, pm *ProcessedMessage, err error, section, want string) {
	t.Helper()
	var ve *ValidationError
	switch {
	case err == nil:
		t.Fatalf("accepted (as %v); want a *ValidationError citing %s", pm.ContentType, section)
	case !errors.As(err, &ve):
		t.Fatalf("got %v (%T); want a *ValidationError citing %s", err, err, section)
	case ve.Section != section:
		t.Fatalf("got %v; want it to cite %s", err, section)
	case want != "" && !strings.Contains(ve.Reason, want):
		t.Fatalf("got %v; want a reason about %q", err, want)
	}
}

// forge builds a commit from bob covering props with path, signed with
// bob's key and protected in wire format wf with the epoch's keys, after
// edit changes the content and tamper the signed content. Its confirmation
// tag is all zeros.
func (f *negFixture) forge(t *testing.T, wf WireFormat, props []ProposalOrRef, path *UpdatePath,
	edit func(*FramedContent), tamper func(*AuthenticatedContent)) *MLSMessage {
	t.Helper()
	s := f.bob.g.s
	content := &FramedContent{GroupID: s.ctx.GroupID, Epoch: s.ctx.Epoch, Sender: Sender{Type: SenderTypeMember, LeafIndex: s.keys.leaf},
		AuthenticatedData: []byte{}, ContentType: ContentTypeCommit, Commit: &Commit{Proposals: props, Path: path}}
	if props == nil {
		content.Commit.Proposals = []ProposalOrRef{}
	}
	return f.sign(t, f.bob, wf, content, edit, tamper, make([]byte, f.cs.Nh()))
}

// forgeApp builds an application message from bob the same way.
func (f *negFixture) forgeApp(t *testing.T, edit func(*FramedContent), tamper func(*AuthenticatedContent)) *MLSMessage {
	t.Helper()
	s := f.bob.g.s
	content := &FramedContent{GroupID: s.ctx.GroupID, Epoch: s.ctx.Epoch, Sender: Sender{Type: SenderTypeMember, LeafIndex: s.keys.leaf},
		AuthenticatedData: []byte{}, ContentType: ContentTypeApplication, ApplicationData: []byte("forged")}
	return f.sign(t, f.bob, WireFormatPrivateMessage, content, edit, tamper, nil)
}

// sign signs content as member from and protects it in wire format wf
// with the epoch's keys, after edit changes the content and tamper the
// signed content; confTag is the confirmation tag (nil unless a commit).
func (f *negFixture) sign(t *testing.T, from *negMember, wf WireFormat, content *FramedContent, edit func(*FramedContent),
	tamper func(*AuthenticatedContent), confTag []byte) *MLSMessage {
	t.Helper()
	s := from.g.s
	if edit != nil {
		edit(content)
	}
	ac, err := signFramedContent(nil, f.cs, s.sigPriv, wf, content, &s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	ac.Auth.ConfirmationTag = confTag
	if tamper != nil {
		tamper(ac)
	}
	msg := &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: wf}
	if wf == WireFormatPublicMessage {
		msg.PublicMessage, err = protectPublic(f.cs, ac, &s.ctx, s.secrets.membershipKey)
	} else {
		msg.PrivateMessage, err = protectPrivate(nil, s.protection(0), ac)
	}
	if err != nil {
		t.Fatalf("protect forged message: %v", err)
	}
	return msg
}

// path returns a well-formed UpdatePath of bob's for the current tree (as
// an empty commit would carry), without changing bob's state.
func (f *negFixture) path(t *testing.T) *UpdatePath {
	t.Helper()
	s := f.bob.g.s
	tree, keys := s.tree.clone(), s.keys.clone()
	provisional := func(treeHash []byte) ([]byte, error) {
		gc := cloneGroupContext(&s.ctx)
		gc.Epoch++
		gc.TreeHash = treeHash
		return encode(&gc)
	}
	path, _, err := tree.createUpdatePath(nil, keys, nil, s.sigPriv, s.ctx.GroupID, nil, provisional)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// proposeUpdate has m propose an Update, delivered to every other member,
// and returns its reference.
func (f *negFixture) proposeUpdate(t *testing.T, m *negMember) ProposalRef {
	t.Helper()
	msg, err := m.g.ProposeUpdate(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := msg.Bytes()
	var ref ProposalRef
	for _, r := range f.all() {
		if r == m {
			continue
		}
		in, _ := ParseMLSMessage(b)
		pm, err := r.g.Process(in)
		if err != nil {
			t.Fatalf("%s: process update proposal: %v", r.name, err)
		}
		ref = pm.ProposalRef
	}
	return ref
}

func negRemove(l uint32) func(*testing.T, *negFixture) Proposal {
	return func(*testing.T, *negFixture) Proposal {
		return Proposal{Type: ProposalTypeRemove, Remove: &RemoveProposal{Removed: l}}
	}
}

func negRemoveOf(name string) func(*testing.T, *negFixture) Proposal {
	return func(t *testing.T, f *negFixture) Proposal {
		return negRemove(uint32(f.byName(name).g.OwnLeafIndex()))(t, f)
	}
}

// negOwnUpdate is an Update proposal of bob's own leaf, as bob would
// propose it.
func negOwnUpdate(t *testing.T, f *negFixture) Proposal {
	s := f.bob.g.s
	ln := *s.tree.leaf(s.keys.leaf)
	_, pub, err := f.cs.GenerateHPKEKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	ln.EncryptionKey, ln.Source, ln.Lifetime, ln.ParentHash = pub, LeafNodeSourceUpdate, nil, nil
	if err := ln.sign(nil, f.cs, s.sigPriv, s.ctx.GroupID, uint32(s.keys.leaf)); err != nil {
		t.Fatal(err)
	}
	return Proposal{Type: ProposalTypeUpdate, Update: &UpdateProposal{LeafNode: ln}}
}

func negGCE(*testing.T, *negFixture) Proposal {
	return Proposal{Type: ProposalTypeGroupContextExtensions, GroupContextExtensions: &GroupContextExtensionsProposal{Extensions: []Extension{}}}
}

func negPSK(nonce byte) func(*testing.T, *negFixture) Proposal {
	return func(_ *testing.T, f *negFixture) Proposal {
		return Proposal{Type: ProposalTypePSK, PreSharedKey: &PreSharedKeyProposal{PSK: PreSharedKeyID{
			Type: PSKTypeExternal, PSKID: []byte("psk"), Nonce: bytes.Repeat([]byte{nonce}, f.cs.Nh())}}}
	}
}

func negReInit(_ *testing.T, f *negFixture) Proposal {
	return Proposal{Type: ProposalTypeReInit, ReInit: &ReInitProposal{GroupID: []byte("next group"),
		Version: ProtocolVersionMLS10, CipherSuite: f.cs, Extensions: []Extension{}}}
}

func negExternalInit(t *testing.T, f *negFixture) Proposal {
	_, pub, err := f.cs.GenerateHPKEKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	return Proposal{Type: ProposalTypeExternalInit, ExternalInit: &ExternalInitProposal{KEMOutput: pub}}
}

// negKeyPackages makes the key packages of Add proposals: fresh clients'
// (by name, so a case can use one twice), and invalid ones.
type negKeyPackages struct {
	signers map[string][]byte
	pkgs    map[string]KeyPackage
}

func newNegKeyPackages() *negKeyPackages {
	return &negKeyPackages{signers: map[string][]byte{}, pkgs: map[string]KeyPackage{}}
}

func (k *negKeyPackages) add(t *testing.T, f *negFixture, priv []byte, name string, opts *KeyPackageOptions) Proposal {
	kp, _, err := NewKeyPackage(nil, f.cs, priv, NewBasicCredential([]byte(name)), opts)
	if err != nil {
		t.Fatal(err)
	}
	return Proposal{Type: ProposalTypeAdd, Add: &AddProposal{KeyPackage: *kp}}
}

// fresh is the key package of a new client name; the same one every call.
func (k *negKeyPackages) fresh(name string) func(*testing.T, *negFixture) Proposal {
	return func(t *testing.T, f *negFixture) Proposal {
		if kp, ok := k.pkgs[name]; ok {
			return Proposal{Type: ProposalTypeAdd, Add: &AddProposal{KeyPackage: kp}}
		}
		priv, _, err := f.cs.GenerateSignatureKeyPair(nil)
		if err != nil {
			t.Fatal(err)
		}
		k.signers[name] = priv
		p := k.add(t, f, priv, name, nil)
		k.pkgs[name] = p.Add.KeyPackage
		return p
	}
}

// sameSigner is another key package of the client fresh(name) made: new
// init and encryption keys, the same signature key.
func (k *negKeyPackages) sameSigner(name string) func(*testing.T, *negFixture) Proposal {
	return func(t *testing.T, f *negFixture) Proposal {
		return k.add(t, f, k.signers[name], name, nil)
	}
}

// ofMember is a new key package of an existing member.
func (k *negKeyPackages) ofMember(name string) func(*testing.T, *negFixture) Proposal {
	return func(t *testing.T, f *negFixture) Proposal {
		return k.add(t, f, f.byName(name).sigPriv, name, nil)
	}
}

func (k *negKeyPackages) badSignature(t *testing.T, f *negFixture) Proposal {
	p := k.fresh("bad signature")(t, f)
	kp := p.Add.KeyPackage
	kp.Signature = bytes.Clone(kp.Signature)
	kp.Signature[0] ^= 1
	p.Add = &AddProposal{KeyPackage: kp}
	return p
}

func (k *negKeyPackages) badLeafSignature(t *testing.T, f *negFixture) Proposal {
	priv, _, err := f.cs.GenerateSignatureKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := k.add(t, f, priv, "bad leaf signature", nil)
	kp := &p.Add.KeyPackage
	kp.LeafNode.Signature = bytes.Clone(kp.LeafNode.Signature)
	kp.LeafNode.Signature[0] ^= 1
	// Re-sign the key package over the altered leaf, so only the leaf's
	// signature is wrong.
	tbs, err := kp.tbs()
	if err != nil {
		t.Fatal(err)
	}
	if kp.Signature, err = f.cs.SignWithLabel(nil, priv, "KeyPackageTBS", tbs); err != nil {
		t.Fatal(err)
	}
	return p
}

// initIsEncryption is a validly signed key package whose init_key is its
// leaf's encryption_key.
func (k *negKeyPackages) initIsEncryption(t *testing.T, f *negFixture) Proposal {
	priv, _, err := f.cs.GenerateSignatureKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := k.add(t, f, priv, "init is encryption", nil)
	kp := &p.Add.KeyPackage
	kp.InitKey = bytes.Clone(kp.LeafNode.EncryptionKey)
	if err := kp.sign(nil, priv); err != nil {
		t.Fatal(err)
	}
	return p
}

// expired is a validly signed key package whose lifetime ended before
// negNow.
func (k *negKeyPackages) expired(t *testing.T, f *negFixture) Proposal {
	priv, _, err := f.cs.GenerateSignatureKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	end := uint64(negNow.Add(-time.Hour).Unix())
	return k.add(t, f, priv, "expired", &KeyPackageOptions{Lifetime: Lifetime{NotBefore: end - 86400, NotAfter: end}})
}

// negMoreCases are further rules of RFC 9420 §6, §7.3, §12.1 and §12.4.2
// that a malicious member can break.
func negMoreCases() []negCase {
	withPath := func(edit func(t *testing.T, f *negFixture, p *UpdatePath)) func(t *testing.T, f *negFixture) *MLSMessage {
		return func(t *testing.T, f *negFixture) *MLSMessage {
			p := f.path(t)
			edit(t, f, p)
			return f.forge(t, WireFormatPublicMessage, nil, p, nil, nil)
		}
	}
	return []negCase{
		{"§7.3 path leaf node with source key_package", "§7.3", "source", withPath(func(t *testing.T, f *negFixture, p *UpdatePath) {
			p.LeafNode.Source = LeafNodeSourceKeyPackage
			p.LeafNode.Lifetime = &Lifetime{NotBefore: 0, NotAfter: ^uint64(0)}
			f.resignPathLeaf(t, p)
		})},
		{"§7.3 path leaf node reusing a member's encryption key", "§7.3", "encryption key", withPath(func(t *testing.T, f *negFixture, p *UpdatePath) {
			ln, _ := f.alice.g.Member(f.carol.g.OwnLeafIndex())
			p.LeafNode.EncryptionKey = ln.LeafNode.EncryptionKey
			f.resignPathLeaf(t, p)
		})},
		{"§12.4.2 path with a node missing", "§12.4.2", "nodes", withPath(func(t *testing.T, f *negFixture, p *UpdatePath) {
			p.Nodes = p.Nodes[:len(p.Nodes)-1]
		})},
		{"§12.4.2 path secret that does not decrypt", "§12.4.2", "decrypt", withPath(func(t *testing.T, f *negFixture, p *UpdatePath) {
			for i := range p.Nodes {
				for j := range p.Nodes[i].EncryptedPathSecret {
					ct := &p.Nodes[i].EncryptedPathSecret[j]
					ct.Ciphertext = bytes.Clone(ct.Ciphertext)
					ct.Ciphertext[0] ^= 1
				}
			}
		})},
		{"§6.1 application message from a blank leaf", "§6.1", "member", func(t *testing.T, f *negFixture) *MLSMessage {
			return f.forgeApp(t, func(c *FramedContent) { c.Sender.LeafIndex = negBlankLeaf }, nil)
		}},
		{"§6 application data in a PublicMessage", "§6", "application", func(t *testing.T, f *negFixture) *MLSMessage {
			s := f.bob.g.s
			content := FramedContent{GroupID: s.ctx.GroupID, Epoch: s.ctx.Epoch, Sender: Sender{Type: SenderTypeMember, LeafIndex: s.keys.leaf},
				AuthenticatedData: []byte{}, ContentType: ContentTypeApplication, ApplicationData: []byte("in the clear")}
			// signFramedContent refuses this; sign and tag it by hand.
			tbs, _ := encode(&framedContentTBS{WireFormat: WireFormatPublicMessage, Content: &content, Context: &s.ctx})
			sig, err := f.cs.SignWithLabel(nil, s.sigPriv, framedContentTBSLabel, tbs)
			if err != nil {
				t.Fatal(err)
			}
			ac := &AuthenticatedContent{WireFormat: WireFormatPublicMessage, Content: content, Auth: FramedContentAuthData{Signature: sig}}
			tag, err := membershipTag(f.cs, s.secrets.membershipKey, ac, &s.ctx)
			if err != nil {
				t.Fatal(err)
			}
			return &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage,
				PublicMessage: &PublicMessage{Content: content, Auth: ac.Auth, MembershipTag: tag}}
		}},
		{"§12.1 proposal for another epoch", "§12.1", "epoch", func(t *testing.T, f *negFixture) *MLSMessage {
			return f.forgeProposal(t, f.bob, negRemoveOf("dave")(t, f), func(c *FramedContent) { c.Epoch-- })
		}},
		{"§7.3 update proposal keeping its encryption key", "§7.3", "encryption key", func(t *testing.T, f *negFixture) *MLSMessage {
			s := f.carol.g.s
			ln := *s.tree.leaf(s.keys.leaf)
			ln.Source, ln.Lifetime, ln.ParentHash = LeafNodeSourceUpdate, nil, nil
			if err := ln.sign(nil, f.cs, s.sigPriv, s.ctx.GroupID, uint32(s.keys.leaf)); err != nil {
				t.Fatal(err)
			}
			return f.forgeProposal(t, f.carol, Proposal{Type: ProposalTypeUpdate, Update: &UpdateProposal{LeafNode: ln}}, nil)
		}},
		{"§10.1 add with a key package of another cipher suite", "§10.1", "cipher suite", func(t *testing.T, f *negFixture) *MLSMessage {
			other := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
			priv, _, err := other.GenerateSignatureKeyPair(nil)
			if err != nil {
				t.Fatal(err)
			}
			kp, _, err := NewKeyPackage(nil, other, priv, NewBasicCredential([]byte("other suite")), nil)
			if err != nil {
				t.Fatal(err)
			}
			return f.forgeProposal(t, f.bob, Proposal{Type: ProposalTypeAdd, Add: &AddProposal{KeyPackage: *kp}}, nil)
		}},
		{"§13.4 group context extension a member does not support", "§13.4", "support", func(t *testing.T, f *negFixture) *MLSMessage {
			ext := Extension{Type: 0xff0a, Data: []byte("x")}
			p := Proposal{Type: ProposalTypeGroupContextExtensions, GroupContextExtensions: &GroupContextExtensionsProposal{Extensions: []Extension{ext}}}
			return f.forge(t, WireFormatPublicMessage, []ProposalOrRef{{Proposal: &p}}, f.path(t), nil, nil)
		}},
		{"§12.1.8 external sender without an external_senders extension", "§12.1.8", "external", func(t *testing.T, f *negFixture) *MLSMessage {
			priv, _, err := f.cs.GenerateSignatureKeyPair(nil)
			if err != nil {
				t.Fatal(err)
			}
			s := f.alice.g.s
			content := &FramedContent{GroupID: s.ctx.GroupID, Epoch: s.ctx.Epoch, Sender: Sender{Type: SenderTypeExternal},
				AuthenticatedData: []byte{}, ContentType: ContentTypeProposal, Proposal: &Proposal{Type: ProposalTypeRemove,
					Remove: &RemoveProposal{Removed: uint32(f.dave.g.OwnLeafIndex())}}}
			ac, err := signFramedContent(nil, f.cs, priv, WireFormatPublicMessage, content, &s.ctx)
			if err != nil {
				t.Fatal(err)
			}
			pm, err := protectPublic(f.cs, ac, &s.ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			return &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage, PublicMessage: pm}
		}},
	}
}

// resignPathLeaf signs bob's edited path leaf again.
func (f *negFixture) resignPathLeaf(t *testing.T, p *UpdatePath) {
	t.Helper()
	s := f.bob.g.s
	if err := p.LeafNode.sign(nil, f.cs, s.sigPriv, s.ctx.GroupID, uint32(s.keys.leaf)); err != nil {
		t.Fatal(err)
	}
}

// forgeProposal builds a PublicMessage proposal p from member from.
func (f *negFixture) forgeProposal(t *testing.T, from *negMember, p Proposal, edit func(*FramedContent)) *MLSMessage {
	t.Helper()
	s := from.g.s
	content := &FramedContent{GroupID: s.ctx.GroupID, Epoch: s.ctx.Epoch, Sender: Sender{Type: SenderTypeMember, LeafIndex: s.keys.leaf},
		AuthenticatedData: []byte{}, ContentType: ContentTypeProposal, Proposal: &p}
	return f.sign(t, from, WireFormatPublicMessage, content, edit, nil, nil)
}

// TestNegativePadding checks that a PrivateMessage whose padding holds a
// non-zero byte is rejected as malformed (RFC 9420 §6.3.1: an ErrDecode),
// and changes nothing but the consumed key.
func TestNegativePadding(t *testing.T) {
	f := newNegFixture(t, MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519)
	s := f.bob.g.s
	content := &FramedContent{GroupID: s.ctx.GroupID, Epoch: s.ctx.Epoch, Sender: Sender{Type: SenderTypeMember, LeafIndex: s.keys.leaf},
		AuthenticatedData: []byte{}, ContentType: ContentTypeApplication, ApplicationData: []byte("padded")}
	ac, err := signFramedContent(nil, f.cs, s.sigPriv, WireFormatPrivateMessage, content, &s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := s.protection(0)
	gen, key, nonce, err := p.Tree.nextKey(uint32(s.keys.leaf), false)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := encode(&privateMessageContent{Content: &ac.Content, Auth: &ac.Auth})
	if err != nil {
		t.Fatal(err)
	}
	pt = append(pt, 0, 0, 1, 0)
	aad, _ := encode(&privateContentAAD{GroupID: content.GroupID, Epoch: content.Epoch, ContentType: content.ContentType,
		AuthenticatedData: content.AuthenticatedData})
	pm := &PrivateMessage{GroupID: content.GroupID, Epoch: content.Epoch, ContentType: content.ContentType, AuthenticatedData: content.AuthenticatedData}
	if pm.Ciphertext, err = f.cs.Seal(key, nonce, aad, pt); err != nil {
		t.Fatal(err)
	}
	if pm.EncryptedSenderData, err = p.sealSenderData(pm, &senderData{LeafIndex: s.keys.leaf, Generation: gen}); err != nil {
		t.Fatal(err)
	}
	before := negSnapshot(f.alice.g)
	got, err := f.alice.g.Process(&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPrivateMessage, PrivateMessage: pm})
	if !errors.Is(err, ErrDecode) {
		t.Fatalf("got %v, %v; want an ErrDecode", got, err)
	}
	if negSnapshot(f.alice.g) != before {
		t.Fatal("rejected message changed alice's state")
	}
	f.honestCommit(t)
}
