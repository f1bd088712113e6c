package client

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"mlsbridge/identity"
	"mlsbridge/policy"
)

// The governance interop scenarios (xmtp-groups.md §2–§4, §9): each change
// of metadata, admins and permissions is made by one side and read by the
// other, in both directions; changes libxmtp's rules refuse are refused by
// our sender-side check with the rule named.

// TestInteropGovernance runs the governance scenarios against one node and
// one libxmtp process.
func TestInteropGovernance(t *testing.T) {
	runInterop(t, []interopScenario{
		{"GoChangesLibxmtpSees", interopGoGoverns},
		{"LibxmtpChangesGoSees", interopLibxmtpGoverns},
		{"RefusedLikeLibxmtp", interopGovernanceRefused},
	})
}

// peerStrings reads a JSON string list from a peer result.
func peerStrings(v any) []string {
	out := []string{}
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// interopGoGoverns: the Go creator (super admin) of a group renames it,
// sets description, image, app data and disappearing settings, makes the
// libxmtp member admin and then super admin, and changes permissions;
// libxmtp reads every change; then libxmtp, now super admin, demotes the
// Go creator and Go sees it.
func interopGoGoverns(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	carol := env.libxmtp(t, "gg-carol", "")
	dave, _, _ := newTestClient(t, env.node.addr, "gg-dave")
	g, _, err := dave.CreateGroupWithMembers(ctx, &GroupOptions{Name: "before"}, []identity.InboxID{inboxOf(carol)})
	if err != nil {
		t.Fatal(err)
	}
	gid := g.ID().String()
	p.Call(t, map[string]any{"op": "sync", "client": "gg-carol"})

	if err := g.UpdateGroupName(ctx, "renamed by go"); err != nil {
		t.Fatalf("rename: %v", err)
	}
	if err := g.AddAdmin(ctx, inboxOf(carol)); err != nil {
		t.Fatalf("add admin: %v", err)
	}
	info := peerGroupInfo(t, p, "gg-carol", gid)
	if info["name"] != "renamed by go" || !slices.Equal(peerStrings(info["admins"]), []string{string(inboxOf(carol))}) {
		t.Fatalf("libxmtp reads name %v admins %v", info["name"], info["admins"])
	}

	for _, step := range []struct {
		what string
		err  error
	}{
		{"description", g.UpdateGroupDescription(ctx, "described in go")},
		{"image", g.UpdateGroupImageURLSquare(ctx, "https://example.com/go.png")},
		{"app data", g.UpdateAppData(ctx, "go-app-data")},
		{"disappearing", g.UpdateDisappearingSettings(ctx, 1_700_000_000_000_000_000, 3_600_000_000_000)},
		{"name policy", g.UpdatePermissionPolicy(ctx, policy.UpdateMetadataField, policy.AllowIfAdmin, policy.FieldGroupName)},
		{"add member policy", g.UpdatePermissionPolicy(ctx, policy.UpdateAddMember, policy.AllowIfSuperAdmin, "")},
		{"add super admin", g.AddSuperAdmin(ctx, inboxOf(carol))},
	} {
		if step.err != nil {
			t.Fatalf("%s: %v", step.what, step.err)
		}
	}
	info = peerGroupInfo(t, p, "gg-carol", gid)
	want := map[string]any{"description": "described in go", "imageUrl": "https://example.com/go.png", "appData": "go-app-data",
		"disappearingEnabled": true}
	for k, v := range want {
		if info[k] != v {
			t.Errorf("libxmtp groupInfo %s = %v, want %v", k, info[k], v)
		}
	}
	if d, _ := info["disappearing"].(map[string]any); d["fromNs"] != "1700000000000000000" || d["inNs"] != "3600000000000" {
		t.Errorf("libxmtp disappearing = %v", info["disappearing"])
	}
	if got := peerStrings(info["superAdmins"]); !slices.Equal(got, []string{string(dave.InboxID()), string(inboxOf(carol))}) {
		t.Errorf("libxmtp super admins = %v", got)
	}
	perm := p.Call(t, map[string]any{"op": "permissions", "client": "gg-carol", "group": gid})
	pol := perm["policies"].(map[string]any)
	if perm["policyType"] != "custom" || pol["updateGroupNamePolicy"] != "admin" || pol["addMemberPolicy"] != "superAdmin" ||
		pol["updateGroupDescriptionPolicy"] != "allow" {
		t.Errorf("libxmtp permissions = %v", perm)
	}
	isAdmin := p.Call(t, map[string]any{"op": "isAdmin", "client": "gg-carol", "group": gid})
	if isAdmin["isAdmin"] != true || isAdmin["isSuperAdmin"] != true {
		t.Errorf("libxmtp isAdmin = %v", isAdmin)
	}

	// A custom super-admin-only key (metadata_fallback): libxmtp merges
	// the commit, so both sides are at the same epoch.
	if err := g.UpdateAttribute(ctx, "_bridge_room", "!room:example.org"); err != nil {
		t.Fatalf("custom attribute: %v", err)
	}
	gi, err := g.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if li := peerGroupInfo(t, p, "gg-carol", gid); fmt.Sprint(li["epoch"]) != fmt.Sprint(gi.Epoch) {
		t.Fatalf("libxmtp at epoch %v, go at %d", li["epoch"], gi.Epoch)
	}

	// libxmtp, now super admin, takes the Go creator off the super-admin
	// list and renames: Go merges both.
	p.Call(t, map[string]any{"op": "removeSuperAdmin", "client": "gg-carol", "group": gid, "inbox": string(dave.InboxID())})
	p.Call(t, map[string]any{"op": "updateName", "client": "gg-carol", "group": gid, "name": "renamed by libxmtp"})
	if err := g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if gi, err = g.Info(ctx); err != nil {
		t.Fatal(err)
	}
	if gi.Name() != "renamed by libxmtp" || !slices.Equal(gi.SuperAdmins, []identity.InboxID{inboxOf(carol)}) {
		t.Fatalf("go reads name %q super admins %v", gi.Name(), gi.SuperAdmins)
	}
	if super, _ := g.IsSuperAdmin(ctx, dave.InboxID()); super {
		t.Error("go still thinks it is super admin")
	}
}

// interopLibxmtpGoverns: libxmtp's creator changes every attribute, the
// admin lists, permissions and disappearing settings of a group with a Go
// member; Go reads each change (and its transcript record); then the Go
// member, made super admin, governs libxmtp's group and libxmtp reads it.
func interopLibxmtpGoverns(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	alice := env.libxmtp(t, "lg-alice", "")
	bob, _, _ := newTestClient(t, env.node.addr, "lg-bob")
	gid := p.Call(t, map[string]any{"op": "newGroup", "client": "lg-alice", "members": []string{string(bob.InboxID())},
		"name": "libxmtp's"})["group"].(string)
	bg := joinOne(t, bob)
	for _, cmd := range []map[string]any{
		{"op": "updateName", "name": "renamed by libxmtp"},
		{"op": "updateDescription", "description": "described by libxmtp"},
		{"op": "updateImageUrl", "imageUrl": "https://example.com/lx.png"},
		{"op": "updateAppData", "appData": "lx-app-data"},
		{"op": "updateDisappearing", "fromNs": "1700000000000000000", "inNs": "7200000000000"},
		{"op": "updatePermission", "type": "updateMetadata", "policy": "superAdmin", "metadataField": "description"},
		{"op": "updatePermission", "type": "removeMember", "policy": "superAdmin"},
		{"op": "addAdmin", "inbox": string(bob.InboxID())},
	} {
		cmd["client"], cmd["group"] = "lg-alice", gid
		p.Call(t, cmd)
	}
	if err := bg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := bg.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name() != "renamed by libxmtp" || info.Description() != "described by libxmtp" ||
		info.ImageURLSquare() != "https://example.com/lx.png" || info.AppData() != "lx-app-data" {
		t.Fatalf("go reads attributes %v", info.Attributes)
	}
	if ds, ok := info.DisappearingSettings(); !ok || ds != (DisappearingSettings{FromNs: 1_700_000_000_000_000_000, InNs: 7_200_000_000_000}) || !ds.Enabled() {
		t.Errorf("go reads disappearing %+v %v", ds, ok)
	}
	ps, err := bg.PermissionPolicySet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := ps.MetadataPolicyFor(policy.FieldDescription); !p.Equal(policy.NewMetadataPolicy(policy.AllowIfSuperAdmin)) ||
		!ps.RemoveMember.Equal(policy.NewMembershipPolicy(policy.AllowIfSuperAdmin)) || ps.Preset() != policy.PresetCustom {
		t.Errorf("go reads permissions %v", ps)
	}
	if admin, _ := bg.IsAdmin(ctx, bob.InboxID()); !admin {
		t.Error("go does not see itself admin")
	}
	if upd := lastUpdate(t, bg); len(upd.GetAddedAdminInboxes()) != 1 || upd.GetInitiatedByInboxId() != string(inboxOf(alice)) {
		t.Errorf("admin record = %v", upd)
	}

	// Bob is admin: the default preset lets him rename, not add super
	// admins. Made super admin, he adds alice as admin and removes her
	// as super admin; libxmtp accepts Go's commits.
	if err := bg.UpdateGroupName(ctx, "renamed by go admin"); err != nil {
		t.Fatalf("admin rename: %v", err)
	}
	var denied *policy.DeniedError
	if err := bg.AddSuperAdmin(ctx, bob.InboxID()); !errors.As(err, &denied) || denied.Decision.Rule.ID != policy.RuleAddSuperAdmin {
		t.Fatalf("admin adds super admin: %v", err)
	}
	p.Call(t, map[string]any{"op": "addSuperAdmin", "client": "lg-alice", "group": gid, "inbox": string(bob.InboxID())})
	if err := bg.AddAdmin(ctx, inboxOf(alice)); err != nil {
		t.Fatalf("super admin adds admin: %v", err)
	}
	if err := bg.RemoveSuperAdmin(ctx, inboxOf(alice)); err != nil {
		t.Fatalf("super admin removes super admin: %v", err)
	}
	if err := bg.UpdatePermissionPolicy(ctx, policy.UpdateMetadataField, policy.Deny, policy.FieldAppData); err != nil {
		t.Fatalf("super admin changes permissions: %v", err)
	}
	info2 := peerGroupInfo(t, p, "lg-alice", gid)
	if info2["name"] != "renamed by go admin" || !slices.Equal(peerStrings(info2["superAdmins"]), []string{string(bob.InboxID())}) ||
		!slices.Contains(peerStrings(info2["admins"]), string(inboxOf(alice))) {
		t.Fatalf("libxmtp reads %v", info2)
	}
	if perm := p.Call(t, map[string]any{"op": "permissions", "client": "lg-alice", "group": gid}); perm["policies"].(map[string]any)["updateAppDataPolicy"] != "deny" {
		t.Fatalf("libxmtp reads permissions %v", perm)
	}
	// Alice, no longer super admin, is refused by libxmtp's own rules.
	if res := p.Try(t, map[string]any{"op": "updatePermission", "client": "lg-alice", "group": gid, "type": "addMember", "policy": "deny"}); res["ok"] != false {
		t.Fatalf("libxmtp let a non-super admin change permissions: %v", res)
	}
}

// interopGovernanceRefused: in an admins-only group made by libxmtp, a Go
// member and a libxmtp member try the same forbidden changes; libxmtp
// refuses them, and our client refuses them before publishing, naming the
// rule; the group is unchanged on both sides.
func interopGovernanceRefused(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	env.libxmtp(t, "gr-alice", "")
	frank := env.libxmtp(t, "gr-frank", "")
	bob, _, _ := newTestClient(t, env.node.addr, "gr-bob")
	gid := p.Call(t, map[string]any{"op": "newGroup", "client": "gr-alice", "members": []string{string(bob.InboxID()), string(inboxOf(frank))},
		"name": "locked", "permissions": "adminOnly"})["group"].(string)
	bg := joinOne(t, bob)
	p.Call(t, map[string]any{"op": "sync", "client": "gr-frank"})
	before, err := bg.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		goErr  error
		rule   policy.RuleID
		peer   map[string]any
		errHas string
	}{
		{"rename", bg.UpdateGroupName(ctx, "nope"), policy.RuleUpdateMetadata,
			map[string]any{"op": "updateName", "name": "nope"}, "group_name"},
		{"add admin", bg.AddAdmin(ctx, bob.InboxID()), policy.RuleAddAdmin,
			map[string]any{"op": "addAdmin", "inbox": string(inboxOf(frank))}, "add_admin"},
		{"add super admin", bg.AddSuperAdmin(ctx, bob.InboxID()), policy.RuleAddSuperAdmin,
			map[string]any{"op": "addSuperAdmin", "inbox": string(inboxOf(frank))}, "super admin"},
		{"permissions", bg.UpdatePermissionPolicy(ctx, policy.UpdateAddMember, policy.Allow, ""), policy.RuleUpdatePermissions,
			map[string]any{"op": "updatePermission", "type": "addMember", "policy": "allow"}, "permissions"},
		{"disappearing", bg.UpdateDisappearingSettings(ctx, 1, 1), policy.RuleUpdateMetadata,
			map[string]any{"op": "updateDisappearing", "fromNs": "1", "inNs": "1"}, "message_disappear"},
	}
	for _, tc := range cases {
		var denied *policy.DeniedError
		if !errors.As(tc.goErr, &denied) || denied.Decision.Rule.ID != tc.rule || !strings.Contains(tc.goErr.Error(), tc.errHas) {
			t.Errorf("%s: go error %v, want a denial by %s mentioning %q", tc.name, tc.goErr, tc.rule, tc.errHas)
		}
		tc.peer["client"], tc.peer["group"] = "gr-frank", gid
		if res := p.Try(t, tc.peer); res["ok"] != false {
			t.Errorf("%s: libxmtp allowed it: %v", tc.name, res)
		}
	}
	// The last super admin cannot step down, on either side.
	if res := p.Try(t, map[string]any{"op": "removeSuperAdmin", "client": "gr-alice", "group": gid, "inbox": "$gr-alice.inboxId"}); res["ok"] != false {
		t.Errorf("libxmtp removed the last super admin: %v", res)
	}
	if err := bg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := bg.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Epoch != before.Epoch || after.Name() != "locked" || len(after.Admins) != 0 {
		t.Errorf("group changed: epoch %d → %d, name %q, admins %v", before.Epoch, after.Epoch, after.Name(), after.Admins)
	}
	li := peerGroupInfo(t, p, "gr-alice", gid)
	if li["name"] != "locked" || fmt.Sprint(li["epoch"]) != fmt.Sprint(after.Epoch) {
		t.Errorf("libxmtp reads name %v epoch %v, go epoch %d", li["name"], li["epoch"], after.Epoch)
	}
}
