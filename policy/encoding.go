package policy

import (
	"fmt"
	"math"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
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

// recursionLimit is prost's RECURSION_LIMIT: libxmtp refuses messages
// nested deeper, and so must we.
const recursionLimit = 100

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
// rules (a wrong wire type on a known field is an error, not an unknown
// field; nesting deeper than 100 messages is an error; strings must be
// UTF-8; unknown fields are skipped; a repeated singular message merges)
// and then checked as libxmtp converts them (every non-map policy present,
// every kind set, every base number defined for its kind, no empty
// condition). This strictness matters: the extension is decoded on every
// commit, and a commit one member decodes and another rejects would fork
// the group.
//
// Any failure is a *[DecodeError].
func Unmarshal(b []byte) (PolicySet, error) {
	var root rawRoot
	if err := decodeFields(b, recursionLimit, root.mergeField); err != nil {
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

// fieldMerger merges one field, whose key is already read, from b and
// returns the bytes it consumed. ctx is prost's recursion budget.
type fieldMerger func(num protowire.Number, typ protowire.Type, b []byte, ctx int) (int, error)

// decodeFields runs merge over every field of a message body.
func decodeFields(b []byte, ctx int, merge fieldMerger) error {
	for len(b) > 0 {
		num, typ, n, err := consumeKey(b)
		if err != nil {
			return err
		}
		b = b[n:]
		m, err := merge(num, typ, b, ctx)
		if err != nil {
			return err
		}
		b = b[m:]
	}
	return nil
}

// consumeKey reads a field key as prost's decode_key does.
func consumeKey(b []byte) (protowire.Number, protowire.Type, int, error) {
	v, n := protowire.ConsumeVarint(b)
	if n < 0 {
		return 0, 0, 0, decodeErrorf("invalid varint")
	}
	if v > math.MaxUint32 {
		return 0, 0, 0, decodeErrorf("invalid key value: %d", v)
	}
	typ := protowire.Type(v & 7)
	if typ > protowire.Fixed32Type {
		return 0, 0, 0, decodeErrorf("invalid wire type value: %d", typ)
	}
	num := protowire.Number(uint32(v) >> 3)
	if num < 1 {
		return 0, 0, 0, decodeErrorf("invalid tag value: 0")
	}
	return num, typ, n, nil
}

// consumeLength reads a length prefix and checks the bytes are there.
func consumeLength(b []byte) (body []byte, n int, err error) {
	l, m := protowire.ConsumeVarint(b)
	if m < 0 {
		return nil, 0, decodeErrorf("invalid varint")
	}
	if l > uint64(len(b)-m) {
		return nil, 0, decodeErrorf("buffer underflow")
	}
	return b[m : m+int(l)], m + int(l), nil
}

// mergeMessage is prost's message::merge: a length-delimited field whose
// body is decoded with one less level of recursion budget.
func mergeMessage(typ protowire.Type, b []byte, ctx int, merge fieldMerger) (int, error) {
	if typ != protowire.BytesType {
		return 0, decodeErrorf("invalid wire type: %d (expected length-delimited)", typ)
	}
	if ctx == 0 {
		return 0, decodeErrorf("recursion limit reached")
	}
	body, n, err := consumeLength(b)
	if err != nil {
		return 0, err
	}
	return n, decodeFields(body, ctx-1, merge)
}

// skipField is prost's skip_field for unknown fields.
func skipField(num protowire.Number, typ protowire.Type, b []byte, ctx int) (int, error) {
	if ctx == 0 {
		return 0, decodeErrorf("recursion limit reached")
	}
	switch typ {
	case protowire.VarintType:
		_, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return 0, decodeErrorf("invalid varint")
		}
		return n, nil
	case protowire.Fixed64Type, protowire.Fixed32Type:
		size := 8
		if typ == protowire.Fixed32Type {
			size = 4
		}
		if len(b) < size {
			return 0, decodeErrorf("buffer underflow")
		}
		return size, nil
	case protowire.BytesType:
		_, n, err := consumeLength(b)
		return n, err
	case protowire.StartGroupType:
		total := 0
		for {
			inner, innerTyp, n, err := consumeKey(b[total:])
			if err != nil {
				return 0, err
			}
			total += n
			if innerTyp == protowire.EndGroupType {
				if inner != num {
					return 0, decodeErrorf("unexpected end group tag")
				}
				return total, nil
			}
			m, err := skipField(inner, innerTyp, b[total:], ctx-1)
			if err != nil {
				return 0, err
			}
			total += m
		}
	}
	return 0, decodeErrorf("unexpected end group tag")
}

func (r *rawRoot) mergeField(num protowire.Number, typ protowire.Type, b []byte, ctx int) (int, error) {
	if num != fieldPermissionsPolicies {
		return skipField(num, typ, b, ctx)
	}
	if r.policies == nil {
		r.policies = &rawSet{}
	}
	return mergeMessage(typ, b, ctx, r.policies.mergeField)
}

func (s *rawSet) mergeField(num protowire.Number, typ protowire.Type, b []byte, ctx int) (int, error) {
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
		return s.mergeMapEntry(b, ctx)
	default:
		return skipField(num, typ, b, ctx)
	}
	if *slot == nil {
		*slot = &rawPolicy{}
	}
	return mergeMessage(typ, b, ctx, (*slot).mergeField)
}

// mergeMapEntry is prost's map merge. Like prost it does not check the
// entry's wire type: whatever the key says, a length-prefixed entry
// follows. A missing key is "", a missing value an unset policy; a
// repeated key replaces the earlier entry.
func (s *rawSet) mergeMapEntry(b []byte, ctx int) (int, error) {
	if ctx == 0 {
		return 0, decodeErrorf("recursion limit reached")
	}
	body, n, err := consumeLength(b)
	if err != nil {
		return 0, err
	}
	var key string
	val := &rawPolicy{}
	err = decodeFields(body, ctx-1, func(num protowire.Number, typ protowire.Type, b []byte, ctx int) (int, error) {
		switch num {
		case fieldMapKey:
			if typ != protowire.BytesType {
				return 0, decodeErrorf("invalid wire type: %d (expected length-delimited)", typ)
			}
			v, n, err := consumeLength(b)
			if err != nil {
				return 0, err
			}
			if !utf8.Valid(v) {
				return 0, decodeErrorf("invalid string value: data is not UTF-8 encoded")
			}
			key = string(v)
			return n, nil
		case fieldMapValue:
			return mergeMessage(typ, b, ctx, val.mergeField)
		}
		return skipField(num, typ, b, ctx)
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
func (p *rawPolicy) mergeField(num protowire.Number, typ protowire.Type, b []byte, ctx int) (int, error) {
	switch num {
	case fieldBase:
		if typ != protowire.VarintType {
			return 0, decodeErrorf("invalid wire type: %d (expected varint)", typ)
		}
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return 0, decodeErrorf("invalid varint")
		}
		*p = rawPolicy{kind: fieldBase, base: int32(v)} // prost truncates to i32
		return n, nil
	case fieldAnd, fieldAny:
		if p.kind == int(num) {
			return mergeMessage(typ, b, ctx, p.mergeCondition)
		}
		fresh := rawPolicy{kind: int(num)}
		n, err := mergeMessage(typ, b, ctx, fresh.mergeCondition)
		if err != nil {
			return 0, err
		}
		*p = fresh
		return n, nil
	}
	return skipField(num, typ, b, ctx)
}

// mergeCondition merges one field of an AndCondition or AnyCondition.
func (p *rawPolicy) mergeCondition(num protowire.Number, typ protowire.Type, b []byte, ctx int) (int, error) {
	if num != fieldConditionPolicies {
		return skipField(num, typ, b, ctx)
	}
	sub := &rawPolicy{}
	n, err := mergeMessage(typ, b, ctx, sub.mergeField)
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
