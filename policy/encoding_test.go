package policy

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"mlsbridge/wire/content"
)

// a returns the hex of an ASCII string, so golden bytes can show keys.
func a(s string) string { return hex.EncodeToString([]byte(s)) }

// The presets' bytes, written by hand from the field numbers of
// xmtp-groups §3.1 (GroupMutablePermissionsV1.policies = 1; PolicySet
// add_member 1, remove_member 2, update_metadata map 3 {key 1, value 2},
// add_admin 4, remove_admin 5, update_permissions 6; each policy
// {base 1 | and 2 | any 3}). Map entries in key byte order. Each map entry
// is 0x1a, its length, 0x0a, the key length, the key, 0x12 0x02 0x08 and
// the metadata base (ALLOW 1, DENY 2, ALLOW_IF_ADMIN 3,
// ALLOW_IF_SUPER_ADMIN 4). Permissions bases: DENY 1, ALLOW_IF_ADMIN 2,
// ALLOW_IF_SUPER_ADMIN 3.
var (
	goldenDefault = "0ad101" + // policies: 209 bytes
		"0a020801" + // add_member_policy: base ALLOW (1)
		"12020803" + // remove_member_policy: base ALLOW_IF_ADMIN_OR_SUPER_ADMIN (3)
		"1a0e0a08" + a("app_data") + "12020801" +
		"1a110a0b" + a("description") + "12020801" +
		"1a1c0a16" + a("group_image_url_square") + "12020801" +
		"1a100a0a" + a("group_name") + "12020801" +
		"1a1f0a19" + a("message_disappear_from_ns") + "12020803" +
		"1a1d0a17" + a("message_disappear_in_ns") + "12020803" +
		"1a280a22" + a("minimum_supported_protocol_version") + "12020804" +
		"22020803" + // add_admin_policy: PERMISSIONS ALLOW_IF_SUPER_ADMIN (3)
		"2a020803" + // remove_admin_policy: same
		"32020803" // update_permissions_policy: same

	goldenAdminsOnly = "0ad101" +
		"0a020803" + // add_member_policy: ALLOW_IF_ADMIN_OR_SUPER_ADMIN
		"12020803" + // remove_member_policy: same
		"1a0e0a08" + a("app_data") + "12020803" +
		"1a110a0b" + a("description") + "12020803" +
		"1a1c0a16" + a("group_image_url_square") + "12020803" +
		"1a100a0a" + a("group_name") + "12020803" +
		"1a1f0a19" + a("message_disappear_from_ns") + "12020803" +
		"1a1d0a17" + a("message_disappear_in_ns") + "12020803" +
		"1a280a22" + a("minimum_supported_protocol_version") + "12020804" +
		"22020803" + "2a020803" + "32020803"

	goldenDM = "0ad101" +
		"0a020802" + // add_member_policy: DENY (2)
		"12020802" + // remove_member_policy: DENY (2)
		"1a0e0a08" + a("app_data") + "12020801" +
		"1a110a0b" + a("description") + "12020801" +
		"1a1c0a16" + a("group_image_url_square") + "12020801" +
		"1a100a0a" + a("group_name") + "12020801" +
		"1a1f0a19" + a("message_disappear_from_ns") + "12020801" +
		"1a1d0a17" + a("message_disappear_in_ns") + "12020801" +
		"1a280a22" + a("minimum_supported_protocol_version") + "12020801" +
		"22020801" + // add_admin_policy: PERMISSIONS DENY (1)
		"2a020801" + "32020801"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

func TestMarshalGolden(t *testing.T) {
	tests := []struct {
		name   string
		set    PolicySet
		golden string
	}{
		{"default", Default(), goldenDefault},
		{"admins only", AdminsOnly(), goldenAdminsOnly},
		{"dm", DM(), goldenDM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.golden)
			got, err := Marshal(tt.set)
			if err != nil {
				t.Fatalf("Marshal() = %v", err)
			}
			if string(got) != string(want) {
				t.Fatalf("Marshal() =\n%x\nwant\n%x", got, want)
			}
			back, err := Unmarshal(want)
			if err != nil {
				t.Fatalf("Unmarshal(golden) = %v", err)
			}
			if !back.Equal(tt.set) {
				t.Errorf("Unmarshal(golden) = %+v, want the preset", back)
			}
			// The generated wire types read the same bytes and, with
			// deterministic map order, write them back identically.
			var msg content.GroupMutablePermissionsV1
			if err := proto.Unmarshal(want, &msg); err != nil {
				t.Fatalf("proto.Unmarshal(golden) = %v", err)
			}
			if got := fromWire(t, &msg); !got.Equal(tt.set) {
				t.Errorf("wire types read %+v, want the preset", got)
			}
			again, err := proto.MarshalOptions{Deterministic: true}.Marshal(&msg)
			if err != nil || string(again) != string(want) {
				t.Errorf("proto.Marshal = %x, %v; want the golden bytes", again, err)
			}
		})
	}
}

// fromWire converts the generated types to a PolicySet, independently of
// the package's decoder, to cross-check field and enum numbers.
func fromWire(t testing.TB, m *content.GroupMutablePermissionsV1) PolicySet {
	t.Helper()
	ps := m.GetPolicies()
	if ps == nil {
		t.Fatal("no policies")
	}
	var mem func(*content.MembershipPolicy) MembershipPolicy
	mem = func(p *content.MembershipPolicy) MembershipPolicy {
		switch k := p.GetKind().(type) {
		case *content.MembershipPolicy_Base:
			return NewMembershipPolicy(map[content.MembershipPolicy_BasePolicy]BasePolicy{
				content.MembershipPolicy_BASE_POLICY_ALLOW:                         Allow,
				content.MembershipPolicy_BASE_POLICY_DENY:                          Deny,
				content.MembershipPolicy_BASE_POLICY_ALLOW_IF_ADMIN_OR_SUPER_ADMIN: AllowIfAdmin,
				content.MembershipPolicy_BASE_POLICY_ALLOW_IF_SUPER_ADMIN:          AllowIfSuperAdmin,
			}[k.Base])
		case *content.MembershipPolicy_AndCondition_:
			var subs []MembershipPolicy
			for _, s := range k.AndCondition.GetPolicies() {
				subs = append(subs, mem(s))
			}
			return And(subs...)
		case *content.MembershipPolicy_AnyCondition_:
			var subs []MembershipPolicy
			for _, s := range k.AnyCondition.GetPolicies() {
				subs = append(subs, mem(s))
			}
			return Any(subs...)
		}
		return MembershipPolicy{}
	}
	var meta func(*content.MetadataPolicy) MetadataPolicy
	meta = func(p *content.MetadataPolicy) MetadataPolicy {
		switch k := p.GetKind().(type) {
		case *content.MetadataPolicy_Base:
			return NewMetadataPolicy(map[content.MetadataPolicy_MetadataBasePolicy]BasePolicy{
				content.MetadataPolicy_METADATA_BASE_POLICY_ALLOW:                Allow,
				content.MetadataPolicy_METADATA_BASE_POLICY_DENY:                 Deny,
				content.MetadataPolicy_METADATA_BASE_POLICY_ALLOW_IF_ADMIN:       AllowIfAdmin,
				content.MetadataPolicy_METADATA_BASE_POLICY_ALLOW_IF_SUPER_ADMIN: AllowIfSuperAdmin,
			}[k.Base])
		case *content.MetadataPolicy_AndCondition_:
			var subs []MetadataPolicy
			for _, s := range k.AndCondition.GetPolicies() {
				subs = append(subs, meta(s))
			}
			return And(subs...)
		case *content.MetadataPolicy_AnyCondition_:
			var subs []MetadataPolicy
			for _, s := range k.AnyCondition.GetPolicies() {
				subs = append(subs, meta(s))
			}
			return Any(subs...)
		}
		return MetadataPolicy{}
	}
	var perm func(*content.PermissionsUpdatePolicy) PermissionsPolicy
	perm = func(p *content.PermissionsUpdatePolicy) PermissionsPolicy {
		switch k := p.GetKind().(type) {
		case *content.PermissionsUpdatePolicy_Base:
			return NewPermissionsPolicy(map[content.PermissionsUpdatePolicy_PermissionsBasePolicy]BasePolicy{
				content.PermissionsUpdatePolicy_PERMISSIONS_BASE_POLICY_DENY:                 Deny,
				content.PermissionsUpdatePolicy_PERMISSIONS_BASE_POLICY_ALLOW_IF_ADMIN:       AllowIfAdmin,
				content.PermissionsUpdatePolicy_PERMISSIONS_BASE_POLICY_ALLOW_IF_SUPER_ADMIN: AllowIfSuperAdmin,
			}[k.Base])
		case *content.PermissionsUpdatePolicy_AndCondition_:
			var subs []PermissionsPolicy
			for _, s := range k.AndCondition.GetPolicies() {
				subs = append(subs, perm(s))
			}
			return And(subs...)
		case *content.PermissionsUpdatePolicy_AnyCondition_:
			var subs []PermissionsPolicy
			for _, s := range k.AnyCondition.GetPolicies() {
				subs = append(subs, perm(s))
			}
			return Any(subs...)
		}
		return PermissionsPolicy{}
	}
	out := PolicySet{
		AddMember:         mem(ps.GetAddMemberPolicy()),
		RemoveMember:      mem(ps.GetRemoveMemberPolicy()),
		AddAdmin:          perm(ps.GetAddAdminPolicy()),
		RemoveAdmin:       perm(ps.GetRemoveAdminPolicy()),
		UpdatePermissions: perm(ps.GetUpdatePermissionsPolicy()),
	}
	if len(ps.GetUpdateMetadataPolicy()) > 0 {
		out.UpdateMetadata = map[MetadataField]MetadataPolicy{}
		for k, v := range ps.GetUpdateMetadataPolicy() {
			out.UpdateMetadata[MetadataField(k)] = meta(v)
		}
	}
	return out
}

// custom is a set using every combinator in every slot.
func custom() PolicySet {
	s := AdminsOnly()
	s.AddMember = Any(NewMembershipPolicy(AllowIfSuperAdmin), And(NewMembershipPolicy(AllowIfAdmin), NewMembershipPolicy(Allow)))
	s.RemoveMember = And(NewMembershipPolicy(AllowIfAdmin))
	s.UpdateMetadata[FieldGroupName] = Any(NewMetadataPolicy(Deny), NewMetadataPolicy(AllowIfSuperAdmin))
	s.UpdateMetadata["_topic"] = And(NewMetadataPolicy(Allow), Any(NewMetadataPolicy(AllowIfAdmin)))
	s.AddAdmin = Any(NewPermissionsPolicy(AllowIfAdmin), NewPermissionsPolicy(Deny))
	s.RemoveAdmin = And(NewPermissionsPolicy(AllowIfSuperAdmin), NewPermissionsPolicy(AllowIfAdmin))
	s.UpdatePermissions = NewPermissionsPolicy(Deny)
	return s
}

func TestRoundTrip(t *testing.T) {
	noMeta := Default()
	noMeta.UpdateMetadata = nil
	emptyKey := Default()
	emptyKey.UpdateMetadata[""] = NewMetadataPolicy(Deny)
	tests := []struct {
		name string
		set  PolicySet
	}{
		{"default", Default()},
		{"admins only", AdminsOnly()},
		{"dm", DM()},
		{"combinators everywhere", custom()},
		{"no metadata entries", noMeta},
		{"empty metadata key", emptyKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Marshal(tt.set)
			if err != nil {
				t.Fatalf("Marshal() = %v", err)
			}
			got, err := Unmarshal(b)
			if err != nil {
				t.Fatalf("Unmarshal() = %v", err)
			}
			if !got.Equal(tt.set) {
				t.Errorf("round trip = %+v, want %+v", got, tt.set)
			}
			var msg content.GroupMutablePermissionsV1
			if err := proto.Unmarshal(b, &msg); err != nil {
				t.Fatalf("proto.Unmarshal() = %v", err)
			}
			if w := fromWire(t, &msg); !w.Equal(tt.set) {
				t.Errorf("wire types read %+v, want %+v", w, tt.set)
			}
		})
	}
}

// TestMarshalEmptyKey pins prost's map encoding: an empty key is left out
// of its entry (Go's protobuf writes it; libxmtp does not).
func TestMarshalEmptyKey(t *testing.T) {
	s := DM()
	s.UpdateMetadata = map[MetadataField]MetadataPolicy{"": NewMetadataPolicy(Deny)}
	b, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := "0a1a" + "0a020802" + "12020802" +
		"1a04" + "12020802" + // entry: no key, value DENY
		"22020801" + "2a020801" + "32020801"
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("Marshal() = %s, want %s", got, want)
	}
}

func TestMarshalInvalid(t *testing.T) {
	withSame := Default()
	withSame.RemoveMember = Any(NewMembershipPolicy(AllowIfAdmin), NewMembershipPolicy(AllowSameMember))
	zeroMeta := Default()
	zeroMeta.UpdateMetadata[FieldGroupName] = MetadataPolicy{}
	allowAdmin := Default()
	allowAdmin.AddAdmin = NewPermissionsPolicy(Allow)
	for name, s := range map[string]PolicySet{
		"same member":          withSame,
		"zero metadata policy": zeroMeta,
		"allow in permissions": allowAdmin,
		"zero set":             {},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Marshal(s); !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("Marshal() error = %v, want ErrInvalidPolicy", err)
			}
		})
	}
}

// wrap frames a PolicySet body as GroupMutablePermissionsV1 bytes.
func wrap(body []byte) []byte {
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendBytes(b, body)
}

// field appends a length-delimited field.
func field(b []byte, num protowire.Number, body []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, body)
}

func base(v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), v)
}

// setBody builds a PolicySet body with the given add_member policy body and
// otherwise the default preset's simple policies, plus extra bytes.
func setBody(addMember []byte, extra ...[]byte) []byte {
	b := field(nil, 1, addMember)
	b = field(b, 2, base(3))
	for _, e := range extra {
		b = append(b, e...)
	}
	b = field(b, 4, base(3))
	b = field(b, 5, base(3))
	return field(b, 6, base(3))
}

// nested returns a policy body n AND levels deep around a base ALLOW, with
// leafExtra appended to the innermost policy.
func nested(n int, leafExtra []byte) []byte {
	p := append(base(1), leafExtra...)
	for range n {
		p = field(nil, 2, field(nil, 1, p))
	}
	return p
}

func metaEntry(key string, value []byte) []byte {
	e := field(nil, 1, []byte(key))
	return field(e, 2, value)
}

// TestUnmarshalLikeProst covers inputs where libxmtp's prost decoder and
// libxmtp's conversion accept or reject bytes, including where Go's own
// protobuf decoder would differ. Accepting what libxmtp rejects, or the
// reverse, would fork a group.
func TestUnmarshalLikeProst(t *testing.T) {
	unknownVarint := protowire.AppendVarint(protowire.AppendTag(nil, 9, protowire.VarintType), 1)
	group := append(protowire.AppendTag(nil, 9, protowire.StartGroupType), unknownVarint...)
	group = protowire.AppendTag(group, 9, protowire.EndGroupType)
	badGroup := append(protowire.AppendTag(nil, 9, protowire.StartGroupType), unknownVarint...)
	badGroup = protowire.AppendTag(badGroup, 8, protowire.EndGroupType)
	// A map entry whose key says varint: prost still reads a length-prefixed
	// entry.
	oddEntry := protowire.AppendTag(nil, 3, protowire.VarintType)
	oddEntry = protowire.AppendBytes(oddEntry, metaEntry("topic", base(2)))

	tests := []struct {
		name    string
		in      []byte
		want    *PolicySet // nil: expect a *DecodeError
		comment string
	}{
		{name: "empty input", in: nil},
		{name: "policies absent, unknown field only", in: unknownVarint},
		{name: "default preset", in: wrap(setBody(base(1))), want: &PolicySet{
			AddMember: NewMembershipPolicy(Allow), RemoveMember: NewMembershipPolicy(AllowIfAdmin),
			AddAdmin: NewPermissionsPolicy(AllowIfSuperAdmin), RemoveAdmin: NewPermissionsPolicy(AllowIfSuperAdmin),
			UpdatePermissions: NewPermissionsPolicy(AllowIfSuperAdmin),
		}},
		{name: "missing add_member", in: wrap(field(field(field(field(nil, 2, base(3)), 4, base(3)), 5, base(3)), 6, base(3)))},
		{name: "missing update_permissions", in: wrap(field(field(field(field(nil, 1, base(1)), 2, base(3)), 4, base(3)), 5, base(3)))},
		{name: "kind unset", in: wrap(setBody(nil))},
		{name: "base unspecified", in: wrap(setBody(base(0)))},
		{name: "membership base 5 undefined", in: wrap(setBody(base(5)))},
		{name: "membership base negative", in: wrap(setBody(base(1<<64 - 1)))},
		{name: "base truncated to int32 as prost does", in: wrap(setBody(base(1<<32 | 1))), want: ptrSet(withAdd(NewMembershipPolicy(Allow)))},
		{name: "permissions base 4 undefined", in: wrap(field(field(field(field(field(nil, 1, base(1)), 2, base(3)), 4, base(4)), 5, base(3)), 6, base(3)))},
		{name: "empty and", in: wrap(setBody(field(nil, 2, nil)))},
		{name: "empty any", in: wrap(setBody(field(nil, 3, nil)))},
		{name: "and with an unset child", in: wrap(setBody(field(nil, 2, field(nil, 1, nil))))},
		{name: "wrong wire type on a known field", in: wrap(append(setBody(base(1)), base(1)...)),
			comment: "field 1 of PolicySet as a varint: Go would keep it as an unknown field, prost fails"},
		{name: "wrong wire type on base", in: wrap(setBody(field(nil, 1, []byte{1})))},
		{name: "unknown fields skipped", in: wrap(setBody(append(base(1), unknownVarint...), unknownVarint, group)),
			want: ptrSet(withAdd(NewMembershipPolicy(Allow)))},
		{name: "mismatched end group", in: wrap(setBody(base(1), badGroup))},
		{name: "stray end group", in: wrap(setBody(base(1), protowire.AppendTag(nil, 9, protowire.EndGroupType)))},
		{name: "wire type 6", in: wrap(setBody(base(1), []byte{0x4e}))},
		{name: "field number 0", in: wrap(setBody(base(1), []byte{0x00, 0x00}))},
		{name: "truncated", in: wrap(setBody(base(1)))[:20]},
		{name: "trailing garbage", in: append(wrap(setBody(base(1))), 0x0a)},
		{name: "repeated base merges to last", in: wrap(setBody(append(base(1), base(3)...))), want: ptrSet(withAdd(NewMembershipPolicy(AllowIfAdmin)))},
		{name: "repeated singular message merges", in: wrap(setBody(base(1), field(nil, 1, base(4)))), want: ptrSet(withAdd(NewMembershipPolicy(AllowIfSuperAdmin)))},
		{name: "same condition merges its children", in: wrap(setBody(append(field(nil, 2, field(nil, 1, base(3))), field(nil, 2, field(nil, 1, base(4)))...))),
			want: ptrSet(withAdd(And(NewMembershipPolicy(AllowIfAdmin), NewMembershipPolicy(AllowIfSuperAdmin))))},
		{name: "other variant replaces", in: wrap(setBody(append(field(nil, 2, field(nil, 1, base(3))), base(2)...))), want: ptrSet(withAdd(NewMembershipPolicy(Deny)))},
		{name: "condition replaces base", in: wrap(setBody(append(base(2), field(nil, 3, field(nil, 1, base(3)))...))), want: ptrSet(withAdd(Any(NewMembershipPolicy(AllowIfAdmin))))},
		{name: "nested 49 levels (depth 100)", in: wrap(setBody(nested(49, nil))), want: ptrSet(withAdd(nestedPolicy(49)))},
		{name: "nested 50 levels (depth 102) exceeds prost's limit", in: wrap(setBody(nested(50, nil))),
			comment: "Go's protobuf allows 10000 levels"},
		{name: "unknown field at depth 100 hits the limit", in: wrap(setBody(nested(49, unknownVarint)))},
		{name: "unknown field at depth 98", in: wrap(setBody(nested(48, unknownVarint))), want: ptrSet(withAdd(nestedPolicy(48)))},
		{name: "metadata entry", in: wrap(setBody(base(1), field(nil, 3, metaEntry("topic", base(2))))),
			want: ptrSet(withMeta("topic", NewMetadataPolicy(Deny)))},
		{name: "metadata entry with a varint wire type", in: wrap(setBody(base(1), oddEntry)),
			want: ptrSet(withMeta("topic", NewMetadataPolicy(Deny))), comment: "prost's map merge ignores the wire type"},
		{name: "metadata entry without key", in: wrap(setBody(base(1), field(nil, 3, field(nil, 2, base(2))))),
			want: ptrSet(withMeta("", NewMetadataPolicy(Deny)))},
		{name: "metadata entry without value", in: wrap(setBody(base(1), field(nil, 3, field(nil, 1, []byte("topic")))))},
		{name: "metadata duplicate key keeps the last", in: wrap(setBody(base(1), field(nil, 3, metaEntry("topic", base(2))), field(nil, 3, metaEntry("topic", base(4))))),
			want: ptrSet(withMeta("topic", NewMetadataPolicy(AllowIfSuperAdmin)))},
		{name: "metadata key not UTF-8", in: wrap(setBody(base(1), field(nil, 3, metaEntry("\xff", base(2)))))},
		{name: "metadata nested 48 levels", in: wrap(setBody(base(1), field(nil, 3, metaEntry("k", nested(48, nil))))),
			want: ptrSet(withMeta("k", MetadataPolicy(nestedPolicy(48))))},
		{name: "metadata nested 49 levels exceeds the limit", in: wrap(setBody(base(1), field(nil, 3, metaEntry("k", nested(49, nil)))))},
		{name: "metadata base 5 undefined", in: wrap(setBody(base(1), field(nil, 3, metaEntry("k", base(5)))))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Unmarshal(tt.in)
			if tt.want == nil {
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("Unmarshal() = %+v, %v; want a *DecodeError (%s)", got, err, tt.comment)
				}
				if !strings.HasPrefix(err.Error(), "policy: decode permissions: ") {
					t.Errorf("error text %q lacks the package prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal() = %v (%s)", err, tt.comment)
			}
			if !got.Equal(*tt.want) {
				t.Errorf("Unmarshal() = %+v, want %+v", got, *tt.want)
			}
		})
	}
}

func ptrSet(s PolicySet) *PolicySet { return &s }

func simpleSet() PolicySet {
	return PolicySet{
		AddMember: NewMembershipPolicy(Allow), RemoveMember: NewMembershipPolicy(AllowIfAdmin),
		AddAdmin: NewPermissionsPolicy(AllowIfSuperAdmin), RemoveAdmin: NewPermissionsPolicy(AllowIfSuperAdmin),
		UpdatePermissions: NewPermissionsPolicy(AllowIfSuperAdmin),
	}
}

func withAdd(p MembershipPolicy) PolicySet {
	s := simpleSet()
	s.AddMember = p
	return s
}

func withMeta(k MetadataField, p MetadataPolicy) PolicySet {
	s := simpleSet()
	s.UpdateMetadata = map[MetadataField]MetadataPolicy{k: p}
	return s
}

func nestedPolicy(n int) MembershipPolicy {
	p := NewMembershipPolicy(Allow)
	for range n {
		p = And(p)
	}
	return p
}
