package policy

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"mlsbridge/wire/prost"
)

// Field numbers of xmtp.mls.message_contents.GroupMutablePermissionsV1 and
// the messages under it (xmtp-groups §3.1).
const (
	fieldPermissionsPolicies = 1 // GroupMutablePermissionsV1.policies

	fieldAddMember         = 1 // PolicySet.add_member_policy
	fieldRemoveMember      = 2 // PolicySet.remove_member_policy
	fieldUpdateMetadata    = 3 // PolicySet.update_metadata_policy (map)
	fieldAddAdmin          = 4 // PolicySet.add_admin_policy
	fieldRemoveAdmin       = 5 // PolicySet.remove_admin_policy
	fieldUpdatePermissions = 6 // PolicySet.update_permissions_policy

	fieldMapKey   = 1
	fieldMapValue = 2

	fieldBase = 1 // oneof kind: base enum
	fieldAnd  = 2 // oneof kind: and_condition
	fieldAny  = 3 // oneof kind: any_condition

	fieldConditionPolicies = 1 // AndCondition/AnyCondition.policies
)

// wireBase returns the protobuf enum number of b in a policy of kind k
// (xmtp-groups §3.1): membership and metadata number ALLOW 1, DENY 2,
// admin 3, super admin 4; permissions number DENY 1, admin 2, super admin 3.
func wireBase(k kind, b BasePolicy) int32 {
	if k == kindPermissions {
		return int32(b) - 1
	}
	return int32(b)
}

// fromWireBase is wireBase's inverse; false for UNSPECIFIED (0) and
// numbers the kind does not define.
func fromWireBase(k kind, v int32) (BasePolicy, bool) {
	if k == kindPermissions {
		v++
	}
	b := BasePolicy(v)
	if v < int32(Allow) || v > int32(AllowIfSuperAdmin) || !k.allows(b) {
		return 0, false
	}
	return b, true
}

// Marshal encodes s as the payload of GroupContext extension 0xFF02: a
// GroupMutablePermissionsV1 protobuf wrapping the policy set, exactly as
// libxmtp's prost code writes it (fields in number order, map entries
// without empty keys). The one freedom prost leaves, the order of
// update_metadata_policy entries (a Rust HashMap, so random in libxmtp),
// is fixed here to byte order of the keys, so Marshal is deterministic.
//
// An invalid set, or one using [AllowSameMember] anywhere (libxmtp cannot
// encode it either), gives an error wrapping [ErrInvalidPolicy].
func Marshal(s PolicySet) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("policy: marshal permissions: %w", err)
	}
	if rule(s.AddMember).usesSubject() || rule(s.RemoveMember).usesSubject() {
		return nil, fmt.Errorf("policy: marshal permissions: %w: same_member cannot be encoded", ErrInvalidPolicy)
	}
	body := appendPolicySet(nil, s)
	b := protowire.AppendTag(make([]byte, 0, len(body)+4), fieldPermissionsPolicies, protowire.BytesType)
	return protowire.AppendBytes(b, body), nil
}

func appendPolicySet(b []byte, s PolicySet) []byte {
	b = appendRuleField(b, fieldAddMember, rule(s.AddMember), kindMembership)
	b = appendRuleField(b, fieldRemoveMember, rule(s.RemoveMember), kindMembership)
	for _, f := range sortedFields(s.UpdateMetadata) {
		var entry []byte
		if f != "" { // prost leaves default (empty) map keys out
			entry = protowire.AppendTag(entry, fieldMapKey, protowire.BytesType)
			entry = protowire.AppendString(entry, string(f))
		}
		entry = appendRuleField(entry, fieldMapValue, rule(s.UpdateMetadata[f]), kindMetadata)
		b = protowire.AppendTag(b, fieldUpdateMetadata, protowire.BytesType)
		b = protowire.AppendBytes(b, entry)
	}
	b = appendRuleField(b, fieldAddAdmin, rule(s.AddAdmin), kindPermissions)
	b = appendRuleField(b, fieldRemoveAdmin, rule(s.RemoveAdmin), kindPermissions)
	return appendRuleField(b, fieldUpdatePermissions, rule(s.UpdatePermissions), kindPermissions)
}

// appendRuleField appends r as a length-delimited policy message in field
// num.
func appendRuleField(b []byte, num protowire.Number, r rule, k kind) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, appendRule(nil, r, k))
}

// appendRule appends the body of a MembershipPolicy, MetadataPolicy or
// PermissionsUpdatePolicy message: the oneof kind.
func appendRule(b []byte, r rule, k kind) []byte {
	if r.op == opBase {
		b = protowire.AppendTag(b, fieldBase, protowire.VarintType)
		// A negative int32 is sign-extended to 64 bits, as prost does.
		return protowire.AppendVarint(b, uint64(int64(wireBase(k, r.base))))
	}
	var cond []byte
	for _, s := range r.subs {
		cond = appendRuleField(cond, fieldConditionPolicies, s, k)
	}
	num := protowire.Number(fieldAnd)
	if r.op == opAny {
		num = fieldAny
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, cond)
}

// Unmarshal decodes the payload of GroupContext extension 0xFF02. It
// accepts exactly what libxmtp accepts: the bytes are parsed with prost's
// rules (package [prost]: a wrong wire type on a known field is an error,
// not an unknown field; nesting deeper than 100 messages is an error;
// strings must be UTF-8; unknown fields are skipped; a repeated singular
// message merges) and then checked as libxmtp converts them (every non-map
// policy present, every kind set, every base number defined for its kind,
// no empty condition). This strictness matters: the extension is decoded
// on every commit, and a commit one member decodes and another rejects
// would fork the group.
//
// Any failure is a *[DecodeError].
func Unmarshal(b []byte) (PolicySet, error) {
	var root rawRoot
	if err := prost.Decode(b, root.mergeField); err != nil {
		var pe *prost.Error
		if errors.As(err, &pe) {
			return PolicySet{}, &DecodeError{Reason: pe.Reason}
		}
		return PolicySet{}, err
	}
	if root.policies == nil {
		return PolicySet{}, decodeErrorf("missing policies")
	}
	return root.policies.convert()
}

// The raw* types mirror prost's generated structs, so decoding can follow
// prost's merge rules before libxmtp's conversion checks run.
type rawRoot struct{ policies *rawSet }

type rawSet struct {
	addMember, removeMember            *rawPolicy
	metadata                           map[string]*rawPolicy
	addAdmin, removeAdmin, updatePerms *rawPolicy
}

// rawPolicy is a policy message: kind 0 (unset), fieldBase, fieldAnd or
// fieldAny.
type rawPolicy struct {
	kind int
	base int32
	subs []*rawPolicy
}

func (r *rawRoot) mergeField(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
	if num != fieldPermissionsPolicies {
		return prost.Skip(num, typ, b, depth)
	}
	if r.policies == nil {
		r.policies = &rawSet{}
	}
	return prost.Message(typ, b, depth, r.policies.mergeField)
}

func (s *rawSet) mergeField(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
	var slot **rawPolicy
	switch num {
	case fieldAddMember:
		slot = &s.addMember
	case fieldRemoveMember:
		slot = &s.removeMember
	case fieldAddAdmin:
		slot = &s.addAdmin
	case fieldRemoveAdmin:
		slot = &s.removeAdmin
	case fieldUpdatePermissions:
		slot = &s.updatePerms
	case fieldUpdateMetadata:
		return s.mergeMapEntry(b, depth)
	default:
		return prost.Skip(num, typ, b, depth)
	}
	if *slot == nil {
		*slot = &rawPolicy{}
	}
	return prost.Message(typ, b, depth, (*slot).mergeField)
}

// mergeMapEntry is prost's map merge ([prost.MapEntry]: the entry's wire
// type is not checked). A missing key is "", a missing value an unset
// policy; a repeated key replaces the earlier entry.
func (s *rawSet) mergeMapEntry(b []byte, depth int) (int, error) {
	var key string
	val := &rawPolicy{}
	n, err := prost.MapEntry(b, depth,
		func(_ protowire.Number, typ protowire.Type, b []byte, _ int) (int, error) {
			k, n, err := prost.String(typ, b)
			key = k
			return n, err
		},
		func(_ protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
			return prost.Message(typ, b, depth, val.mergeField)
		})
	if err != nil {
		return 0, err
	}
	if s.metadata == nil {
		s.metadata = make(map[string]*rawPolicy)
	}
	s.metadata[key] = val
	return n, nil
}

// mergeField merges one field of a policy message. As in prost's oneof
// merge, a field of the variant already set merges into it, and any other
// variant replaces it.
func (p *rawPolicy) mergeField(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
	switch num {
	case fieldBase:
		v, n, err := prost.Int32(typ, b) // prost truncates to i32
		if err != nil {
			return 0, err
		}
		*p = rawPolicy{kind: fieldBase, base: v}
		return n, nil
	case fieldAnd, fieldAny:
		if p.kind == int(num) {
			return prost.Message(typ, b, depth, p.mergeCondition)
		}
		fresh := rawPolicy{kind: int(num)}
		n, err := prost.Message(typ, b, depth, fresh.mergeCondition)
		if err != nil {
			return 0, err
		}
		*p = fresh
		return n, nil
	}
	return prost.Skip(num, typ, b, depth)
}

// mergeCondition merges one field of an AndCondition or AnyCondition.
func (p *rawPolicy) mergeCondition(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
	if num != fieldConditionPolicies {
		return prost.Skip(num, typ, b, depth)
	}
	sub := &rawPolicy{}
	n, err := prost.Message(typ, b, depth, sub.mergeField)
	if err != nil {
		return 0, err
	}
	p.subs = append(p.subs, sub)
	return n, nil
}

// convert applies libxmtp's PolicySet::from_proto checks.
func (s *rawSet) convert() (PolicySet, error) {
	var out PolicySet
	var err error
	convert := func(name string, p *rawPolicy, k kind) rule {
		if err != nil {
			return rule{}
		}
		if p == nil {
			err = decodeErrorf("missing %s", name)
			return rule{}
		}
		var r rule
		r, err = p.convert(name, k)
		return r
	}
	out.AddMember = MembershipPolicy(convert("add_member_policy", s.addMember, kindMembership))
	out.RemoveMember = MembershipPolicy(convert("remove_member_policy", s.removeMember, kindMembership))
	out.AddAdmin = PermissionsPolicy(convert("add_admin_policy", s.addAdmin, kindPermissions))
	out.RemoveAdmin = PermissionsPolicy(convert("remove_admin_policy", s.removeAdmin, kindPermissions))
	out.UpdatePermissions = PermissionsPolicy(convert("update_permissions_policy", s.updatePerms, kindPermissions))
	if len(s.metadata) > 0 {
		out.UpdateMetadata = make(map[MetadataField]MetadataPolicy, len(s.metadata))
		for k, p := range s.metadata {
			out.UpdateMetadata[MetadataField(k)] = MetadataPolicy(convert("update_metadata_policy["+k+"]", p, kindMetadata))
		}
	}
	if err != nil {
		return PolicySet{}, err
	}
	return out, nil
}

func (p *rawPolicy) convert(name string, k kind) (rule, error) {
	switch p.kind {
	case fieldBase:
		b, ok := fromWireBase(k, p.base)
		if !ok {
			return rule{}, decodeErrorf("%s: base policy %d is not a %s base policy", name, p.base, k)
		}
		return rule{base: b}, nil
	case fieldAnd, fieldAny:
		if len(p.subs) == 0 {
			return rule{}, decodeErrorf("%s: empty condition", name)
		}
		subs := make([]rule, len(p.subs))
		for i, s := range p.subs {
			r, err := s.convert(name, k)
			if err != nil {
				return rule{}, err
			}
			subs[i] = r
		}
		if p.kind == fieldAnd {
			return and(subs), nil
		}
		return anyOf(subs), nil
	}
	return rule{}, decodeErrorf("%s: policy kind not set", name)
}
