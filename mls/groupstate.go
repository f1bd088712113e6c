package mls

import (
	"fmt"
	"slices"
)

// groupStateMagic and groupStateVersion tag the serialized group state. A
// change of the encoding bumps the version; UnmarshalGroup keeps reading
// every version it ever wrote.
const (
	groupStateMagic   = "MLSG"
	groupStateVersion = 1
)

// MarshalBinary serializes the whole group state: group context, ratchet
// tree, private keys, epoch secrets, secret tree (with its ratchets and kept
// out-of-order keys), transcript hashes, queued proposals, our pending
// commit, recent resumption PSKs and kept past epochs. The result holds
// secrets: store it encrypted. UnmarshalGroup restores it exactly.
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
			marshalPastEpoch(w, p)
		}
	})
	if err := w.Err(); err != nil {
		return nil, fmt.Errorf("mls: marshal group: %w", err)
	}
	return w.Bytes(), nil
}

// UnmarshalGroup restores a group serialized by MarshalBinary, with the
// local policies of cfg. Malformed input gives an error wrapping ErrDecode.
func UnmarshalGroup(cfg Config, b []byte) (*Group, error) {
	r := NewReader(b)
	if string(r.Raw(len(groupStateMagic))) != groupStateMagic {
		return nil, fmt.Errorf("%w: not a serialized mls group", ErrDecode)
	}
	if v := r.Uint16(); v != groupStateVersion {
		return nil, fmt.Errorf("%w: group state version %d", ErrDecode, v)
	}
	g := &Group{cfg: cfg}
	g.removed = r.Bool()
	g.reinit = unmarshalReInit(r)
	g.s = unmarshalEpochState(r)
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
			g.proposals = append(g.proposals, q)
		}
	})
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
			g.past = append(g.past, unmarshalPastEpoch(r))
		}
	})
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("mls: unmarshal group: %w", err)
	}
	return g, nil
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

// marshalPastEpoch writes a kept past epoch.
func marshalPastEpoch(w *Writer, p *pastEpoch) {
	p.ctx.marshal(w)
	w.Opaque(p.senderDataSecret)
	p.st.marshal(w)
	w.Vector(func(w *Writer) {
		for _, k := range p.sigKeys {
			w.Optional(k != nil, func(w *Writer) { w.Opaque(k) })
		}
	})
}

func unmarshalPastEpoch(r *Reader) *pastEpoch {
	p := &pastEpoch{st: new(secretTree)}
	p.ctx.unmarshal(r)
	p.senderDataSecret = r.Opaque()
	p.st.unmarshal(r)
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			var k []byte
			if r.Optional() {
				k = r.Opaque()
			}
			p.sigKeys = append(p.sigKeys, k)
		}
	})
	if r.Err() == nil && (!p.ctx.CipherSuite.Supported() || p.st.suite != p.ctx.CipherSuite) {
		r.Fail("past epoch suite %v is unsupported or inconsistent", p.ctx.CipherSuite)
	}
	p.sigKeys = slices.Clip(p.sigKeys)
	return p
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
