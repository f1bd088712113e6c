package bot

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mlsbridge/client"
	"mlsbridge/commands"
	"mlsbridge/identity"
	"mlsbridge/plugins"
	"mlsbridge/policy"
)

// Compile-time checks of the command capabilities the bot offers. The
// governance ones call *client.Group's methods directly.
var (
	_ commands.Reactor            = (*commandActions)(nil)
	_ commands.MemberEditor       = (*commandActions)(nil)
	_ commands.AdminEditor        = (*commandActions)(nil)
	_ commands.SuperAdminEditor   = (*commandActions)(nil)
	_ commands.MetadataEditor     = (*commandActions)(nil)
	_ commands.PolicyEditor       = (*commandActions)(nil)
	_ commands.DisappearingEditor = (*commandActions)(nil)
	_ commands.PendingRemover     = (*commandActions)(nil)
	_ commands.MessageDeleter     = (*commandActions)(nil)
	_ commands.Blocker            = (*commandActions)(nil)
	_ commands.PluginManager      = (*commandActions)(nil)
	_ commands.ResolveObserver    = (*commandActions)(nil)
)

// RuleOperator is the rule of the bot's own consent commands: only the
// operators configured in ConsentConfig.Operators accept or reject
// conversations.
const RuleOperator policy.RuleID = "bot_operator"

// commandActions is what a command acts through: one conversation, one
// event, on the conversation's goroutine.
type commandActions struct {
	plugins.GroupPlugins
	c        *convo
	ev       *Event
	resolved string // the command's path, once Dispatch resolved it
}

// CommandResolved notes the path of the command the line named, for the
// metrics.
func (a *commandActions) CommandResolved(path string) { a.resolved = path }

// Reply sends text to the conversation.
func (a *commandActions) Reply(ctx context.Context, text string) error {
	_, err := a.ev.Conversation.Send(ctx, text)
	return err
}

// React adds a reaction to a message of the conversation.
func (a *commandActions) React(ctx context.Context, to commands.MessageID, emoji string) error {
	return a.c.b.react(ctx, a.c.group, to, emoji)
}

// AddMembers adds the members, addresses resolved to inboxes, in one
// commit.
func (a *commandActions) AddMembers(ctx context.Context, ms []commands.Member) error {
	ids, err := a.c.b.resolveMembers(ctx, ms)
	if err != nil {
		return err
	}
	_, err = a.c.group.AddMembers(ctx, ids)
	if errors.Is(err, client.ErrNoKeyPackages) {
		return commands.NewUserError("I couldn't add them: none of their installations can be added right now.", err)
	}
	return err
}

// RemoveMembers removes the members in one commit.
func (a *commandActions) RemoveMembers(ctx context.Context, ms []commands.Member) error {
	ids, err := a.c.b.resolveMembers(ctx, ms)
	if err != nil {
		return err
	}
	_, err = a.c.group.RemoveMembers(ctx, ids)
	return err
}

// AddAdmin puts m on the admin list.
func (a *commandActions) AddAdmin(ctx context.Context, m commands.Member) error {
	return a.adminChange(ctx, m, (*client.Group).AddAdmin)
}

// RemoveAdmin takes m off the admin list.
func (a *commandActions) RemoveAdmin(ctx context.Context, m commands.Member) error {
	return a.adminChange(ctx, m, (*client.Group).RemoveAdmin)
}

// adminChange resolves m and applies do, an admin-list method of the
// group, to it.
func (a *commandActions) adminChange(ctx context.Context, m commands.Member, do func(*client.Group, context.Context, identity.InboxID) error) error {
	id, err := a.c.b.resolveMember(ctx, m)
	if err != nil {
		return err
	}
	return do(a.c.group, ctx, id)
}

// AddSuperAdmin puts m on the super-admin list.
func (a *commandActions) AddSuperAdmin(ctx context.Context, m commands.Member) error {
	return a.adminChange(ctx, m, (*client.Group).AddSuperAdmin)
}

// RemoveSuperAdmin takes m off the super-admin list.
func (a *commandActions) RemoveSuperAdmin(ctx context.Context, m commands.Member) error {
	return a.adminChange(ctx, m, (*client.Group).RemoveSuperAdmin)
}

// SetMetadata sets one attribute.
func (a *commandActions) SetMetadata(ctx context.Context, field policy.MetadataField, value string) error {
	return userArgError(a.c.group.UpdateAttribute(ctx, field, value))
}

// SetPermissionPolicy replaces one permission policy.
func (a *commandActions) SetPermissionPolicy(ctx context.Context, t policy.PermissionUpdateType, b policy.BasePolicy, field policy.MetadataField) error {
	return userArgError(a.c.group.UpdatePermissionPolicy(ctx, t, b, field))
}

// SetDisappearing makes messages disappear after d (zero: off).
func (a *commandActions) SetDisappearing(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return a.c.group.RemoveDisappearingSettings(ctx)
	}
	// libxmtp's apps set from_ns to "now" and in_ns to the duration; from
	// only takes part in the enabled test (xmtp-groups §9).
	return userArgError(a.c.group.UpdateDisappearingSettings(ctx, a.c.b.now().UnixNano(), int64(d)))
}

// userArgError turns the client's invalid-argument errors (a value over a
// limit, say) into a reply that says so.
func userArgError(err error) error {
	if errors.Is(err, client.ErrInvalidArgument) {
		return commands.NewUserError("The group can't take that value: it is too long or not in the right form.", err)
	}
	return err
}

// PendingRemovals lists the members who asked to leave and still are
// members.
func (a *commandActions) PendingRemovals(ctx context.Context) ([]commands.Member, error) {
	ids, err := a.c.pendingMembers(ctx, a.ev.Conversation.info)
	if err != nil {
		return nil, err
	}
	var out []commands.Member
	for _, id := range ids {
		if m, err := commands.ParseMember(string(id)); err == nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// RemovePendingRemovals removes every member who asked to leave, in one
// commit. A refusal by the group's policies is returned as such (unlike
// the client's RemoveMembersPendingRemoval, which quietly does nothing
// unless we are a super admin).
func (a *commandActions) RemovePendingRemovals(ctx context.Context) (int, error) {
	ids, err := a.c.pendingMembers(ctx, a.ev.Conversation.info)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	if _, err := a.c.group.RemoveMembers(ctx, ids); err != nil {
		return 0, err
	}
	return len(ids), nil
}

// DeleteMessage deletes a message for everyone.
func (a *commandActions) DeleteMessage(ctx context.Context, id commands.MessageID) error {
	return a.c.b.deleteMessage(ctx, a.c.group, id)
}

// Block sets m's consent to denied: the bot ignores its messages.
func (a *commandActions) Block(ctx context.Context, m commands.Member) error {
	return a.setInboxConsent(ctx, m, client.ConsentDenied)
}

// Unblock sets m's consent back to allowed.
func (a *commandActions) Unblock(ctx context.Context, m commands.Member) error {
	return a.setInboxConsent(ctx, m, client.ConsentAllowed)
}

func (a *commandActions) setInboxConsent(ctx context.Context, m commands.Member, s client.ConsentState) error {
	id, err := a.c.b.resolveMember(ctx, m)
	if err != nil {
		return err
	}
	if id == a.c.b.self {
		return commands.NewUserError("I can't block myself.", nil)
	}
	rec := client.ConsentRecord{EntityType: client.ConsentInbox, Entity: string(id), State: s}
	if err := a.c.b.client.SetConsentStates(ctx, rec); err != nil {
		return fmt.Errorf("bot: set consent: %w", err)
	}
	a.c.log.Info("member consent changed", "inbox_id", string(id), "consent", s.String(), "by", string(a.ev.Sender))
	return nil
}

// resolveMembers returns the inboxes of ms, each once: inbox ids as given,
// addresses looked up on the network. An address with no inbox gives a
// *commands.UserError naming it.
func (b *Bot) resolveMembers(ctx context.Context, ms []commands.Member) ([]identity.InboxID, error) {
	var out []identity.InboxID
	for _, m := range ms {
		id, err := b.resolveMember(ctx, m)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

func (b *Bot) resolveMember(ctx context.Context, m commands.Member) (identity.InboxID, error) {
	if s, ok := m.Inbox(); ok {
		return identity.ParseInboxID(s)
	}
	s, ok := m.Address()
	if !ok {
		return "", commands.NewUserError("Name a member by inbox id or address.", nil)
	}
	addr, err := identity.ParseAddress(s)
	if err != nil {
		return "", commands.NewUserError(fmt.Sprintf("%s is not an address I can use.", s), err)
	}
	id, found, err := b.client.InboxIDFor(ctx, addr)
	if err != nil {
		return "", fmt.Errorf("bot: look up %s: %w", addr, err)
	}
	if !found {
		return "", commands.NewUserError(fmt.Sprintf("%s has no XMTP inbox.", addr), nil)
	}
	return id, nil
}

// operatorCheck denies the consent commands to everyone but the operators.
func (b *Bot) operatorCheck() *commands.Check {
	return &commands.Check{Summary: "the bot's operators", Func: func(inv *commands.Invocation) error {
		if b.cfg.Consent.isOperator(inv.Message.Sender.Inbox) {
			return nil
		}
		c := policy.Check{Rule: policy.Rule{ID: RuleOperator, Section: commands.SectionCommands,
			Text: "accepting or rejecting a conversation is for the bot's operators, and you are not one"}}
		return &policy.DeniedError{Decision: policy.Decision{Check: c, Actor: inv.Message.Sender, Checks: []policy.Check{c}}}
	}}
}

// consentCommands are !accept and !reject, for operators.
func (b *Bot) consentCommands() []*commands.Command {
	run := func(s convState) commands.HandlerFunc {
		return func(ctx context.Context, inv *commands.Invocation) error {
			a, ok := inv.Actions.(*commandActions)
			if !ok {
				return &commands.NotSupportedError{Action: "accept or reject conversations"}
			}
			return a.c.decideByOperator(ctx, a.ev, s, inv)
		}
	}
	return []*commands.Command{
		{Name: "accept", Summary: "let the bot serve this conversation (bot operators)", Check: b.operatorCheck(), Handler: run(stateAccepted)},
		{Name: "reject", Summary: "make the bot ignore this conversation (bot operators)", Check: b.operatorCheck(), Handler: run(stateRejected)},
	}
}

// newDispatchers builds the dispatcher of served conversations (the
// configured tree, the plugins' commands, accept and reject) and the one
// of pending conversations (accept and reject only, and nothing else is
// even answered).
func (b *Bot) newDispatchers() error {
	tree := b.cfg.Commands
	if tree == nil {
		tree = commands.Builtins()
	}
	pc, err := b.plugins.Commands(func(inv *commands.Invocation) (plugins.GroupID, bool) {
		a, ok := inv.Actions.(*commandActions)
		if !ok {
			return "", false
		}
		return plugins.GroupID(a.c.key), true
	})
	if err != nil {
		return fmt.Errorf("bot: plugin commands: %w", err)
	}
	tree = slices.Concat(tree, pc, b.consentCommands())
	if b.dispatcher, err = commands.New(commands.Config{Prefix: b.cfg.CommandPrefix, Commands: tree}); err != nil {
		return fmt.Errorf("bot: %w", err)
	}
	onlyConsent := func(msg commands.Message, line string) (string, bool) {
		words, err := commands.Tokenize(line)
		if err != nil || len(words) == 0 {
			return "", false
		}
		w := strings.ToLower(words[0].Text)
		return line, w == "accept" || w == "reject"
	}
	b.pendingDispatcher, err = commands.New(commands.Config{Prefix: b.cfg.CommandPrefix,
		Accept:   commands.AllOf(commands.Prefix(b.cfg.CommandPrefix), onlyConsent),
		Commands: b.consentCommands()})
	if err != nil {
		return fmt.Errorf("bot: %w", err)
	}
	return nil
}

// dispatch runs the event's text as a command when it is one; d is the
// dispatcher of the conversation's state.
func (c *convo) dispatch(ctx context.Context, d *commands.Dispatcher, ev *Event) {
	if ev.Text == "" || ev.FromSelf {
		return
	}
	if _, ok := commands.Prefix(c.b.cfg.CommandPrefix)(commands.Message{}, ev.Text); !ok {
		return
	}
	if age := c.b.now().Sub(ev.Time); c.b.cfg.CommandMaxAge > 0 && age > c.b.cfg.CommandMaxAge {
		c.log.Info("stale command ignored", "message_id", ev.MessageID(), "age", age.Round(time.Second))
		return
	}
	msg := commands.Message{Text: ev.Text, ID: commands.MessageID(ev.MessageID()),
		Sender: policy.Participant{Inbox: ev.Sender}, Group: ev.Conversation.policyState()}
	if ev.ReplyTo != "" {
		msg.ReplyTo = &commands.Reference{ID: commands.MessageID(ev.ReplyTo)}
		if ref, err := c.b.client.FindMessage(ctx, hexMessageID(ev.ReplyTo)); err == nil {
			msg.ReplyTo.Author = policy.Participant{Inbox: ref.SenderInboxID}
		}
	}
	act := &commandActions{GroupPlugins: c.b.plugins.ForGroup(plugins.GroupID(c.key)), c: c, ev: ev}
	start := time.Now()
	err := d.Dispatch(ctx, act, msg)
	if errors.Is(err, commands.ErrNotCommand) {
		return
	}
	c.b.metrics.commands.Add(1)
	c.b.observeCommand(act.resolved, err, time.Since(start))
	c.noteError(err)
	attrs := []any{"message_id", ev.MessageID(), "sender", string(ev.Sender), "duration", time.Since(start)}
	var pe *commands.PanicError
	var de *policy.DeniedError
	var um commands.UserMessager
	switch {
	case err == nil:
		c.log.Info("command done", attrs...)
	case errors.As(err, &pe):
		c.log.Error("command panicked", append(attrs, "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))...)
	case errors.As(err, &de):
		c.log.Info("command denied", append(attrs, "rule", string(de.Decision.Rule.ID))...)
	case errors.As(err, &um):
		c.log.Info("command refused", append(attrs, "error", err)...)
	default:
		c.log.Warn("command failed", append(attrs, "error", err)...)
	}
}

// hexMessageID parses a lowercase hex message id; nil when it is not one.
func hexMessageID(s string) client.MessageID {
	b, err := hex.DecodeString(s)
	if err != nil || !isHexID(s) {
		return nil
	}
	return b
}
