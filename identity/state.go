package identity

import (
	"cmp"
	"maps"
	"math"
	"slices"
)

// Limits libxmtp and node-go apply outside the association rules; this
// package does not enforce them.
const (
	// MaxInstallationsPerInbox is the number of installations libxmtp lets
	// a client reach when it adds a new installation (client-side only;
	// nodes do not check it).
	MaxInstallationsPerInbox = 10
	// MaxInboxLogUpdates is the number of updates node-go accepts in one
	// inbox log (spec §3.2 PublishIdentityUpdate).
	MaxInboxLogUpdates = 256
)

// Member is one member of an inbox's association state (spec §5.2 Member).
type Member struct {
	Identifier MemberIdentifier
	// AddedBy is the member (or recovery identifier) whose signature added
	// this one; nil for the identifier that created the inbox.
	AddedBy *MemberIdentifier
	// ClientTimestampNs is the client timestamp of the update that added the
	// member; 0 and meaningless for the creator (AddedBy == nil).
	ClientTimestampNs uint64
	// AddedOnChainID is the chain of the smart-contract-wallet signature
	// that added the member; nil otherwise.
	AddedOnChainID *uint64
}

// State is an inbox's association state (spec §5.5): its members, its
// recovery identifier and every signature already used. Only
// [ApplyUpdates] makes one, from verified updates; it is immutable and safe
// to share between goroutines. A nil *State means "no inbox yet".
type State struct {
	inboxID    InboxID
	members    map[memberKey]Member
	recovery   MemberIdentifier
	seen       map[string]struct{}
	sequenceID uint64
	// open is true once an unpublished update (sequence id 0) was applied:
	// no published update may follow it.
	open bool
}

func (s *State) clone() *State {
	c := *s
	c.members = maps.Clone(s.members)
	c.seen = maps.Clone(s.seen)
	return &c
}

// The query methods below accept a nil *State ("no inbox yet") and then
// report nothing. Returned values are copies; changing them does not change
// the state.

// InboxID returns the inbox id.
func (s *State) InboxID() InboxID {
	if s == nil {
		return ""
	}
	return s.inboxID
}

// RecoveryIdentifier returns the recovery identifier (an Ethereum address
// or a passkey, not necessarily a member).
func (s *State) RecoveryIdentifier() MemberIdentifier {
	if s == nil {
		return MemberIdentifier{}
	}
	return s.recovery
}

// SequenceID returns the sequence id of the last published update applied,
// or 0 if none had one.
func (s *State) SequenceID() uint64 {
	if s == nil {
		return 0
	}
	return s.sequenceID
}

// Member returns the member named id, if any.
func (s *State) Member(id MemberIdentifier) (Member, bool) {
	if s == nil {
		return Member{}, false
	}
	m, ok := s.members[id.key()]
	return m.clone(), ok
}

// IsMember reports whether id is a member.
func (s *State) IsMember(id MemberIdentifier) bool {
	if s == nil {
		return false
	}
	_, ok := s.members[id.key()]
	return ok
}

// clone copies m's pointer fields, so callers cannot reach into a State.
func (m Member) clone() Member {
	if m.AddedBy != nil {
		by := *m.AddedBy
		m.AddedBy = &by
	}
	if m.AddedOnChainID != nil {
		id := *m.AddedOnChainID
		m.AddedOnChainID = &id
	}
	return m
}

// Members returns every member ordered as libxmtp lists them: by the client
// timestamp that added them, the creator last, then by kind and identifier
// for determinism.
func (s *State) Members() []Member {
	if s == nil {
		return nil
	}
	out := make([]Member, 0, len(s.members))
	for _, m := range s.members {
		out = append(out, m.clone())
	}
	slices.SortFunc(out, func(a, b Member) int {
		return cmp.Or(cmp.Compare(memberTime(a), memberTime(b)), compareMembers(a.Identifier, b.Identifier))
	})
	return out
}

func memberTime(m Member) uint64 {
	if m.AddedBy == nil {
		return math.MaxUint64
	}
	return m.ClientTimestampNs
}

// MembersOfKind returns the members of kind k, in [State.Members] order.
func (s *State) MembersOfKind(k MemberKind) []Member {
	var out []Member
	for _, m := range s.Members() {
		if m.Identifier.kind == k {
			out = append(out, m)
		}
	}
	return out
}

// Installations returns the installation ids, in [State.Members] order.
func (s *State) Installations() []InstallationID {
	var out []InstallationID
	for _, m := range s.MembersOfKind(MemberInstallation) {
		if id, ok := m.Identifier.InstallationID(); ok {
			out = append(out, id)
		}
	}
	return out
}

// HasInstallation reports whether id is a current installation.
func (s *State) HasInstallation(id InstallationID) bool {
	return s.IsMember(InstallationMember(id))
}

// Addresses returns the Ethereum addresses, verbatim, in [State.Members]
// order.
func (s *State) Addresses() []Address {
	var out []Address
	for _, m := range s.MembersOfKind(MemberEthereum) {
		a, _ := m.Identifier.Address()
		out = append(out, a)
	}
	return out
}

// HasSeenSignature reports whether raw (a [VerifiedSignature.RawBytes]) was
// already used in this inbox.
func (s *State) HasSeenSignature(raw []byte) bool {
	if s == nil {
		return false
	}
	_, ok := s.seen[string(raw)]
	return ok
}

// Diff is the change of membership between two states of one inbox (spec
// §5.5 last bullets).
type Diff struct {
	// NewMembers are in the newer state only, RemovedMembers in the older
	// only; both sorted by kind, then identifier.
	NewMembers     []MemberIdentifier
	RemovedMembers []MemberIdentifier
}

// StateDiff returns the members only in newer and those only in older. A
// nil older means "before the inbox existed": every member of newer is new.
// A nil newer is treated as an empty state.
func StateDiff(older, newer *State) Diff {
	var d Diff
	var oldM, newM map[memberKey]Member
	if older != nil {
		oldM = older.members
	}
	if newer != nil {
		newM = newer.members
	}
	for k, m := range newM {
		if _, ok := oldM[k]; !ok {
			d.NewMembers = append(d.NewMembers, m.Identifier)
		}
	}
	for k, m := range oldM {
		if _, ok := newM[k]; !ok {
			d.RemovedMembers = append(d.RemovedMembers, m.Identifier)
		}
	}
	slices.SortFunc(d.NewMembers, compareMembers)
	slices.SortFunc(d.RemovedMembers, compareMembers)
	return d
}

// NewInstallations returns the added installation ids.
func (d Diff) NewInstallations() []InstallationID { return installationsIn(d.NewMembers) }

// RemovedInstallations returns the removed installation ids.
func (d Diff) RemovedInstallations() []InstallationID { return installationsIn(d.RemovedMembers) }

// IsEmpty reports whether nothing changed.
func (d Diff) IsEmpty() bool { return len(d.NewMembers) == 0 && len(d.RemovedMembers) == 0 }

func installationsIn(ms []MemberIdentifier) []InstallationID {
	var out []InstallationID
	for _, m := range ms {
		if id, ok := m.InstallationID(); ok {
			out = append(out, id)
		}
	}
	return out
}
