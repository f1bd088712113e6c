package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"mlsbridge/client"
	"mlsbridge/identity"
	"mlsbridge/policy"
)

// The governance ops of `bridge client`, with libxmtp-peer.mjs's fields
// and results: metadata updates, admin lists, permissions and the
// disappearing-message settings.

func init() {
	registerClientOps(map[string]opFunc{
		"updateName": opUpdateName, "updateDescription": opUpdateDescription, "updateImageUrl": opUpdateImageURL,
		"updateAppData": opUpdateAppData, "addAdmin": opAddAdmin, "removeAdmin": opRemoveAdmin,
		"addSuperAdmin": opAddSuperAdmin, "removeSuperAdmin": opRemoveSuperAdmin, "isAdmin": opIsAdmin,
		"isSuperAdmin": opIsAdmin, "permissions": opPermissions, "updatePermission": opUpdatePermission,
		"updateDisappearing": opUpdateDisappearing, "removeDisappearing": opRemoveDisappearing,
	})
}

// governanceArgs are the fields of the governance ops that the shared
// command struct lacks.
type governanceArgs struct {
	ImageURL      *string         `json:"imageUrl"`
	AppData       *string         `json:"appData"`
	Type          string          `json:"type"`
	Policy        string          `json:"policy"`
	MetadataField *string         `json:"metadataField"`
	FromNs        json.RawMessage `json:"fromNs"`
	InNs          json.RawMessage `json:"inNs"`
}

// required returns *v, or an error naming the missing field.
func required(v *string, field string) (string, error) {
	if v == nil {
		return "", fmt.Errorf("missing %q", field)
	}
	return *v, nil
}

// updateAttribute runs one attribute update and answers {field: value}
// with the value read back from the group.
func updateAttribute(ctx context.Context, s *clientSession, cmd *command, field string, value *string,
	update func(*client.Group, context.Context, string) error, read func(*client.GroupInfo) string) (obj, error) {
	info, err := changeGroup(ctx, s, cmd, func(g *client.Group) error {
		v, err := required(value, field)
		if err != nil {
			return err
		}
		return update(g, ctx, v)
	})
	if err != nil {
		return nil, err
	}
	return obj{{field, read(info)}}, nil
}

// changeGroup runs change on the command's group and returns the group's
// info afterwards.
func changeGroup(ctx context.Context, s *clientSession, cmd *command, change func(*client.Group) error) (*client.GroupInfo, error) {
	_, g, err := s.peerGroup(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if err := change(g); err != nil {
		return nil, err
	}
	return g.Info(ctx)
}

func opUpdateName(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	return updateAttribute(ctx, s, cmd, "name", cmd.Name, (*client.Group).UpdateGroupName, (*client.GroupInfo).Name)
}

func opUpdateDescription(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	return updateAttribute(ctx, s, cmd, "description", cmd.Description, (*client.Group).UpdateGroupDescription,
		(*client.GroupInfo).Description)
}

func opUpdateImageURL(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	var a governanceArgs
	if err := cmd.decode(&a); err != nil {
		return nil, err
	}
	return updateAttribute(ctx, s, cmd, "imageUrl", a.ImageURL, (*client.Group).UpdateGroupImageURLSquare,
		(*client.GroupInfo).ImageURLSquare)
}

func opUpdateAppData(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	var a governanceArgs
	if err := cmd.decode(&a); err != nil {
		return nil, err
	}
	return updateAttribute(ctx, s, cmd, "appData", a.AppData, (*client.Group).UpdateAppData, (*client.GroupInfo).AppData)
}

// adminOp runs one admin-list change on cmd.inbox and answers the admin
// list ("admins") or the super-admin list ("superAdmins") afterwards.
func adminOp(ctx context.Context, s *clientSession, cmd *command, change func(*client.Group, context.Context, identity.InboxID) error,
	super bool) (obj, error) {
	info, err := changeGroup(ctx, s, cmd, func(g *client.Group) error {
		if cmd.Inbox == "" {
			return errors.New(`missing "inbox"`)
		}
		return change(g, ctx, identity.InboxID(cmd.Inbox))
	})
	if err != nil {
		return nil, err
	}
	if super {
		return obj{{"superAdmins", inboxStrings(info.SuperAdmins)}}, nil
	}
	return obj{{"admins", inboxStrings(info.Admins)}}, nil
}

func opAddAdmin(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	return adminOp(ctx, s, cmd, (*client.Group).AddAdmin, false)
}

func opRemoveAdmin(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	return adminOp(ctx, s, cmd, (*client.Group).RemoveAdmin, false)
}

func opAddSuperAdmin(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	return adminOp(ctx, s, cmd, (*client.Group).AddSuperAdmin, true)
}

func opRemoveSuperAdmin(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	return adminOp(ctx, s, cmd, (*client.Group).RemoveSuperAdmin, true)
}

// opIsAdmin answers both isAdmin and isSuperAdmin, as the peer does.
func opIsAdmin(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, g, err := s.syncedGroup(ctx, cmd, false)
	if err != nil {
		return nil, err
	}
	inbox := sc.c.InboxID()
	if cmd.Inbox != "" {
		inbox = identity.InboxID(cmd.Inbox)
	}
	info, err := g.Info(ctx)
	if err != nil {
		return nil, err
	}
	return obj{{"inbox", string(inbox)}, {"isAdmin", slices.Contains(info.Admins, inbox)},
		{"isSuperAdmin", slices.Contains(info.SuperAdmins, inbox)}}, nil
}

// Policy names of the peer (node-bindings' PermissionPolicy).
var peerPolicyNames = map[policy.BasePolicy]string{policy.Allow: "allow", policy.Deny: "deny",
	policy.AllowIfAdmin: "admin", policy.AllowIfSuperAdmin: "superAdmin"}

// peerPolicyName names a policy as node-bindings' policySet does: a base
// policy by name, a combination (or same-member) as "other".
func peerPolicyName(b policy.BasePolicy, isBase bool) string {
	if n, ok := peerPolicyNames[b]; ok && isBase {
		return n
	}
	return "other"
}

// permissionsJSON is the peer's {policyType, policies} of a policy set:
// the preset as libxmtp recognises it, and the nine policies the bindings
// show, in the peer's order; a metadata field without a policy is
// "doesNotExist", and the disappearing policy is message_disappear_in_ns's.
func permissionsJSON(ps policy.PolicySet) obj {
	policyType := "custom"
	switch ps.Preset() {
	case policy.PresetDefault:
		policyType = "default"
	case policy.PresetAdminsOnly:
		policyType = "adminOnly"
	}
	meta := func(f policy.MetadataField) string {
		p, ok := ps.UpdateMetadata[f]
		if !ok {
			return "doesNotExist"
		}
		return peerPolicyName(p.Base())
	}
	policies := obj{{"addMemberPolicy", peerPolicyName(ps.AddMember.Base())},
		{"removeMemberPolicy", peerPolicyName(ps.RemoveMember.Base())},
		{"addAdminPolicy", peerPolicyName(ps.AddAdmin.Base())}, {"removeAdminPolicy", peerPolicyName(ps.RemoveAdmin.Base())},
		{"updateGroupNamePolicy", meta(policy.FieldGroupName)}, {"updateGroupDescriptionPolicy", meta(policy.FieldDescription)},
		{"updateGroupImageUrlSquarePolicy", meta(policy.FieldGroupImageURLSquare)},
		{"updateMessageDisappearingPolicy", meta(policy.FieldMessageDisappearInNS)},
		{"updateAppDataPolicy", meta(policy.FieldAppData)}}
	return obj{{"policyType", policyType}, {"policies", policies}}
}

func opPermissions(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	_, g, err := s.syncedGroup(ctx, cmd, false)
	if err != nil {
		return nil, err
	}
	perms, err := groupPermissions(ctx, g)
	if err != nil {
		return nil, err
	}
	return append(obj{{"group", g.ID().String()}}, perms...), nil
}

var peerUpdateTypes = map[string]policy.PermissionUpdateType{"addMember": policy.UpdateAddMember,
	"removeMember": policy.UpdateRemoveMember, "addAdmin": policy.UpdateAddAdmin, "removeAdmin": policy.UpdateRemoveAdmin,
	"updateMetadata": policy.UpdateMetadataField}

var peerMetadataFields = map[string]policy.MetadataField{"groupName": policy.FieldGroupName,
	"description": policy.FieldDescription, "groupImageUrlSquare": policy.FieldGroupImageURLSquare,
	"appData": policy.FieldAppData, "messageExpirationFromNs": policy.FieldMessageDisappearFromNS,
	"messageExpirationInNs": policy.FieldMessageDisappearInNS}

// lookup returns table[name], or an error listing the names.
func lookup[V any](table map[string]V, name, what string) (V, error) {
	if v, ok := table[name]; ok {
		return v, nil
	}
	names := make([]string, 0, len(table))
	for k := range table {
		names = append(names, k)
	}
	var zero V
	return zero, fmt.Errorf("unknown %s %q; one of: %s", what, name, strings.Join(slices.Sorted(slices.Values(names)), ", "))
}

// permissionUpdate reads updatePermission's fields as node-bindings reads
// them: "allow" for an admin policy becomes super-admin-only (libxmtp's
// mapping, which the Go client refuses), and a metadataField given with
// another type is ignored.
func permissionUpdate(a governanceArgs) (policy.PermissionUpdateType, policy.BasePolicy, policy.MetadataField, error) {
	t, err := lookup(peerUpdateTypes, a.Type, "permission update type")
	if err != nil {
		return 0, 0, "", err
	}
	var b policy.BasePolicy
	for k, v := range peerPolicyNames {
		if v == a.Policy {
			b = k
		}
	}
	if b == 0 {
		return 0, 0, "", fmt.Errorf("unknown policy %q; one of: admin, allow, deny, superAdmin", a.Policy)
	}
	if b == policy.Allow && (t == policy.UpdateAddAdmin || t == policy.UpdateRemoveAdmin) {
		b = policy.AllowIfSuperAdmin
	}
	if t != policy.UpdateMetadataField {
		return t, b, "", nil
	}
	if a.MetadataField == nil {
		return 0, 0, "", errors.New(`updateMetadata needs a metadata field ("metadataField")`)
	}
	f, err := lookup(peerMetadataFields, *a.MetadataField, "metadataField")
	return t, b, f, err
}

func opUpdatePermission(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	_, g, err := s.peerGroup(ctx, cmd)
	if err != nil {
		return nil, err
	}
	var a governanceArgs
	if err := cmd.decode(&a); err != nil {
		return nil, err
	}
	t, b, f, err := permissionUpdate(a)
	if err != nil {
		return nil, err
	}
	if err := g.UpdatePermissionPolicy(ctx, t, b, f); err != nil {
		return nil, err
	}
	return groupPermissions(ctx, g)
}

// groupPermissions is permissionsJSON of the group's policy set.
func groupPermissions(ctx context.Context, g *client.Group) (obj, error) {
	ps, err := g.PermissionPolicySet(ctx)
	if err != nil {
		return nil, err
	}
	return permissionsJSON(ps), nil
}

// nanos reads a nanosecond field as the peer does: a JSON integer, a
// decimal string, or (when allowNow) "now", the current wall clock.
func nanos(raw json.RawMessage, what string, allowNow bool) (int64, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = string(raw)
	} else if s == "now" && allowNow {
		return time.Now().UnixNano(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s must be an integer number of nanoseconds (number or decimal string) or \"now\"; got %s", what, raw)
	}
	return n, nil
}

// disappearingJSON is the peer's {disappearing, disappearingEnabled} of a
// group: the settings as decimal strings (null when the group has none)
// and whether they are on. groupInfo answers the same two fields.
func disappearingJSON(info *client.GroupInfo) obj {
	ds, ok := info.DisappearingSettings()
	if !ok {
		return obj{{"disappearing", nil}, {"disappearingEnabled", false}}
	}
	return obj{{"disappearing", obj{{"fromNs", strconv.FormatInt(ds.FromNs, 10)}, {"inNs", strconv.FormatInt(ds.InNs, 10)}}},
		{"disappearingEnabled", ds.Enabled()}}
}

func opUpdateDisappearing(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	info, err := changeGroup(ctx, s, cmd, func(g *client.Group) error {
		var a governanceArgs
		if err := cmd.decode(&a); err != nil {
			return err
		}
		if len(a.FromNs) == 0 || string(a.FromNs) == "null" {
			a.FromNs = json.RawMessage(`"now"`)
		}
		from, err := nanos(a.FromNs, "fromNs", true)
		if err != nil {
			return err
		}
		in, err := nanos(a.InNs, "inNs", false)
		if err != nil {
			return err
		}
		return g.UpdateDisappearingSettings(ctx, from, in)
	})
	if err != nil {
		return nil, err
	}
	return disappearingJSON(info), nil
}

func opRemoveDisappearing(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	info, err := changeGroup(ctx, s, cmd, func(g *client.Group) error { return g.RemoveDisappearingSettings(ctx) })
	if err != nil {
		return nil, err
	}
	return disappearingJSON(info), nil
}
