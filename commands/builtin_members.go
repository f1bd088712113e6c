package commands

import (
	"context"
	"fmt"

	"mlsbridge/policy"
)

func adminCommand() *Command {
	return &Command{
		Name:    "admin",
		Aliases: []string{"admins"},
		Summary: "manage the group's admins",
		Subcommands: []*Command{
			{
				Name:    "add",
				Summary: "make a member an admin",
				Args:    []ArgSpec{memberArg},
				Check: GroupPolicy("the group's add_admin policy", func(inv *Invocation) (policy.Change, error) {
					var c policy.Change
					c.Metadata.AdminsAdded = appendInbox(c.Metadata.AdminsAdded, inv.Args.Member("member").String())
					return c, nil
				}),
				Handler: adminHandler("add admins", AdminEditor.AddAdmin, true, "%s is now an admin.", "%s is already an admin."),
			},
			{
				Name:    "remove",
				Aliases: []string{"rm"},
				Summary: "make an admin a plain member again",
				Args:    []ArgSpec{memberArg},
				Check: GroupPolicy("the group's remove_admin policy", func(inv *Invocation) (policy.Change, error) {
					var c policy.Change
					c.Metadata.AdminsRemoved = appendInbox(c.Metadata.AdminsRemoved, inv.Args.Member("member").String())
					return c, nil
				}),
				Handler: adminHandler("remove admins", AdminEditor.RemoveAdmin, false, "%s is no longer an admin.", "%s is not an admin."),
			},
			{
				Name:    "list",
				Aliases: []string{"ls"},
				Summary: "list the admins and super admins",
				Handler: listAdmins,
			},
		},
	}
}

// adminHandler runs an admin-list change through AdminEditor. add says
// whether it adds (a member already on the list needs nothing) or removes.
func adminHandler(action string, do func(AdminEditor, context.Context, Member) error, add bool, done, noop string) HandlerFunc {
	return func(ctx context.Context, inv *Invocation) error {
		a, err := capability[AdminEditor](inv, action)
		if err != nil {
			return err
		}
		m := inv.Args.Member("member")
		if _, ok := m.Inbox(); ok && hasInbox(inv.Message.Group.Metadata.Admins, m.String()) == add {
			return inv.Reply(ctx, fmt.Sprintf(noop, m))
		}
		if err := do(a, ctx, m); err != nil {
			return err
		}
		return inv.Reply(ctx, fmt.Sprintf(done, m))
	}
}

func listAdmins(ctx context.Context, inv *Invocation) error {
	md := inv.Message.Group.Metadata
	var supers, admins []string
	for _, id := range md.SuperAdmins {
		supers = append(supers, string(id))
	}
	for _, id := range md.Admins {
		if !md.IsSuperAdmin(id) {
			admins = append(admins, string(id))
		}
	}
	text := listLines("Super admins:", supers)
	if len(supers) == 0 {
		text = "No super admins."
	}
	if len(admins) == 0 {
		text += "\nNo admins."
	} else {
		text += "\n" + listLines("Admins:", admins)
	}
	return inv.Reply(ctx, text)
}

func superAdminCommand() *Command {
	const who = "super admins (a rule of every XMTP group)"
	return &Command{
		Name:    "superadmin",
		Aliases: []string{"superadmins", "super"},
		Summary: "manage the group's super admins",
		Subcommands: []*Command{
			{
				Name:    "add",
				Summary: "make a member a super admin",
				Args:    []ArgSpec{memberArg},
				Check: GroupPolicy(who, func(inv *Invocation) (policy.Change, error) {
					var c policy.Change
					c.Metadata.SuperAdminsAdded = appendInbox(c.Metadata.SuperAdminsAdded, inv.Args.Member("member").String())
					return c, nil
				}),
				Handler: superAdminHandler("add super admins", SuperAdminEditor.AddSuperAdmin, true, "%s is now a super admin.", "%s is already a super admin."),
			},
			{
				Name:    "remove",
				Aliases: []string{"rm"},
				Summary: "take away a member's super admin status",
				Args:    []ArgSpec{memberArg},
				Check: GroupPolicy(who+", keeping at least one", func(inv *Invocation) (policy.Change, error) {
					var c policy.Change
					c.Metadata.SuperAdminsRemoved = appendInbox(c.Metadata.SuperAdminsRemoved, inv.Args.Member("member").String())
					return c, nil
				}),
				Handler: superAdminHandler("remove super admins", SuperAdminEditor.RemoveSuperAdmin, false, "%s is no longer a super admin.", "%s is not a super admin."),
			},
		},
	}
}

func superAdminHandler(action string, do func(SuperAdminEditor, context.Context, Member) error, add bool, done, noop string) HandlerFunc {
	return func(ctx context.Context, inv *Invocation) error {
		a, err := capability[SuperAdminEditor](inv, action)
		if err != nil {
			return err
		}
		m := inv.Args.Member("member")
		if _, ok := m.Inbox(); ok && hasInbox(inv.Message.Group.Metadata.SuperAdmins, m.String()) == add {
			return inv.Reply(ctx, fmt.Sprintf(noop, m))
		}
		if err := do(a, ctx, m); err != nil {
			return err
		}
		return inv.Reply(ctx, fmt.Sprintf(done, m))
	}
}

func membersCommand() *Command {
	return &Command{
		Name:    "members",
		Aliases: []string{"member"},
		Summary: "add, remove or list the group's members",
		Subcommands: []*Command{
			{
				Name:    "add",
				Summary: "add members to the group",
				Args:    []ArgSpec{membersArg},
				Check: GroupPolicy("the group's add_member policy", func(inv *Invocation) (policy.Change, error) {
					return policy.Change{AddedMembers: memberChanges(inv.Args.Members("member"))}, nil
				}),
				Handler: membersHandler("add members", MemberEditor.AddMembers, "Added"),
			},
			{
				Name:    "remove",
				Aliases: []string{"rm", "kick"},
				Summary: "remove members from the group",
				Args:    []ArgSpec{membersArg},
				Check: GroupPolicy("the group's remove_member policy", func(inv *Invocation) (policy.Change, error) {
					return policy.Change{RemovedMembers: memberChanges(inv.Args.Members("member"))}, nil
				}),
				Handler: membersHandler("remove members", MemberEditor.RemoveMembers, "Removed"),
			},
			{
				Name:    "list",
				Aliases: []string{"ls"},
				Summary: "list the group's members",
				Handler: listMembers,
			},
		},
	}
}

// membersHandler adds or removes the "member" arguments, each once, in one
// commit.
func membersHandler(action string, do func(MemberEditor, context.Context, []Member) error, done string) HandlerFunc {
	return func(ctx context.Context, inv *Invocation) error {
		e, err := capability[MemberEditor](inv, action)
		if err != nil {
			return err
		}
		ms := unique(inv.Args.Members("member"))
		if err := do(e, ctx, ms); err != nil {
			return err
		}
		return inv.Reply(ctx, done+" "+plural(len(ms), "member")+".")
	}
}

func listMembers(ctx context.Context, inv *Invocation) error {
	g := inv.Message.Group
	lines := make([]string, len(g.Members))
	for i, id := range g.Members {
		lines[i] = string(id) + roleNote(g.Metadata, id)
	}
	return inv.Reply(ctx, listLines(plural(len(lines), "member")+":", lines))
}

// memberChanges returns ms as policy member changes proposed by the actor.
func memberChanges(ms []Member) []policy.MemberChange {
	ms = unique(ms)
	out := make([]policy.MemberChange, len(ms))
	for i, m := range ms {
		setInbox(&out[i].Inbox, m.String())
	}
	return out
}

// unique returns ms without repeated members (a mention of an id and the
// plain id count once), in order.
func unique(ms []Member) []Member {
	var out []Member
	seen := map[string]bool{}
	for _, m := range ms {
		if !seen[m.String()] {
			seen[m.String()] = true
			out = append(out, m)
		}
	}
	return out
}

func pendingCommand() *Command {
	return &Command{
		Name:    "pending",
		Summary: "see or process the members who asked to leave",
		Subcommands: []*Command{
			{
				Name:    "list",
				Aliases: []string{"ls"},
				Summary: "list the members who asked to leave",
				Handler: listPending,
			},
			{
				Name:    "remove",
				Aliases: []string{"process"},
				Summary: "remove everyone who asked to leave",
				Role:    policy.RoleSuperAdmin,
				Help:    "Only super admins process leave requests (xmtp-groups §7).",
				Handler: removePending,
			},
		},
	}
}

func listPending(ctx context.Context, inv *Invocation) error {
	p, err := capability[PendingRemover](inv, "list the members who asked to leave")
	if err != nil {
		return err
	}
	ms, err := p.PendingRemovals(ctx)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		return inv.Reply(ctx, "No one has asked to leave.")
	}
	lines := make([]string, len(ms))
	for i, m := range ms {
		lines[i] = m.String()
	}
	return inv.Reply(ctx, listLines("Waiting to be removed:", lines))
}

func removePending(ctx context.Context, inv *Invocation) error {
	p, err := capability[PendingRemover](inv, "remove the members who asked to leave")
	if err != nil {
		return err
	}
	n, err := p.RemovePendingRemovals(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return inv.Reply(ctx, "No one was waiting to be removed.")
	}
	return inv.Reply(ctx, "Removed "+plural(n, "member")+" who asked to leave.")
}

func blockCommand(name, summary string, do func(Blocker, context.Context, Member) error, done string) *Command {
	return &Command{
		Name:    name,
		Summary: summary,
		Args:    []ArgSpec{memberArg},
		Role:    policy.RoleAdmin,
		Handler: func(ctx context.Context, inv *Invocation) error {
			b, err := capability[Blocker](inv, name+" members")
			if err != nil {
				return err
			}
			m := inv.Args.Member("member")
			if err := do(b, ctx, m); err != nil {
				return err
			}
			return inv.Reply(ctx, fmt.Sprintf(done, m))
		},
	}
}
