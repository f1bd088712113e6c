package mls

import (
	"bytes"
	"fmt"
	"slices"
)

// groupStateMagic and groupStateVersion tag the serialized group state. A
// change of the encoding bumps the version; UnmarshalGroup keeps reading
// every version it ever wrote (testdata/groupstate-v*.json are frozen
// samples of each).
//
// Version 2 keeps the leaf nodes of past epochs instead of their
// signature keys (a leaf equal to the current epoch's is written as a
// one-byte reference to it) and appends the Welcome's signer.
const (
	groupStateMagic     = "MLSG"
	groupStateVersion   = 2
	groupStateVersionV1 = 1
)

// MarshalBinary serializes the whole group state: group context, ratchet
// tree, private keys, epoch secrets, secret tree (with its ratchets and kept
// out-of-order keys), transcript hashes, queued proposals, our pending
// commit, recent resumption PSKs, kept past epochs and the Welcome's
// signer. The result holds secrets: store it encrypted. UnmarshalGroup
// restores it exactly.
func (g *Group) MarshalBinary() ([]byte, error) {
	var w Writer
	w.Raw([]byte(groupStateMagic))
	w.Uint16(groupStateVersion)
	w.Bool(g.removed)
	marshalReInit(&w, g.reinit)
	marshalEpochState(&w, g.s)
	w.Vector(func(w *Writer) {
		for _, q := range g.proposals {
			w.Opaque(q.ref)
			q.proposal.marshal(w)
			q.sender.marshal(w)
			w.Opaque(q.leafPriv)
			w.Opaque(q.msg)
		}
	})
	w.Optional(g.pending != nil, func(w *Writer) {
		w.Opaque(g.pending.msg)
		marshalStagedCommit(w, g.pending.staged)
	})
	w.Vector(func(w *Writer) {
		for _, r := range g.resumption {
			w.Uint64(r.epoch)
			w.Opaque(r.psk)
		}
	})
	w.Vector(func(w *Writer) {
		for _, p := range g.past {
			marshalPastEpoch(w, p, g.s.tree)
		}
	})
	w.Optional(g.welcomeSender != nil, func(w *Writer) {
		w.Uint32(uint32(g.welcomeSender.Index))
		g.welcomeSender.LeafNode.marshal(w)
	})
	if err := w.Err(); err != nil {
		return nil, fmt.Errorf("mls: marshal group: %w", err)
	}
	return w.Bytes(), nil
}

// UnmarshalGroup restores a group serialized by MarshalBinary, with the
// local policies of cfg. It reads every state version MarshalBinary ever
// wrote; a version 1 state (before the Welcome's signer and the leaves of
// past epochs were kept) gives a group whose WelcomeSender reports false
// and whose past epochs' messages have no ProcessedMessage.SenderLeaf.
// Malformed input gives an error wrapping ErrDecode.
func UnmarshalGroup(cfg Config, b []byte) (*Group, error) {
	r := NewReader(b)
	if string(r.Raw(len(groupStateMagic))) != groupStateMagic {
		return nil, fmt.Errorf("%w: not a serialized mls group", ErrDecode)
	}
	version := r.Uint16()
	if version != groupStateVersion && version != groupStateVersionV1 {
		return nil, fmt.Errorf("%w: group state version %d", ErrDecode, version)
	}
	g := &Group{cfg: cfg}
	g.removed = r.Bool()
	g.reinit = unmarshalReInit(r)
	g.s = unmarshalEpochState(r)
	g.proposals = unmarshalProposalQueue(r)
	if r.Optional() {
		g.pending = &pendingCommit{msg: r.Opaque()}
		g.pending.staged = unmarshalStagedCommit(r, g.s)
	}
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			g.resumption = append(g.resumption, resumptionPSK{epoch: r.Uint64(), psk: r.Opaque()})
		}
	})
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			if version == groupStateVersionV1 {
				g.past = append(g.past, unmarshalPastEpochV1(r))
			} else {
				g.past = append(g.past, unmarshalPastEpoch(r, g.s.tree))
			}
		}
	})
	if version != groupStateVersionV1 && r.Optional() {
		m := &Member{Index: LeafIndex(r.Uint32())}
		m.LeafNode.unmarshal(r)
		g.welcomeSender = m
	}
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("mls: unmarshal group: %w", err)
	}
	if err := g.restoreSigner(); err != nil {
		return nil, err
	}
	return g, nil
}

// unmarshalProposalQueue reads the proposals queued in the epoch.
func unmarshalProposalQueue(r *Reader) []*queuedProposal {
	var out []*queuedProposal
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			q := &queuedProposal{ref: r.Opaque(), proposal: new(Proposal)}
			q.proposal.unmarshal(r)
			q.sender.unmarshal(r)
			if q.leafPriv = r.Opaque(); len(q.leafPriv) == 0 {
				q.leafPriv = nil
			}
			if q.msg = r.Opaque(); len(q.msg) == 0 {
				q.msg = nil
			}
			out = append(out, q)
		}
	})
	return out
}

// restoreSigner parses our signature key once for a restored group and
// shares it with the pending commit's next epoch.
func (g *Group) restoreSigner() error {
	signer, err := g.s.signingKey()
	if err != nil {
		return fmt.Errorf("mls: unmarshal group: %w", err)
	}
	if g.pending != nil && bytes.Equal(g.pending.staged.next.sigPriv, g.s.sigPriv) {
		g.pending.staged.next.signer = signer
	}
	return nil
}

// marshalEpochState writes one epoch state.
func marshalEpochState(w *Writer, s *epochState) {
	s.ctx.marshal(w)
	tree, err := s.tree.encode()
	if err != nil {
		failEncode(w, "ratchet tree: %v", err)
		return
	}
	w.Opaque(tree)
	s.keys.marshal(w)
	w.Opaque(s.sigPriv)
	s.secrets.marshal(w)
	s.st.marshal(w)
	w.Opaque(s.interim)
	w.Opaque(s.confTag)
}

// unmarshalEpochState reads what marshalEpochState wrote.
func unmarshalEpochState(r *Reader) *epochState {
	s := &epochState{keys: new(treePrivate), secrets: new(epochSecrets), st: new(secretTree)}
	s.ctx.unmarshal(r)
	treeBytes := r.Opaque()
	s.keys.unmarshal(r)
	s.sigPriv = r.Opaque()
	s.secrets.unmarshal(r)
	s.st.unmarshal(r)
	s.interim = r.Opaque()
	s.confTag = r.Opaque()
	if r.Err() != nil {
		return s
	}
	cs := s.ctx.CipherSuite
	if !cs.Supported() || s.secrets.suite != cs || s.st.suite != cs {
		r.Fail("group state suite %v is unsupported or inconsistent", cs)
		return s
	}
	tree, err := decodeRatchetTree(cs, treeBytes)
	if err != nil {
		r.Fail("group state ratchet tree: %v", err)
		return s
	}
	s.tree = tree
	if s.tree.leaf(s.keys.leaf) == nil {
		r.Fail("group state: our leaf %d is blank", s.keys.leaf)
	}
	return s
}

// marshalStagedCommit writes a staged commit of ours (the pending one).
func marshalStagedCommit(w *Writer, sc *StagedCommit) {
	sc.Sender.marshal(w)
	w.Vector(func(w *Writer) {
		for i := range sc.Proposals {
			cp := &sc.Proposals[i]
			cp.Proposal.marshal(w)
			cp.Sender.marshal(w)
			w.Optional(cp.Ref != nil, func(w *Writer) { w.Opaque(cp.Ref) })
		}
	})
	for _, ms := range [][]Member{sc.AddedLeaves, sc.RemovedLeaves, sc.UpdatedLeaves} {
		marshalMembers(w, ms)
	}
	w.Bool(sc.ExtensionsChanged)
	marshalExtensions(w, sc.GroupContextExtensions)
	w.Vector(func(w *Writer) {
		for i := range sc.PSKs {
			sc.PSKs[i].marshal(w)
		}
	})
	w.Bool(sc.PathPresent)
	w.Bool(sc.External)
	marshalReInit(w, sc.ReInit)
	w.Uint64(sc.NewEpoch)
	marshalEpochState(w, sc.next)
}

// unmarshalStagedCommit reads what marshalStagedCommit wrote; base is the
// current epoch state it applies to.
func unmarshalStagedCommit(r *Reader, base *epochState) *StagedCommit {
	sc := &StagedCommit{base: base, own: true}
	sc.Sender.unmarshal(r)
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			var cp CommittedProposal
			cp.Proposal.unmarshal(r)
			cp.Sender.unmarshal(r)
			if r.Optional() {
				cp.Ref = r.Opaque()
			}
			sc.Proposals = append(sc.Proposals, cp)
		}
	})
	sc.AddedLeaves = unmarshalMembers(r)
	sc.RemovedLeaves = unmarshalMembers(r)
	sc.UpdatedLeaves = unmarshalMembers(r)
	sc.ExtensionsChanged = r.Bool()
	sc.GroupContextExtensions = unmarshalExtensions(r)
	if !sc.ExtensionsChanged {
		sc.GroupContextExtensions = nil
	}
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			var id PreSharedKeyID
			id.unmarshal(r)
			sc.PSKs = append(sc.PSKs, id)
		}
	})
	sc.PathPresent = r.Bool()
	sc.External = r.Bool()
	sc.ReInit = unmarshalReInit(r)
	sc.NewEpoch = r.Uint64()
	sc.next = unmarshalEpochState(r)
	return sc
}

func marshalMembers(w *Writer, ms []Member) {
	w.Vector(func(w *Writer) {
		for i := range ms {
			w.Uint32(uint32(ms[i].Index))
			ms[i].LeafNode.marshal(w)
		}
	})
}

func unmarshalMembers(r *Reader) []Member {
	var out []Member
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			m := Member{Index: LeafIndex(r.Uint32())}
			m.LeafNode.unmarshal(r)
			out = append(out, m)
		}
	})
	return out
}

// Tags of a past epoch's leaf in the version 2 state.
const (
	pastLeafBlank   uint8 = 0 // a blank leaf
	pastLeafCurrent uint8 = 1 // the same leaf node as the current epoch's
	pastLeafNode    uint8 = 2 // a LeafNode follows
)

// marshalPastEpoch writes a kept past epoch (version 2). Leaves shared
// with cur, the current epoch's tree, are written as references to it, so
// keeping past epochs costs little more than the leaves that changed. An
// epoch restored from version 1 keeps its signature keys instead.
func marshalPastEpoch(w *Writer, p *pastEpoch, cur *ratchetTree) {
	p.ctx.marshal(w)
	w.Opaque(p.senderDataSecret)
	p.st.marshal(w)
	legacy := p.sigKeys != nil
	w.Bool(legacy)
	if legacy {
		marshalPastSigKeys(w, p.sigKeys)
		return
	}
	w.Vector(func(w *Writer) {
		for i, ln := range p.leaves {
			switch {
			case ln == nil:
				w.Uint8(pastLeafBlank)
			case ln == cur.leaf(LeafIndex(i)):
				w.Uint8(pastLeafCurrent)
			default:
				w.Uint8(pastLeafNode)
				ln.marshal(w)
			}
		}
	})
}

// unmarshalPastEpoch reads what marshalPastEpoch wrote; cur is the current
// epoch's tree (nil after a decoding error).
func unmarshalPastEpoch(r *Reader, cur *ratchetTree) *pastEpoch {
	p := unmarshalPastEpochSecrets(r)
	if r.Bool() {
		p.sigKeys = unmarshalPastSigKeys(r)
		return p
	}
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			var ln *LeafNode
			switch tag := r.Uint8(); tag {
			case pastLeafBlank:
			case pastLeafCurrent:
				if cur != nil {
					ln = cur.leaf(LeafIndex(len(p.leaves)))
				}
				if ln == nil {
					r.Fail("past epoch leaf %d refers to a blank current leaf", len(p.leaves))
				}
			case pastLeafNode:
				ln = new(LeafNode)
				ln.unmarshal(r)
			default:
				r.Fail("past epoch leaf tag %d", tag)
			}
			p.leaves = append(p.leaves, ln)
		}
	})
	p.leaves = slices.Clip(p.leaves)
	return p
}

// unmarshalPastEpochV1 reads a past epoch of a version 1 state, which
// kept only the members' signature keys.
func unmarshalPastEpochV1(r *Reader) *pastEpoch {
	p := unmarshalPastEpochSecrets(r)
	p.sigKeys = unmarshalPastSigKeys(r)
	return p
}

// unmarshalPastEpochSecrets reads the group context and secrets of a past
// epoch, the part common to every version.
func unmarshalPastEpochSecrets(r *Reader) *pastEpoch {
	p := &pastEpoch{st: new(secretTree)}
	p.ctx.unmarshal(r)
	p.senderDataSecret = r.Opaque()
	p.st.unmarshal(r)
	if r.Err() == nil && (!p.ctx.CipherSuite.Supported() || p.st.suite != p.ctx.CipherSuite) {
		r.Fail("past epoch suite %v is unsupported or inconsistent", p.ctx.CipherSuite)
	}
	return p
}

// marshalPastSigKeys writes the signature keys of a past epoch restored
// from version 1 (optional<opaque> per leaf, as version 1 did).
func marshalPastSigKeys(w *Writer, keys [][]byte) {
	w.Vector(func(w *Writer) {
		for _, k := range keys {
			w.Optional(k != nil, func(w *Writer) { w.Opaque(k) })
		}
	})
}

// unmarshalPastSigKeys reads what marshalPastSigKeys wrote. The result is
// never nil, so that it marks the epoch as restored from version 1.
func unmarshalPastSigKeys(r *Reader) [][]byte {
	keys := [][]byte{}
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			var k []byte
			if r.Optional() {
				k = r.Opaque()
			}
			keys = append(keys, k)
		}
	})
	return slices.Clip(keys)
}

// marshalReInit writes an optional ReInit proposal body.
func marshalReInit(w *Writer, ri *ReInitProposal) {
	w.Optional(ri != nil, func(w *Writer) {
		p := Proposal{Type: ProposalTypeReInit, ReInit: ri}
		p.marshal(w)
	})
}

func unmarshalReInit(r *Reader) *ReInitProposal {
	if !r.Optional() {
		return nil
	}
	var p Proposal
	p.unmarshal(r)
	if r.Err() == nil && p.Type != ProposalTypeReInit {
		r.Fail("reinit of type %s", p.Type)
	}
	return p.ReInit
}
