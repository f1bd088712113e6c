package client

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"mlsbridge/identity"
	"mlsbridge/policy"
	"mlsbridge/storage"
)

// govTrio is a group of three Go clients on one node: super (creator,
// super admin), admin (on the admin list) and member.
type govTrio struct {
	super, admin, member *Client
	gs, ga, gm           *Group
}

func newGovTrio(t *testing.T, addr string) *govTrio {
	t.Helper()
	ctx := ctxT(t)
	tr := &govTrio{}
	tr.super, _, _ = newTestClient(t, addr, "gov-super")
	tr.admin, _, _ = newTestClient(t, addr, "gov-admin")
	tr.member, _, _ = newTestClient(t, addr, "gov-member")
	var err error
	tr.gs, _, err = tr.super.CreateGroupWithMembers(ctx, &GroupOptions{Name: "trio"}, []identity.InboxID{tr.admin.InboxID(), tr.member.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.gs.AddAdmin(ctx, tr.admin.InboxID()); err != nil {
		t.Fatalf("add admin: %v", err)
	}
	tr.ga, tr.gm = joinOne(t, tr.admin), joinOne(t, tr.member)
	return tr
}

// govInfo syncs g and returns its info.
func govInfo(t *testing.T, g *Group) *GroupInfo {
	t.Helper()
	if err := g.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	info, err := g.Info(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// wantDenied fails unless err is a *policy.DeniedError decided by rule.
func wantDenied(t *testing.T, what string, err error, rule policy.RuleID) {
	t.Helper()
	var denied *policy.DeniedError
	if !errors.As(err, &denied) {
		t.Fatalf("%s: error %v, want a denial by %s", what, err, rule)
	}
	if denied.Decision.Rule.ID != rule || !strings.Contains(err.Error(), string(rule)) {
		t.Fatalf("%s: denied by %s (%v), want %s", what, denied.Decision.Rule.ID, err, rule)
	}
}

// TestGovernanceRoles applies every governance operation as each role
// under each policy, in order on one group (xmtp-groups.md §3): allowed
// changes are committed and seen by the others; denied ones name the
// deciding rule and publish nothing.
func TestGovernanceRoles(t *testing.T) {
	tn := startTestNode(t)
	tr := newGovTrio(t, tn.addr)
	byRole := map[string]*Group{"super": tr.gs, "admin": tr.ga, "member": tr.gm}
	member, admin, super := tr.member.InboxID(), tr.admin.InboxID(), tr.super.InboxID()
	type op func(ctx context.Context, g *Group) error
	name := func(v string) op {
		return func(ctx context.Context, g *Group) error { return g.UpdateGroupName(ctx, v) }
	}
	attr := func(k policy.MetadataField, v string) op {
		return func(ctx context.Context, g *Group) error { return g.UpdateAttribute(ctx, k, v) }
	}
	perm := func(pt policy.PermissionUpdateType, b policy.BasePolicy, f policy.MetadataField) op {
		return func(ctx context.Context, g *Group) error { return g.UpdatePermissionPolicy(ctx, pt, b, f) }
	}
	admins := func(fn func(*Group, context.Context, identity.InboxID) error, in identity.InboxID) op {
		return func(ctx context.Context, g *Group) error { return fn(g, ctx, in) }
	}
	disappear := func(ctx context.Context, g *Group) error { return g.UpdateDisappearingSettings(ctx, 10, 20) }
	for _, tc := range []struct {
		name string
		role string
		do   op
		rule policy.RuleID // "" means allowed
	}{
		{"member renames (default: allow)", "member", name("by member"), ""},
		{"member sets description", "member", func(ctx context.Context, g *Group) error { return g.UpdateGroupDescription(ctx, "d") }, ""},
		{"member sets image", "member", func(ctx context.Context, g *Group) error { return g.UpdateGroupImageURLSquare(ctx, "https://i") }, ""},
		{"member sets app data", "member", func(ctx context.Context, g *Group) error { return g.UpdateAppData(ctx, "a") }, ""},
		{"member sets disappearing (admin only)", "member", disappear, policy.RuleUpdateMetadata},
		{"admin sets disappearing", "admin", disappear, ""},
		{"member sets custom key (fallback admin)", "member", attr("topic", "x"), policy.RuleMetadataFallback},
		{"admin sets custom key", "admin", attr("topic", "x"), ""},
		{"admin sets _key (fallback super admin)", "admin", attr("_secret", "x"), policy.RuleMetadataFallback},
		{"super sets _key", "super", attr("_secret", "x"), ""},
		{"admin sets min version (super admin only)", "admin", attr(policy.FieldMinimumSupportedProtocolVersion, "1.0.0"), policy.RuleUpdateMetadata},
		{"admin changes permissions", "admin", perm(policy.UpdateMetadataField, policy.AllowIfAdmin, policy.FieldGroupName), policy.RuleUpdatePermissions},
		{"member changes permissions", "member", perm(policy.UpdateAddMember, policy.Deny, ""), policy.RuleUpdatePermissions},
		{"super makes name admin-only", "super", perm(policy.UpdateMetadataField, policy.AllowIfAdmin, policy.FieldGroupName), ""},
		{"member renames (admin only)", "member", name("member again"), policy.RuleUpdateMetadata},
		{"admin renames (admin only)", "admin", name("by admin"), ""},
		{"super makes name super-admin-only", "super", perm(policy.UpdateMetadataField, policy.AllowIfSuperAdmin, policy.FieldGroupName), ""},
		{"admin renames (super admin only)", "admin", name("admin again"), policy.RuleUpdateMetadata},
		{"super renames", "super", name("by super"), ""},
		{"super denies renaming", "super", perm(policy.UpdateMetadataField, policy.Deny, policy.FieldGroupName), ""},
		{"super renames (deny)", "super", name("nobody"), policy.RuleUpdateMetadata},
		{"admin adds admin (super admin only)", "admin", admins((*Group).AddAdmin, member), policy.RuleAddAdmin},
		{"super lets admins add admins", "super", perm(policy.UpdateAddAdmin, policy.AllowIfAdmin, ""), ""},
		{"member adds admin", "member", admins((*Group).AddAdmin, member), policy.RuleAddAdmin},
		{"admin adds admin", "admin", admins((*Group).AddAdmin, member), ""},
		{"admin removes admin (super admin only)", "admin", admins((*Group).RemoveAdmin, member), policy.RuleRemoveAdmin},
		{"super removes admin", "super", admins((*Group).RemoveAdmin, member), ""},
		{"admin adds super admin", "admin", admins((*Group).AddSuperAdmin, admin), policy.RuleAddSuperAdmin},
		{"admin removes super admin", "admin", admins((*Group).RemoveSuperAdmin, super), policy.RuleRemoveSuperAdmin},
		{"last super admin steps down", "super", admins((*Group).RemoveSuperAdmin, super), policy.RuleLastSuperAdmin},
		{"super adds super admin", "super", admins((*Group).AddSuperAdmin, admin), ""},
		{"super steps down", "super", admins((*Group).RemoveSuperAdmin, super), ""},
		{"old super changes permissions", "super", perm(policy.UpdateRemoveMember, policy.Deny, ""), policy.RuleUpdatePermissions},
		{"new super changes permissions", "admin", perm(policy.UpdateRemoveMember, policy.Deny, ""), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			g := byRole[tc.role]
			before := govInfo(t, g)
			err := tc.do(ctx, g)
			after := govInfo(t, g)
			if tc.rule == "" {
				if err != nil {
					t.Fatalf("want allowed, got %v", err)
				}
				if after.Epoch <= before.Epoch {
					t.Fatalf("nothing committed: epoch %d → %d", before.Epoch, after.Epoch)
				}
				for _, other := range byRole {
					if oi := govInfo(t, other); oi.Epoch != after.Epoch {
						t.Fatalf("another member is at epoch %d, want %d", oi.Epoch, after.Epoch)
					}
				}
				return
			}
			wantDenied(t, "operation", err, tc.rule)
			if after.Epoch != before.Epoch {
				t.Fatalf("a denied change was committed: epoch %d → %d", before.Epoch, after.Epoch)
			}
		})
	}
	info := govInfo(t, tr.gm)
	if info.Name() != "by super" || info.Description() != "d" || info.ImageURLSquare() != "https://i" || info.AppData() != "a" ||
		info.Attributes["topic"] != "x" || info.Attributes["_secret"] != "x" {
		t.Errorf("member reads attributes %v", info.Attributes)
	}
	if !slices.Equal(info.SuperAdmins, []identity.InboxID{admin}) || !slices.Equal(info.Admins, []identity.InboxID{admin}) {
		t.Errorf("member reads admins %v super admins %v", info.Admins, info.SuperAdmins)
	}
	if !info.Permissions.RemoveMember.Equal(policy.NewMembershipPolicy(policy.Deny)) {
		t.Errorf("remove_member policy = %v", info.Permissions.RemoveMember)
	}
}

// TestGovernanceAdminQueries checks the admin getters and that admin-list
// changes keep insertion order and commit nothing when there is nothing
// to change.
func TestGovernanceAdminQueries(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t)
	tr := newGovTrio(t, tn.addr)
	member, admin, super := tr.member.InboxID(), tr.admin.InboxID(), tr.super.InboxID()
	if err := tr.gs.AddAdmin(ctx, member); err != nil {
		t.Fatal(err)
	}
	epoch := govInfo(t, tr.gs).Epoch
	if err := tr.gs.AddAdmin(ctx, admin); err != nil {
		t.Fatalf("add an admin again: %v", err)
	}
	if err := tr.gs.RemoveAdmin(ctx, super); err != nil {
		t.Fatalf("remove a non-admin: %v", err)
	}
	if e := govInfo(t, tr.gs).Epoch; e != epoch {
		t.Errorf("no-op admin changes committed: epoch %d → %d", epoch, e)
	}
	if err := tr.gm.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := tr.gm.Admins(ctx)
	if err != nil || !slices.Equal(got, []identity.InboxID{admin, member}) {
		t.Errorf("Admins = %v, %v; want [admin member] in insertion order", got, err)
	}
	for _, c := range []struct {
		in           identity.InboxID
		admin, super bool
	}{{super, false, true}, {admin, true, false}, {member, true, false}} {
		a, err1 := tr.gm.IsAdmin(ctx, c.in)
		s, err2 := tr.gm.IsSuperAdmin(ctx, c.in)
		if a != c.admin || s != c.super || err1 != nil || err2 != nil {
			t.Errorf("%s: IsAdmin %v IsSuperAdmin %v (%v %v), want %v %v", c.in, a, s, err1, err2, c.admin, c.super)
		}
	}
	if supers, err := tr.gm.SuperAdmins(ctx); err != nil || !slices.Equal(supers, []identity.InboxID{super}) {
		t.Errorf("SuperAdmins = %v, %v", supers, err)
	}
	ps, err := tr.gm.PermissionPolicySet(ctx)
	if err != nil || ps.Preset() != policy.PresetDefault {
		t.Errorf("PermissionPolicySet = %v (%v), want the default preset", ps, err)
	}
	ps.UpdateMetadata[policy.FieldGroupName] = policy.NewMetadataPolicy(policy.Deny)
	if again, _ := tr.gm.PermissionPolicySet(ctx); again.Preset() != policy.PresetDefault {
		t.Error("PermissionPolicySet returned the group's own map")
	}
	if err := tr.gs.AddAdmin(ctx, "not-an-inbox"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("AddAdmin(bad id) = %v", err)
	}
}

// TestGovernanceMetadata covers the attribute setters: the values members
// read, the transcript records, byte (not character) limits and value
// checks, and no commit when the value is already set.
func TestGovernanceMetadata(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t)
	tr := newGovTrio(t, tn.addr)
	g := tr.gs
	long := func(n int) string { return strings.Repeat("x", n) }
	for _, c := range []struct {
		what  string
		set   func(string) error
		limit int
	}{
		{"name", func(v string) error { return g.UpdateGroupName(ctx, v) }, 100},
		{"description", func(v string) error { return g.UpdateGroupDescription(ctx, v) }, 1000},
		{"image", func(v string) error { return g.UpdateGroupImageURLSquare(ctx, v) }, 2048},
		{"app data", func(v string) error { return g.UpdateAppData(ctx, v) }, 8192},
	} {
		if err := c.set(long(c.limit + 1)); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s of %d bytes: %v, want ErrInvalidArgument", c.what, c.limit+1, err)
		}
		if err := c.set(long(c.limit)); err != nil {
			t.Errorf("%s of %d bytes: %v", c.what, c.limit, err)
		}
	}
	// 51 two-byte characters are 102 bytes: too long for a name.
	if err := g.UpdateGroupName(ctx, strings.Repeat("é", 51)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("51 two-byte characters: %v", err)
	}
	if err := g.UpdateGroupName(ctx, strings.Repeat("é", 50)); err != nil {
		t.Errorf("50 two-byte characters: %v", err)
	}
	for _, c := range []struct {
		field policy.MetadataField
		value string
	}{
		{"", "x"},
		{policy.FieldMessageDisappearInNS, "soon"},
		{policy.FieldMinimumSupportedProtocolVersion, "1.6"},
		{policy.FieldCommitLogSigner, "abcd"},
	} {
		if err := g.UpdateAttribute(ctx, c.field, c.value); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("UpdateAttribute(%q, %q) = %v, want ErrInvalidArgument", c.field, c.value, err)
		}
	}
	if err := g.UpdateAttribute(ctx, policy.FieldGroupPinnedFrameURL, "https://frame"); err != nil {
		t.Errorf("pinned frame url (fallback admin, we are super admin): %v", err)
	}
	epoch := govInfo(t, g).Epoch
	if err := g.UpdateGroupName(ctx, strings.Repeat("é", 50)); err != nil {
		t.Fatal(err)
	}
	if e := govInfo(t, g).Epoch; e != epoch {
		t.Errorf("setting the same name committed: epoch %d → %d", epoch, e)
	}
	if err := tr.gm.UpdateGroupName(ctx, "final"); err != nil {
		t.Fatal(err)
	}
	if err := tr.ga.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	upd := lastUpdate(t, tr.ga)
	ch := upd.GetMetadataFieldChanges()
	if upd.GetInitiatedByInboxId() != string(tr.member.InboxID()) || len(ch) != 1 || ch[0].GetFieldName() != "group_name" ||
		ch[0].GetOldValue() != strings.Repeat("é", 50) || ch[0].GetNewValue() != "final" {
		t.Errorf("transcript record = %v", upd)
	}
	info := govInfo(t, tr.ga)
	if info.Name() != "final" || info.Description() != long(1000) || info.ImageURLSquare() != long(2048) || info.AppData() != long(8192) ||
		info.Attributes[string(policy.FieldGroupPinnedFrameURL)] != "https://frame" {
		t.Errorf("admin reads %d attributes, name %q", len(info.Attributes), info.Name())
	}
}

// TestGovernanceDisappearing: the settings take two commits (from_ns,
// then in_ns), are read back by others, turn off with "0"/"0", refuse
// negative values, and are checked for both attributes before the first
// commit.
func TestGovernanceDisappearing(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t)
	tr := newGovTrio(t, tn.addr)
	epoch := govInfo(t, tr.ga).Epoch
	if err := tr.ga.UpdateDisappearingSettings(ctx, 1_000, 2_000); err != nil {
		t.Fatal(err)
	}
	if e := govInfo(t, tr.ga).Epoch; e != epoch+2 {
		t.Errorf("epoch %d → %d, want two commits", epoch, e)
	}
	if s, ok, err := tr.gm.DisappearingSettings(ctx); err != nil || ok {
		t.Errorf("member before sync: %+v %v %v", s, ok, err)
	}
	if err := tr.gm.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if s, ok, err := tr.gm.DisappearingSettings(ctx); err != nil || !ok || s != (DisappearingSettings{FromNs: 1_000, InNs: 2_000}) || !s.Enabled() {
		t.Errorf("member reads %+v %v %v", s, ok, err)
	}
	if err := tr.gs.RemoveDisappearingSettings(ctx); err != nil {
		t.Fatal(err)
	}
	info := govInfo(t, tr.gm)
	if s, ok := info.DisappearingSettings(); !ok || s.Enabled() || info.Attributes[AttrDisappearFromNs] != "0" || info.Attributes[AttrDisappearInNs] != "0" {
		t.Errorf("after removal: %+v %v %v", s, ok, info.Attributes)
	}
	if err := tr.gs.UpdateDisappearingSettings(ctx, -1, 5); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("negative from: %v", err)
	}
	// Everyone may set in_ns, but from_ns stays admin-only: the member is
	// refused before anything is committed.
	if err := tr.gs.UpdatePermissionPolicy(ctx, policy.UpdateMetadataField, policy.Allow, policy.FieldMessageDisappearInNS); err != nil {
		t.Fatal(err)
	}
	epoch = govInfo(t, tr.gm).Epoch
	err := tr.gm.UpdateDisappearingSettings(ctx, 7, 8)
	wantDenied(t, "member sets disappearing", err, policy.RuleUpdateMetadata)
	if e := govInfo(t, tr.gm).Epoch; e != epoch {
		t.Errorf("refused settings committed: epoch %d → %d", epoch, e)
	}
}

// TestGovernanceDM: in a DM the sender refuses attribute, admin and
// permission changes (dm_immutable), but either member may set the
// disappearing settings.
func TestGovernanceDM(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t)
	a, _, _ := newTestClient(t, tn.addr, "gov-dm-a")
	b, _, _ := newTestClient(t, tn.addr, "gov-dm-b")
	dm, _, err := a.FindOrCreateDM(ctx, b.InboxID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dm.SendText(ctx, "hi"); err != nil {
		t.Fatal(err)
	}
	wantDenied(t, "rename", dm.UpdateGroupName(ctx, "x"), policy.RuleDMImmutable)
	wantDenied(t, "add admin", dm.AddAdmin(ctx, b.InboxID()), policy.RuleDMImmutable)
	wantDenied(t, "permissions", dm.UpdatePermissionPolicy(ctx, policy.UpdateAddMember, policy.Allow, ""), policy.RuleDMImmutable)
	bd := joinOne(t, b)
	if err := bd.UpdateDisappearingSettings(ctx, 1, 60_000_000_000); err != nil {
		t.Fatalf("dm member sets disappearing: %v", err)
	}
	if err := dm.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if s, ok, _ := dm.DisappearingSettings(ctx); !ok || !s.Enabled() || s.InNs != 60_000_000_000 {
		t.Errorf("dm settings %+v %v", s, ok)
	}
}

// TestGovernancePermissionArguments: bad permission updates are refused
// before any network I/O.
func TestGovernancePermissionArguments(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t)
	c, _, _ := newTestClient(t, tn.addr, "gov-args")
	g, err := c.CreateGroup(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		t     policy.PermissionUpdateType
		b     policy.BasePolicy
		field policy.MetadataField
	}{
		{policy.UpdateAddAdmin, policy.Allow, ""},
		{policy.UpdateMetadataField, policy.Allow, ""},
		{policy.UpdateAddMember, policy.Allow, policy.FieldGroupName},
		{policy.UpdateAddMember, policy.AllowSameMember, ""},
		{0, policy.Allow, ""},
	} {
		if err := g.UpdatePermissionPolicy(ctx, tc.t, tc.b, tc.field); !errors.Is(err, policy.ErrInvalidPermissionUpdate) {
			t.Errorf("UpdatePermissionPolicy(%v, %v, %q) = %v", tc.t, tc.b, tc.field, err)
		}
	}
	// Setting the policy it already has commits nothing.
	before := govInfo(t, g).Epoch
	if err := g.UpdatePermissionPolicy(ctx, policy.UpdateAddMember, policy.Allow, ""); err != nil {
		t.Fatal(err)
	}
	if after := govInfo(t, g).Epoch; after != before {
		t.Errorf("unchanged policy committed: epoch %d → %d", before, after)
	}
}

// govHookConn passes every call to the node, except that when the
// client publishes a group message it first runs hook, or fails with
// fail instead (each once).
type govHookConn struct {
	grpc.ClientConnInterface
	mu   sync.Mutex
	hook func()
	fail error
}

func (h *govHookConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	if strings.HasSuffix(method, "/SendGroupMessages") {
		h.mu.Lock()
		f, fail := h.hook, h.fail
		h.hook, h.fail = nil, nil
		h.mu.Unlock()
		if fail != nil {
			return fail
		}
		if f != nil {
			f()
		}
	}
	return h.ClientConnInterface.Invoke(ctx, method, args, reply, opts...)
}

// newHookedClient registers a client that reaches the node through a
// govHookConn; it returns the client, its conn and its database path.
func newHookedClient(t *testing.T, addr, name string) (*Client, *govHookConn, string) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	hc := &govHookConn{ClientConnInterface: conn}
	w, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/" + name + ".db3"
	c, err := New(ctxT(t), w, Options{Conn: hc, DBPath: path, Logger: testLogger(t, name)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Register(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	return c, hc, path
}

// openIntents returns the group's intents that are not failed.
func openIntents(t *testing.T, c *Client, g *Group) []storage.ClientIntent {
	t.Helper()
	in, err := c.db.Intents(ctxT(t), g.ID(), int16(IntentToPublish), int16(IntentPublished), int16(IntentCommitted))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestGovernanceCommitSurvivesOutage: a staged metadata commit the node
// did not take stays queued with its pending state, survives closing the
// client, and is published by PublishPending after reopening.
func TestGovernanceCommitSurvivesOutage(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t)
	owner, hc, path := newHookedClient(t, tn.addr, "gov-outage")
	other, _, _ := newTestClient(t, tn.addr, "gov-outage-member")
	g, _, err := owner.CreateGroupWithMembers(ctx, nil, []identity.InboxID{other.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	og := joinOne(t, other)
	hc.mu.Lock()
	hc.fail = status.Error(codes.Unavailable, "node unreachable")
	hc.mu.Unlock()
	if err := g.UpdateGroupName(ctx, "after outage"); err == nil || !strings.Contains(err.Error(), "node unreachable") {
		t.Fatalf("rename during outage: %v", err)
	}
	if in := openIntents(t, owner, g); len(in) != 1 || IntentKind(in[0].Kind) != IntentMetadataUpdate || IntentState(in[0].State) != IntentToPublish {
		t.Fatalf("queued intents %+v, want one metadata update to publish", in)
	}
	if err := owner.Close(); err != nil {
		t.Fatal(err)
	}
	reopened, err := New(ctx, nil, Options{Conn: hc, DBPath: path, Logger: testLogger(t, "gov-outage-2")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reopened.Close() })
	if err := reopened.PublishPending(ctx); err != nil {
		t.Fatalf("publish pending: %v", err)
	}
	rg, err := reopened.Group(ctx, g.ID())
	if err != nil {
		t.Fatal(err)
	}
	if in := openIntents(t, reopened, rg); len(in) != 0 {
		t.Errorf("intents left after publishing: %+v", in)
	}
	if info := govInfo(t, og); info.Name() != "after outage" {
		t.Errorf("member reads name %q", info.Name())
	}
}

// TestGovernanceCommitConflict: when another member's commit takes the
// epoch our staged commit was built for, the change is planned again on
// the new epoch, checked again, and published.
func TestGovernanceCommitConflict(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t)
	racer, hc, _ := newHookedClient(t, tn.addr, "gov-racer")
	tr := newGovTrio(t, tn.addr)
	if _, err := tr.gs.AddMembers(ctx, []identity.InboxID{racer.InboxID()}); err != nil {
		t.Fatal(err)
	}
	if err := tr.gs.AddAdmin(ctx, racer.InboxID()); err != nil {
		t.Fatal(err)
	}
	gr := joinOne(t, racer)
	start := govInfo(t, gr).Epoch

	t.Run("replanned", func(t *testing.T) {
		fired := false
		hc.mu.Lock()
		hc.hook = func() {
			fired = true
			if err := tr.gm.UpdateGroupName(ctx, "member won"); err != nil {
				t.Errorf("member rename: %v", err)
			}
		}
		hc.mu.Unlock()
		if err := gr.UpdateGroupDescription(ctx, "racer's"); err != nil {
			t.Fatalf("description after losing the epoch: %v", err)
		}
		if !fired {
			t.Fatal("the racing commit was never made")
		}
		info := govInfo(t, tr.gs)
		if info.Name() != "member won" || info.Description() != "racer's" {
			t.Errorf("name %q description %q", info.Name(), info.Description())
		}
		if info.Epoch != start+2 {
			t.Errorf("epoch %d, want %d (the member's commit, then ours)", info.Epoch, start+2)
		}
		if in := openIntents(t, racer, gr); len(in) != 0 {
			t.Errorf("intents left: %+v", in)
		}
	})
	t.Run("checked again", func(t *testing.T) {
		if err := tr.gs.UpdatePermissionPolicy(ctx, policy.UpdateMetadataField, policy.AllowIfAdmin, policy.FieldDescription); err != nil {
			t.Fatal(err)
		}
		hc.mu.Lock()
		hc.hook = func() {
			if err := tr.gs.RemoveAdmin(ctx, racer.InboxID()); err != nil {
				t.Errorf("super admin demotes the racer: %v", err)
			}
		}
		hc.mu.Unlock()
		err := gr.UpdateGroupDescription(ctx, "by a demoted admin")
		wantDenied(t, "demoted admin's description", err, policy.RuleUpdateMetadata)
		if d := govInfo(t, tr.gs).Description(); d == "by a demoted admin" {
			t.Error("the demoted admin's change was merged")
		}
	})
}
