package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"mlsbridge/client"
	"mlsbridge/identity"
	"mlsbridge/policy"
)

// The ops and creation options governance-smoke.mjs needs beyond the
// governance ops of clientops_governance.go: installation revocation, and
// newGroup's and dm's additive fields (customPermissions, imageUrl,
// appData, disappearing, addresses), with libxmtp-peer.mjs's fields and
// results.

func init() {
	registerClientOps(map[string]opFunc{
		"revokeInstallations": opRevokeInstallations, "revokeAllOtherInstallations": opRevokeAllOtherInstallations,
	})
}

// creationArgs are the additive fields of newGroup and dm.
type creationArgs struct {
	CustomPermissions map[string]string `json:"customPermissions"`
	ImageURL          *string           `json:"imageUrl"`
	AppData           *string           `json:"appData"`
	Disappearing      json.RawMessage   `json:"disappearing"`
}

// peerDefaultPolicies are the peer's DEFAULT_POLICY_SET, the base a
// partial customPermissions object is completed from, in its order.
var peerDefaultPolicies = []struct{ key, policy string }{
	{"addMemberPolicy", "allow"}, {"removeMemberPolicy", "admin"}, {"addAdminPolicy", "superAdmin"},
	{"removeAdminPolicy", "superAdmin"}, {"updateGroupNamePolicy", "allow"}, {"updateGroupDescriptionPolicy", "allow"},
	{"updateGroupImageUrlSquarePolicy", "allow"}, {"updateMessageDisappearingPolicy", "admin"},
	{"updateAppDataPolicy", "allow"},
}

// customPolicySet builds the policy set node-bindings builds from the
// peer's customPermissions object: the given keys over the defaults. A
// policy the bindings refuse (allow for the admin policies) is an
// "invalid permission policy" error, as libxmtp's.
func customPolicySet(custom map[string]string) (policy.PolicySet, error) {
	var keys []string
	for _, d := range peerDefaultPolicies {
		keys = append(keys, d.key)
	}
	for k := range custom {
		if !slices.Contains(keys, k) {
			return policy.PolicySet{}, fmt.Errorf("unknown customPermissions key %q; keys: %s", k, strings.Join(keys, ", "))
		}
	}
	base := map[string]policy.BasePolicy{}
	for _, d := range peerDefaultPolicies {
		name := d.policy
		if v, ok := custom[d.key]; ok {
			name = v
		}
		b, err := peerPolicy(name)
		if err != nil {
			return policy.PolicySet{}, err
		}
		base[d.key] = b
	}
	ps, err := policy.CustomPolicies{
		AddMember: base["addMemberPolicy"], RemoveMember: base["removeMemberPolicy"],
		AddAdmin: base["addAdminPolicy"], RemoveAdmin: base["removeAdminPolicy"],
		GroupName: base["updateGroupNamePolicy"], Description: base["updateGroupDescriptionPolicy"],
		GroupImageURLSquare: base["updateGroupImageUrlSquarePolicy"],
		MessageDisappearing: base["updateMessageDisappearingPolicy"], AppData: base["updateAppDataPolicy"],
	}.PolicySet()
	if err != nil {
		return policy.PolicySet{}, fmt.Errorf("invalid permission policy: %w", err)
	}
	return ps, nil
}

// peerPolicy reads one of the peer's policy names.
func peerPolicy(name string) (policy.BasePolicy, error) {
	for b, n := range peerPolicyNames {
		if n == name {
			return b, nil
		}
	}
	return 0, fmt.Errorf("unknown policy %q; one of: allow, deny, admin, superAdmin", name)
}

// disappearingFrom reads a peer "disappearing" object {fromNs, inNs}
// (fromNs "now" when absent); nil when the field is absent or null.
func disappearingFrom(raw json.RawMessage) (*client.DisappearingSettings, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var d struct {
		FromNs json.RawMessage `json:"fromNs"`
		InNs   json.RawMessage `json:"inNs"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, errors.New("disappearing must be an object {fromNs, inNs}")
	}
	if len(d.FromNs) == 0 || string(d.FromNs) == "null" {
		d.FromNs = json.RawMessage(`"now"`)
	}
	from, err := nanos(d.FromNs, "fromNs", true)
	if err != nil {
		return nil, err
	}
	in, err := nanos(d.InNs, "inNs", false)
	if err != nil {
		return nil, err
	}
	return &client.DisappearingSettings{FromNs: from, InNs: in}, nil
}

// newGroupOptions reads newGroup's options as the peer does: name,
// description, permissions ("default", "adminOnly", or "custom" with
// customPermissions), imageUrl, appData and disappearing.
func newGroupOptions(cmd *command) (*client.GroupOptions, error) {
	var a creationArgs
	if err := cmd.decode(&a); err != nil {
		return nil, err
	}
	opts := &client.GroupOptions{}
	if cmd.Name != nil {
		opts.Name = *cmd.Name
	}
	if cmd.Description != nil {
		opts.Description = *cmd.Description
	}
	if a.ImageURL != nil {
		opts.ImageURLSquare = *a.ImageURL
	}
	if a.AppData != nil {
		opts.AppData = *a.AppData
	}
	ds, err := disappearingFrom(a.Disappearing)
	if err != nil {
		return nil, err
	}
	opts.MessageDisappearing = ds
	switch {
	case a.CustomPermissions != nil:
		if cmd.Permissions != "" && cmd.Permissions != "custom" {
			return nil, errors.New(`"customPermissions" goes with "permissions":"custom" (or no "permissions")`)
		}
		ps, err := customPolicySet(a.CustomPermissions)
		if err != nil {
			return nil, err
		}
		opts.Permissions = &ps
	case cmd.Permissions == "custom":
		return nil, errors.New(`"permissions":"custom" needs "customPermissions"`)
	case cmd.Permissions == "adminOnly":
		ps := policy.AdminsOnly()
		opts.Permissions = &ps
	case cmd.Permissions != "" && cmd.Permissions != "default":
		return nil, fmt.Errorf("unknown permissions %q; one of: default, adminOnly, custom", cmd.Permissions)
	}
	return opts, nil
}

// createNewGroup creates newGroup's group as the peer does: with the
// members by inbox id (then the addresses added in a second commit), or,
// with addresses only, with the members by address.
func createNewGroup(ctx context.Context, sc *sessionClient, cmd *command, opts *client.GroupOptions) (*client.Group, error) {
	addrs, err := addresses(cmd.Addresses)
	if err != nil {
		return nil, err
	}
	var g *client.Group
	if len(cmd.Members) == 0 {
		g, err = sc.c.CreateGroup(ctx, opts)
	} else {
		g, _, err = sc.c.CreateGroupWithMembers(ctx, opts, inboxIDs(cmd.Members))
	}
	if err != nil || len(addrs) == 0 {
		return g, err
	}
	if _, _, err := g.AddMembersByAddress(ctx, addrs); err != nil {
		return nil, err
	}
	return g, nil
}

// dmOptions reads dm's disappearing field.
func dmOptions(cmd *command) (*client.DMOptions, error) {
	var a creationArgs
	if err := cmd.decode(&a); err != nil {
		return nil, err
	}
	ds, err := disappearingFrom(a.Disappearing)
	if err != nil {
		return nil, err
	}
	return &client.DMOptions{MessageDisappearing: ds}, nil
}

// installationsJSON is the peer's {installations} of our own inbox, read
// from the network as inboxState(true) does.
func installationsJSON(ctx context.Context, sc *sessionClient) (obj, error) {
	st, err := sc.c.InboxState(ctx, sc.c.InboxID())
	if err != nil {
		return nil, err
	}
	return obj{{"installations", installationHex(st.Installations())}}, nil
}

func opRevokeInstallations(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	var a struct {
		InstallationIDs []string `json:"installationIds"`
	}
	if err := cmd.decode(&a); err != nil {
		return nil, err
	}
	ids, err := installationIDs(a.InstallationIDs)
	if err != nil {
		return nil, err
	}
	if _, err := sc.c.RevokeInstallations(ctx, ids); err != nil {
		return nil, err
	}
	return installationsJSON(ctx, sc)
}

// opRevokeAllOtherInstallations revokes every installation of our inbox
// but this one; "revoked" is false when there was none (node-bindings'
// signature request is then null and nothing is sent).
func opRevokeAllOtherInstallations(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	st, err := sc.c.InboxState(ctx, sc.c.InboxID())
	if err != nil {
		return nil, err
	}
	self := sc.c.InstallationID()
	var others []identity.InstallationID
	for _, id := range st.Installations() {
		if id != self {
			others = append(others, id)
		}
	}
	if len(others) > 0 {
		if _, err := sc.c.RevokeInstallations(ctx, others); err != nil {
			return nil, err
		}
	}
	res, err := installationsJSON(ctx, sc)
	if err != nil {
		return nil, err
	}
	return append(obj{{"revoked", len(others) > 0}}, res...), nil
}

// attributeOrNull is a metadata attribute as the peer's groupInfo shows
// it: null when the group has no such attribute (libxmtp's getter fails;
// a DM has no app_data).
func attributeOrNull(info *client.GroupInfo, key string) any {
	v, ok := info.Attributes[key]
	if !ok {
		return nil
	}
	return v
}

// installationIDs parses the "installationIds" field: hex (0x optional)
// 32-byte installation ids, at least one.
func installationIDs(hexIDs []string) ([]identity.InstallationID, error) {
	if len(hexIDs) == 0 {
		return nil, errors.New(`missing "installationIds"`)
	}
	ids := make([]identity.InstallationID, len(hexIDs))
	for i, h := range hexIDs {
		b, err := hex.DecodeString(strings.TrimPrefix(h, "0x"))
		if err == nil {
			ids[i], err = identity.InstallationIDFromBytes(b)
		}
		if err != nil {
			return nil, fmt.Errorf("installationIds: %q is not a 32-byte hex installation id", h)
		}
	}
	return ids, nil
}
