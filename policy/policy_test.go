package policy

import (
	"errors"
	"testing"
)

func TestBasePolicyValidity(t *testing.T) {
	tests := []struct {
		base                            BasePolicy
		membership, metadata, permitted bool
	}{
		{0, false, false, false},
		{Allow, true, true, false},
		{Deny, true, true, true},
		{AllowIfAdmin, true, true, true},
		{AllowIfSuperAdmin, true, true, true},
		{AllowSameMember, true, false, false},
		{AllowSameMember + 1, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.base.String(), func(t *testing.T) {
			if got := NewMembershipPolicy(tt.base).Validate() == nil; got != tt.membership {
				t.Errorf("membership valid = %v, want %v", got, tt.membership)
			}
			if got := NewMetadataPolicy(tt.base).Validate() == nil; got != tt.metadata {
				t.Errorf("metadata valid = %v, want %v", got, tt.metadata)
			}
			if got := NewPermissionsPolicy(tt.base).Validate() == nil; got != tt.permitted {
				t.Errorf("permissions valid = %v, want %v", got, tt.permitted)
			}
		})
	}
}

func TestCombinators(t *testing.T) {
	admin := NewMembershipPolicy(AllowIfAdmin)
	self := NewMembershipPolicy(AllowSameMember)
	member := Participant{Inbox: inbox(1), Role: RoleMember}
	adminP := Participant{Inbox: inbox(2), Role: RoleAdmin}
	tests := []struct {
		name    string
		p       MembershipPolicy
		actor   Participant
		subject int
		want    bool
	}{
		{"and/admin removing self", And(admin, self), adminP, 2, true},
		{"and/admin removing other", And(admin, self), adminP, 1, false},
		{"and/member removing self", And(admin, self), member, 1, false},
		{"any/member removing self", Any(admin, self), member, 1, true},
		{"any/member removing other", Any(admin, self), member, 3, false},
		{"any/admin removing other", Any(admin, self), adminP, 3, true},
		{"nested", Any(NewMembershipPolicy(Deny), And(admin, Any(self, NewMembershipPolicy(AllowIfSuperAdmin)))), adminP, 2, true},
		{"empty and allows, as libxmtp's all()", And[MembershipPolicy](), member, 1, true},
		{"empty any denies, as libxmtp's any()", Any[MembershipPolicy](), member, 1, false},
		{"zero value denies", MembershipPolicy{}, adminP, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Allows(tt.actor, inbox(tt.subject)); got != tt.want {
				t.Errorf("%s.Allows = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"and of admin and same member", And(NewMembershipPolicy(AllowIfAdmin), NewMembershipPolicy(AllowSameMember)).Validate(), false},
		{"any of metadata bases", Any(NewMetadataPolicy(AllowIfAdmin), NewMetadataPolicy(Allow)).Validate(), false},
		{"empty and", And[MetadataPolicy]().Validate(), true},
		{"empty any nested", Any(NewPermissionsPolicy(Deny), Any[PermissionsPolicy]()).Validate(), true},
		{"allow inside permissions any", Any(NewPermissionsPolicy(Deny), NewPermissionsPolicy(Allow)).Validate(), true},
		{"same member in metadata", NewMetadataPolicy(AllowSameMember).Validate(), true},
		{"zero value", PermissionsPolicy{}.Validate(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if (tt.err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, want error %v", tt.err, tt.wantErr)
			}
			if tt.err != nil && !errors.Is(tt.err, ErrInvalidPolicy) {
				t.Errorf("Validate() = %v, want ErrInvalidPolicy", tt.err)
			}
		})
	}
	if got, want := And(NewMembershipPolicy(AllowIfAdmin), NewMembershipPolicy(AllowSameMember)).String(), "and(admin, same_member)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestParseBasePolicy(t *testing.T) {
	for b := Allow; b <= AllowSameMember; b++ {
		got, err := ParseBasePolicy(b.String())
		if err != nil || got != b {
			t.Errorf("ParseBasePolicy(%q) = %v, %v; want %v", b.String(), got, err, b)
		}
	}
	if _, err := ParseBasePolicy("admins"); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("ParseBasePolicy(admins) error = %v, want ErrInvalidPolicy", err)
	}
}

// TestPresets pins every entry of the three presets to xmtp-groups §3.2.
func TestPresets(t *testing.T) {
	type want struct {
		add, remove                    BasePolicy
		name, desc, image, appData     BasePolicy
		fromNS, inNS, minVersion       BasePolicy
		addAdmin, removeAdmin, updPerm BasePolicy
	}
	tests := []struct {
		name   string
		set    PolicySet
		want   want
		preset Preset
	}{
		{"default", Default(), want{
			Allow, AllowIfAdmin,
			Allow, Allow, Allow, Allow,
			AllowIfAdmin, AllowIfAdmin, AllowIfSuperAdmin,
			AllowIfSuperAdmin, AllowIfSuperAdmin, AllowIfSuperAdmin,
		}, PresetDefault},
		{"admins only", AdminsOnly(), want{
			AllowIfAdmin, AllowIfAdmin,
			AllowIfAdmin, AllowIfAdmin, AllowIfAdmin, AllowIfAdmin,
			AllowIfAdmin, AllowIfAdmin, AllowIfSuperAdmin,
			AllowIfSuperAdmin, AllowIfSuperAdmin, AllowIfSuperAdmin,
		}, PresetAdminsOnly},
		{"dm", DM(), want{
			Deny, Deny,
			Allow, Allow, Allow, Allow,
			Allow, Allow, Allow,
			Deny, Deny, Deny,
		}, PresetCustom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.set
			if err := s.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			if len(s.UpdateMetadata) != 7 {
				t.Errorf("%d metadata entries, want the 7 supported fields", len(s.UpdateMetadata))
			}
			checkBase(t, "add_member", s.AddMember.Base, tt.want.add)
			checkBase(t, "remove_member", s.RemoveMember.Base, tt.want.remove)
			for f, b := range map[MetadataField]BasePolicy{
				FieldGroupName: tt.want.name, FieldDescription: tt.want.desc,
				FieldGroupImageURLSquare: tt.want.image, FieldAppData: tt.want.appData,
				FieldMessageDisappearFromNS: tt.want.fromNS, FieldMessageDisappearInNS: tt.want.inNS,
				FieldMinimumSupportedProtocolVersion: tt.want.minVersion,
			} {
				checkBase(t, string(f), s.UpdateMetadata[f].Base, b)
			}
			checkBase(t, "add_admin", s.AddAdmin.Base, tt.want.addAdmin)
			checkBase(t, "remove_admin", s.RemoveAdmin.Base, tt.want.removeAdmin)
			checkBase(t, "update_permissions", s.UpdatePermissions.Base, tt.want.updPerm)
			if got := s.Preset(); got != tt.preset {
				t.Errorf("Preset() = %v, want %v", got, tt.preset)
			}
		})
	}
}

func checkBase(t *testing.T, name string, base func() (BasePolicy, bool), want BasePolicy) {
	t.Helper()
	if got, ok := base(); !ok || got != want {
		t.Errorf("%s = %v (plain %v), want %v", name, got, ok, want)
	}
}

func TestPresetRecognition(t *testing.T) {
	without := func(s PolicySet, fields ...MetadataField) PolicySet {
		s = s.Clone()
		for _, f := range fields {
			delete(s.UpdateMetadata, f)
		}
		return s
	}
	with := func(s PolicySet, f MetadataField, b BasePolicy) PolicySet {
		s = s.Clone()
		s.UpdateMetadata[f] = NewMetadataPolicy(b)
		return s
	}
	tests := []struct {
		name string
		set  PolicySet
		want Preset
	}{
		{"default", Default(), PresetDefault},
		{"default from an old group without app_data or min version", without(Default(), FieldAppData, FieldMinimumSupportedProtocolVersion), PresetDefault},
		{"default with no metadata entries", without(Default(), SupportedFields()...), PresetDefault},
		{"default with an extra allow entry", with(Default(), "topic", Allow), PresetDefault},
		{"default with an extra admin entry", with(Default(), "topic", AllowIfAdmin), PresetCustom},
		{"default with admin-only name", with(Default(), FieldGroupName, AllowIfAdmin), PresetCustom},
		{"admins only", AdminsOnly(), PresetAdminsOnly},
		{"admins only with allow description", with(AdminsOnly(), FieldDescription, Allow), PresetCustom},
		{"dm", DM(), PresetCustom},
		{"zero", PolicySet{}, PresetCustom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.set.Preset(); got != tt.want {
				t.Errorf("Preset() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParsePreset(t *testing.T) {
	for name, want := range map[string]Preset{"default": PresetDefault, "all_members": PresetDefault, "admins_only": PresetAdminsOnly, "dm": PresetDM} {
		got, err := ParsePreset(name)
		if err != nil || got != want {
			t.Errorf("ParsePreset(%q) = %v, %v; want %v", name, got, err, want)
		}
		set, ok := got.PolicySet()
		if !ok || set.Validate() != nil {
			t.Errorf("%v.PolicySet() = %v, %v", got, ok, set.Validate())
		}
	}
	if _, err := ParsePreset("custom"); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("ParsePreset(custom) error = %v, want ErrInvalidPolicy", err)
	}
	if _, ok := PresetCustom.PolicySet(); ok {
		t.Error("PresetCustom.PolicySet() ok = true")
	}
}

func TestPolicySetEqualAndClone(t *testing.T) {
	a, b := Default(), Default()
	if !a.Equal(b) {
		t.Fatal("Default() != Default()")
	}
	c := a.Clone()
	c.UpdateMetadata[FieldGroupName] = NewMetadataPolicy(Deny)
	if a.Equal(c) {
		t.Error("Clone shares its map with the original")
	}
	if !a.Equal(Default()) {
		t.Error("changing a clone changed the original")
	}
	x := Default()
	x.AddMember = And(NewMembershipPolicy(AllowIfAdmin), NewMembershipPolicy(Allow))
	y := Default()
	y.AddMember = And(NewMembershipPolicy(Allow), NewMembershipPolicy(AllowIfAdmin))
	if x.Equal(y) {
		t.Error("combinator child order ignored by Equal (libxmtp compares Vecs in order)")
	}
	empty, nilMap := Default(), Default()
	empty.UpdateMetadata = map[MetadataField]MetadataPolicy{}
	nilMap.UpdateMetadata = nil
	if !empty.Equal(nilMap) {
		t.Error("empty map != nil map")
	}
}

func TestUpdatePermissionPolicy(t *testing.T) {
	tests := []struct {
		name    string
		typ     PermissionUpdateType
		base    BasePolicy
		field   MetadataField
		check   func(PolicySet) bool
		wantErr bool
	}{
		{"add member admin only", UpdateAddMember, AllowIfAdmin, "", func(s PolicySet) bool { return s.AddMember.Equal(NewMembershipPolicy(AllowIfAdmin)) }, false},
		{"add member allow", UpdateAddMember, Allow, "", func(s PolicySet) bool { return s.AddMember.Equal(NewMembershipPolicy(Allow)) }, false},
		{"remove member deny", UpdateRemoveMember, Deny, "", func(s PolicySet) bool { return s.RemoveMember.Equal(NewMembershipPolicy(Deny)) }, false},
		{"remove member super admin", UpdateRemoveMember, AllowIfSuperAdmin, "", func(s PolicySet) bool {
			return s.RemoveMember.Equal(NewMembershipPolicy(AllowIfSuperAdmin))
		}, false},
		{"add admin admin only", UpdateAddAdmin, AllowIfAdmin, "", func(s PolicySet) bool { return s.AddAdmin.Equal(NewPermissionsPolicy(AllowIfAdmin)) }, false},
		{"remove admin deny", UpdateRemoveAdmin, Deny, "", func(s PolicySet) bool { return s.RemoveAdmin.Equal(NewPermissionsPolicy(Deny)) }, false},
		{"metadata name deny", UpdateMetadataField, Deny, FieldGroupName, func(s PolicySet) bool {
			return s.UpdateMetadata[FieldGroupName].Equal(NewMetadataPolicy(Deny)) && len(s.UpdateMetadata) == 7
		}, false},
		{"metadata new custom key", UpdateMetadataField, AllowIfSuperAdmin, "topic", func(s PolicySet) bool {
			return s.UpdateMetadata["topic"].Equal(NewMetadataPolicy(AllowIfSuperAdmin)) && len(s.UpdateMetadata) == 8
		}, false},
		{"add admin allow is refused", UpdateAddAdmin, Allow, "", nil, true},
		{"remove admin allow is refused", UpdateRemoveAdmin, Allow, "", nil, true},
		{"same member is not an option", UpdateRemoveMember, AllowSameMember, "", nil, true},
		{"zero policy", UpdateAddMember, 0, "", nil, true},
		{"metadata without a field", UpdateMetadataField, Allow, "", nil, true},
		{"field with a membership update", UpdateAddMember, Allow, FieldGroupName, nil, true},
		{"unknown update type", 0, Allow, "", nil, true},
		{"update type 6 does not exist", 6, Deny, "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := Default()
			got, err := UpdatePermissionPolicy(before, tt.typ, tt.base, tt.field)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidPermissionUpdate) {
					t.Fatalf("error = %v, want ErrInvalidPermissionUpdate", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if !tt.check(got) {
				t.Errorf("result %+v lacks the update", got)
			}
			if !before.Equal(Default()) {
				t.Error("the input set was modified")
			}
			if !got.UpdatePermissions.Equal(before.UpdatePermissions) {
				t.Error("update_permissions changed")
			}
			if _, err := Marshal(got); err != nil {
				t.Errorf("Marshal(result) = %v", err)
			}
		})
	}
}

func TestCustomPolicies(t *testing.T) {
	c := CustomPolicies{
		AddMember: AllowIfAdmin, RemoveMember: AllowIfAdmin, AddAdmin: AllowIfSuperAdmin, RemoveAdmin: AllowIfSuperAdmin,
		GroupName: Allow, Description: Deny, GroupImageURLSquare: AllowIfAdmin, MessageDisappearing: AllowIfAdmin, AppData: Allow,
	}
	s, err := c.PolicySet()
	if err != nil {
		t.Fatalf("PolicySet() = %v", err)
	}
	if len(s.UpdateMetadata) != 5 {
		t.Errorf("%d metadata entries, want 5 (as the bindings write)", len(s.UpdateMetadata))
	}
	if _, ok := s.UpdateMetadata[FieldMessageDisappearFromNS]; ok {
		t.Error("message_disappear_from_ns has an entry; the bindings write only in_ns")
	}
	checkBase(t, "update_permissions", s.UpdatePermissions.Base, AllowIfSuperAdmin)
	checkBase(t, "description", s.UpdateMetadata[FieldDescription].Base, Deny)
	if p, explicit := s.MetadataPolicyFor(FieldMinimumSupportedProtocolVersion); explicit || !p.Equal(NewMetadataPolicy(AllowIfAdmin)) {
		t.Errorf("min version policy = %v (explicit %v), want admin fallback", p, explicit)
	}

	for name, bad := range map[string]CustomPolicies{
		"allow for add admin":      {AddMember: Allow, RemoveMember: Allow, AddAdmin: Allow, RemoveAdmin: Deny, GroupName: Allow, Description: Allow, GroupImageURLSquare: Allow, MessageDisappearing: Allow, AppData: Allow},
		"same member for removal":  {AddMember: Allow, RemoveMember: AllowSameMember, AddAdmin: Deny, RemoveAdmin: Deny, GroupName: Allow, Description: Allow, GroupImageURLSquare: Allow, MessageDisappearing: Allow, AppData: Allow},
		"missing app data policy":  {AddMember: Allow, RemoveMember: Allow, AddAdmin: Deny, RemoveAdmin: Deny, GroupName: Allow, Description: Allow, GroupImageURLSquare: Allow, MessageDisappearing: Allow},
		"same member for metadata": {AddMember: Allow, RemoveMember: Allow, AddAdmin: Deny, RemoveAdmin: Deny, GroupName: AllowSameMember, Description: Allow, GroupImageURLSquare: Allow, MessageDisappearing: Allow, AppData: Allow},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := bad.PolicySet(); !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("PolicySet() error = %v, want ErrInvalidPolicy", err)
			}
		})
	}
}

func TestMetadataFieldRules(t *testing.T) {
	tests := []struct {
		field    MetadataField
		limit    int
		fallback BasePolicy
	}{
		{FieldGroupName, 100, AllowIfAdmin},
		{FieldDescription, 1000, AllowIfAdmin},
		{FieldGroupImageURLSquare, 2048, AllowIfAdmin},
		{FieldAppData, 8192, AllowIfAdmin},
		{FieldMessageDisappearInNS, 0, AllowIfAdmin},
		{FieldCommitLogSigner, 0, AllowIfSuperAdmin},
		{"_anything", 0, AllowIfSuperAdmin},
		{"topic_", 0, AllowIfAdmin},
	}
	for _, tt := range tests {
		t.Run(string(tt.field), func(t *testing.T) {
			limit, ok := tt.field.MaxLength()
			if ok != (tt.limit > 0) || limit != tt.limit {
				t.Errorf("MaxLength() = %d, %v; want %d", limit, ok, tt.limit)
			}
			if got := tt.field.FallbackPolicy(); !got.Equal(NewMetadataPolicy(tt.fallback)) {
				t.Errorf("FallbackPolicy() = %v, want %v", got, tt.fallback)
			}
		})
	}
}
