package commands

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"mlsbridge/policy"
)

func groupCommand() *Command {
	return &Command{
		Name:    "group",
		Summary: "see or change the group's name, description and image",
		Subcommands: []*Command{
			metadataCommand("name", policy.FieldGroupName, ArgText, "rename the group", "Renamed the group to %q."),
			metadataCommand("description", policy.FieldDescription, ArgText, "change the group's description", "Changed the description to %q."),
			metadataCommand("image", policy.FieldGroupImageURLSquare, ArgWord, "change the group's image (a URL)", "Changed the image to %q."),
			{
				Name:    "info",
				Summary: "show the group's name, description, members and settings",
				Handler: groupInfo,
			},
		},
	}
}

// metadataCommand sets one attribute, guarded by that attribute's policy.
func metadataCommand(name string, field policy.MetadataField, kind ArgKind, summary, done string) *Command {
	arg := ArgSpec{Name: name, Kind: kind, Help: `the new value; "" clears it`}
	if kind == ArgWord {
		arg.Help = `the image URL; "" clears it`
	}
	return &Command{
		Name:    name,
		Summary: summary,
		Args:    []ArgSpec{arg},
		Check: GroupPolicy("the group's update_metadata policy for "+string(field), func(inv *Invocation) (policy.Change, error) {
			v := inv.Args.Text(name)
			return policy.Change{Metadata: policy.MetadataChange{Fields: []policy.FieldChange{fieldChange(inv, field, v)}}}, nil
		}),
		Handler: func(ctx context.Context, inv *Invocation) error {
			e, err := capability[MetadataEditor](inv, "change the group's "+name)
			if err != nil {
				return err
			}
			v := inv.Args.Text(name)
			if err := e.SetMetadata(ctx, field, v); err != nil {
				return err
			}
			return inv.Reply(ctx, fmt.Sprintf(done, snippet(v, 200)))
		},
	}
}

// fieldChange is the change of field from its current value to v.
func fieldChange(inv *Invocation, field policy.MetadataField, v string) policy.FieldChange {
	fc := policy.FieldChange{Field: field, New: &v}
	if old, ok := inv.Message.Group.Metadata.Attributes[field]; ok {
		fc.Old = &old
	}
	return fc
}

func groupInfo(ctx context.Context, inv *Invocation) error {
	g := inv.Message.Group
	attr := func(f policy.MetadataField) string {
		if v := g.Metadata.Attributes[f]; v != "" {
			return snippet(v, 300)
		}
		return "(none)"
	}
	var b strings.Builder
	if g.Type == policy.ConversationDM {
		b.WriteString("This is a DM.\n")
	}
	fmt.Fprintf(&b, "Name: %s\n", attr(policy.FieldGroupName))
	fmt.Fprintf(&b, "Description: %s\n", attr(policy.FieldDescription))
	fmt.Fprintf(&b, "Image: %s\n", attr(policy.FieldGroupImageURLSquare))
	fmt.Fprintf(&b, "Members: %d (%s, %s)\n", len(g.Members),
		plural(len(g.Metadata.SuperAdmins), "super admin"), plural(countAdmins(g.Metadata), "admin"))
	fmt.Fprintf(&b, "Permissions: %s (%spolicy show for details)\n", presetName(g.Policies), inv.Prefix())
	fmt.Fprintf(&b, "Disappearing messages: %s", disappearing(g.Metadata))
	return inv.Reply(ctx, b.String())
}

// countAdmins counts admins who are not super admins.
func countAdmins(m policy.Metadata) int {
	n := 0
	for _, id := range m.Admins {
		if !m.IsSuperAdmin(id) {
			n++
		}
	}
	return n
}

func presetName(s policy.PolicySet) string {
	switch s.Preset() {
	case policy.PresetDefault:
		return "everyone may add members"
	case policy.PresetAdminsOnly:
		return "admins only"
	}
	return "custom"
}

// disappearing describes the disappearing-message settings: enabled when
// both attributes are positive numbers of nanoseconds (xmtp-groups §9).
func disappearing(m policy.Metadata) string {
	from, err1 := strconv.ParseInt(m.Attributes[policy.FieldMessageDisappearFromNS], 10, 64)
	in, err2 := strconv.ParseInt(m.Attributes[policy.FieldMessageDisappearInNS], 10, 64)
	if err1 != nil || err2 != nil || from <= 0 || in <= 0 {
		return "off"
	}
	return "after " + humanDuration(time.Duration(in))
}

// humanDuration writes d as FormatDuration does when it is whole seconds.
func humanDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return FormatDuration(d)
	}
	return d.String()
}

// policyTarget is an "action" of "policy set": the policy or policies it
// replaces.
type policyTarget struct {
	name   string
	typ    policy.PermissionUpdateType
	fields []policy.MetadataField // for policy.UpdateMetadataField
}

var policyTargets = []policyTarget{
	{name: "add_member", typ: policy.UpdateAddMember},
	{name: "remove_member", typ: policy.UpdateRemoveMember},
	{name: "add_admin", typ: policy.UpdateAddAdmin},
	{name: "remove_admin", typ: policy.UpdateRemoveAdmin},
	{name: "name", typ: policy.UpdateMetadataField, fields: []policy.MetadataField{policy.FieldGroupName}},
	{name: "description", typ: policy.UpdateMetadataField, fields: []policy.MetadataField{policy.FieldDescription}},
	{name: "image", typ: policy.UpdateMetadataField, fields: []policy.MetadataField{policy.FieldGroupImageURLSquare}},
	{name: "disappearing", typ: policy.UpdateMetadataField, fields: []policy.MetadataField{policy.FieldMessageDisappearFromNS, policy.FieldMessageDisappearInNS}},
	{name: "app_data", typ: policy.UpdateMetadataField, fields: []policy.MetadataField{policy.FieldAppData}},
	{name: "min_version", typ: policy.UpdateMetadataField, fields: []policy.MetadataField{policy.FieldMinimumSupportedProtocolVersion}},
}

// policyLevels are the levels of "policy set", policy.BasePolicy names.
var policyLevels = []string{"allow", "deny", "admin", "super_admin"}

func policyTargetNames() []string {
	out := make([]string, len(policyTargets))
	for i, t := range policyTargets {
		out[i] = t.name
	}
	return out
}

func policyCommand() *Command {
	return &Command{
		Name:    "policy",
		Aliases: []string{"permissions"},
		Summary: "see or change who may do what in the group",
		Subcommands: []*Command{
			{
				Name:    "show",
				Aliases: []string{"list", "ls"},
				Summary: "show the group's permission policies",
				Handler: showPolicies,
			},
			{
				Name:    "set",
				Summary: "change who may do one thing",
				Args: []ArgSpec{
					{Name: "action", Kind: ArgChoice, Choices: policyTargetNames(), Help: "what the policy guards"},
					{Name: "level", Kind: ArgChoice, Choices: policyLevels, Help: "who may do it"},
				},
				Check: GroupPolicy("super admins (a rule of every XMTP group)", func(inv *Invocation) (policy.Change, error) {
					next, _, err := nextPolicies(inv)
					return policy.Change{Permissions: &next}, err
				}),
				Handler: setPolicy,
			},
		},
	}
}

// nextPolicies returns the group's policy set after "policy set", with the
// chosen target and level.
func nextPolicies(inv *Invocation) (policy.PolicySet, policyTarget, error) {
	i := slices.Index(policyTargetNames(), inv.Args.Text("action"))
	if i < 0 {
		return policy.PolicySet{}, policyTarget{}, inv.UsageErrorf("%q is not an action I know.", inv.Args.Text("action"))
	}
	t := policyTargets[i]
	b, err := policy.ParseBasePolicy(inv.Args.Text("level"))
	if err != nil {
		return policy.PolicySet{}, t, fmt.Errorf("parse level: %w", err)
	}
	if b == policy.Allow && (t.typ == policy.UpdateAddAdmin || t.typ == policy.UpdateRemoveAdmin) {
		return policy.PolicySet{}, t, inv.UsageErrorf("%s can't be allow: the admin policies have no allow; use admin or super_admin.", t.name)
	}
	next := inv.Message.Group.Policies
	fields := t.fields
	if len(fields) == 0 {
		fields = []policy.MetadataField{""}
	}
	for _, f := range fields {
		if next, err = policy.UpdatePermissionPolicy(next, t.typ, b, f); err != nil {
			return policy.PolicySet{}, t, fmt.Errorf("update %s: %w", t.name, err)
		}
	}
	return next, t, nil
}

func setPolicy(ctx context.Context, inv *Invocation) error {
	e, err := capability[PolicyEditor](inv, "change permissions")
	if err != nil {
		return err
	}
	next, t, err := nextPolicies(inv)
	if err != nil {
		return err
	}
	level := inv.Args.Text("level")
	if next.Equal(inv.Message.Group.Policies) {
		return inv.Reply(ctx, fmt.Sprintf("%s is already %s.", t.name, level))
	}
	b, _ := policy.ParseBasePolicy(level)
	if len(t.fields) == 0 {
		err = e.SetPermissionPolicy(ctx, t.typ, b, "")
	}
	for _, f := range t.fields {
		if err = e.SetPermissionPolicy(ctx, t.typ, b, f); err != nil {
			break
		}
	}
	if err != nil {
		return err
	}
	return inv.Reply(ctx, fmt.Sprintf("%s is now %s.", t.name, level))
}

func showPolicies(ctx context.Context, inv *Invocation) error {
	s := inv.Message.Group.Policies
	var b strings.Builder
	fmt.Fprintf(&b, "Permissions (%s):\n", presetName(s))
	fmt.Fprintf(&b, "add_member: %s\n", s.AddMember)
	fmt.Fprintf(&b, "remove_member: %s\n", s.RemoveMember)
	fmt.Fprintf(&b, "add_admin: %s\n", s.AddAdmin)
	fmt.Fprintf(&b, "remove_admin: %s\n", s.RemoveAdmin)
	fields := policy.SupportedFields()
	known := len(fields)
	for f := range s.UpdateMetadata {
		if !slices.Contains(fields[:known], f) {
			fields = append(fields, f)
		}
	}
	slices.Sort(fields[known:])
	for _, f := range fields {
		p, explicit := s.MetadataPolicyFor(f)
		note := ""
		if !explicit {
			note = " (no policy of its own)"
		}
		fmt.Fprintf(&b, "%s: %s%s\n", f, p, note)
	}
	b.WriteString("Only super admins change permissions and super admins.")
	return inv.Reply(ctx, b.String())
}

func disappearCommand() *Command {
	return &Command{
		Name:    "disappear",
		Aliases: []string{"disappearing"},
		Summary: "make messages disappear after a while, or turn that off",
		Args:    []ArgSpec{{Name: "after", Kind: ArgDuration, Help: "how long messages stay, such as 30m, 1h or 7d, or off"}},
		Check: GroupPolicy("the group's update_metadata policy for the disappearing settings", func(inv *Invocation) (policy.Change, error) {
			v, _ := inv.Args.Value("after")
			in := strconv.FormatInt(int64(v.Duration), 10)
			return policy.Change{Metadata: policy.MetadataChange{Fields: []policy.FieldChange{
				fieldChange(inv, policy.FieldMessageDisappearFromNS, in),
				fieldChange(inv, policy.FieldMessageDisappearInNS, in),
			}}}, nil
		}),
		Handler: func(ctx context.Context, inv *Invocation) error {
			e, err := capability[DisappearingEditor](inv, "set disappearing messages")
			if err != nil {
				return err
			}
			v, _ := inv.Args.Value("after")
			if err := e.SetDisappearing(ctx, v.Duration); err != nil {
				return err
			}
			if v.Off {
				return inv.Reply(ctx, "Disappearing messages are off.")
			}
			return inv.Reply(ctx, "Messages now disappear after "+FormatDuration(v.Duration)+".")
		},
	}
}

func deleteCommand() *Command {
	return &Command{
		Name:    "delete",
		Aliases: []string{"del"},
		Summary: "delete a message: send it as a reply to that message",
		Check:   &Check{Summary: "the message's author, admins and super admins", Func: checkDelete},
		Handler: func(ctx context.Context, inv *Invocation) error {
			e, err := capability[MessageDeleter](inv, "delete messages")
			if err != nil {
				return err
			}
			if err := e.DeleteMessage(ctx, inv.Message.ReplyTo.ID); err != nil {
				return err
			}
			return inv.Reply(ctx, "Deleted the message.")
		},
	}
}

// checkDelete lets the author of the replied-to message, admins and super
// admins ask for its deletion. (XMTP lets only the author and super admins
// delete; the bot, when it is a super admin, deletes for admins too.)
func checkDelete(inv *Invocation) error {
	ref, sender := inv.Message.ReplyTo, inv.Message.Sender
	switch {
	case ref == nil || ref.ID == "":
		return inv.UsageErrorf("Send %sdelete as a reply to the message you want deleted.", inv.Prefix())
	case sender.Role >= policy.RoleAdmin:
		return nil
	case ref.Author.Inbox != "" && ref.Author.Inbox == sender.Inbox:
		return nil
	}
	return denial(inv, RuleDeleteMessage, "deleting someone else's message is for admins and super admins, and you are "+withArticle(sender.Role))
}
