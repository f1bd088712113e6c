package commands_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"mlsbridge/commands"
	"mlsbridge/policy"
)

// Inboxes of the test group: alice is its super admin, bob an admin, carol
// a member; dave is not in it.
const (
	alice = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	bob   = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	carol = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	dave  = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	erin  = "0x00000000000000000000000000000000000000e1" // an address
)

// ids appends inbox ids to a list of policy's inbox-id type. The tests,
// like the package, stay within STYLE.md §1 and do not import identity.
func ids[S ~[]E, E ~string](list S, s ...string) S {
	for _, x := range s {
		list = append(list, E(x))
	}
	return list
}

// testGroup returns a group of alice, bob and carol with the policy set p.
func testGroup(p policy.PolicySet) policy.GroupState {
	var g policy.GroupState
	g.Type = policy.ConversationGroup
	g.Members = ids(g.Members, alice, bob, carol)
	g.Metadata.SuperAdmins = ids(g.Metadata.SuperAdmins, alice)
	g.Metadata.Admins = ids(g.Metadata.Admins, bob)
	g.Metadata.Attributes = map[policy.MetadataField]string{
		policy.FieldGroupName:              "Book club",
		policy.FieldDescription:            "We read",
		policy.FieldMessageDisappearFromNS: "0",
		policy.FieldMessageDisappearInNS:   "0",
	}
	g.Policies = p
	return g
}

// fakeActions implements Actions and every capability, recording each
// call.
type fakeActions struct {
	replies []string
	calls   []string
	// err, when set, is returned by every action but Reply.
	err      error
	replyErr error
	plugins  []commands.PluginInfo
	pending  []commands.Member
}

func (f *fakeActions) record(format string, args ...any) error {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	return f.err
}

func (f *fakeActions) Reply(_ context.Context, text string) error {
	f.replies = append(f.replies, text)
	return f.replyErr
}

func (f *fakeActions) React(_ context.Context, to commands.MessageID, emoji string) error {
	return f.record("React %s %s", to, emoji)
}

func (f *fakeActions) AddMembers(_ context.Context, ms []commands.Member) error {
	return f.record("AddMembers %s", joinMembers(ms))
}

func (f *fakeActions) RemoveMembers(_ context.Context, ms []commands.Member) error {
	return f.record("RemoveMembers %s", joinMembers(ms))
}

func (f *fakeActions) AddAdmin(_ context.Context, m commands.Member) error {
	return f.record("AddAdmin %s", m)
}

func (f *fakeActions) RemoveAdmin(_ context.Context, m commands.Member) error {
	return f.record("RemoveAdmin %s", m)
}

func (f *fakeActions) AddSuperAdmin(_ context.Context, m commands.Member) error {
	return f.record("AddSuperAdmin %s", m)
}

func (f *fakeActions) RemoveSuperAdmin(_ context.Context, m commands.Member) error {
	return f.record("RemoveSuperAdmin %s", m)
}

func (f *fakeActions) SetMetadata(_ context.Context, field policy.MetadataField, value string) error {
	return f.record("SetMetadata %s %q", field, value)
}

func (f *fakeActions) SetPermissionPolicy(_ context.Context, t policy.PermissionUpdateType, b policy.BasePolicy, field policy.MetadataField) error {
	return f.record("SetPermissionPolicy %s %s %s", t, b, field)
}

func (f *fakeActions) SetDisappearing(_ context.Context, d time.Duration) error {
	return f.record("SetDisappearing %s", d)
}

func (f *fakeActions) PendingRemovals(context.Context) ([]commands.Member, error) {
	return f.pending, f.record("PendingRemovals")
}

func (f *fakeActions) RemovePendingRemovals(context.Context) (int, error) {
	return len(f.pending), f.record("RemovePendingRemovals")
}

func (f *fakeActions) DeleteMessage(_ context.Context, id commands.MessageID) error {
	return f.record("DeleteMessage %s", id)
}

func (f *fakeActions) Block(_ context.Context, m commands.Member) error {
	return f.record("Block %s", m)
}

func (f *fakeActions) Unblock(_ context.Context, m commands.Member) error {
	return f.record("Unblock %s", m)
}

func (f *fakeActions) Plugins(context.Context) ([]commands.PluginInfo, error) {
	return f.plugins, nil
}

func (f *fakeActions) SetPluginEnabled(_ context.Context, id string, enabled bool) error {
	return f.record("SetPluginEnabled %s %t", id, enabled)
}

func (f *fakeActions) PluginConfig(_ context.Context, id string) (string, error) {
	return "words: spam, scam", f.record("PluginConfig %s", id)
}

func (f *fakeActions) SetPluginConfig(_ context.Context, id, key, value string) error {
	return f.record("SetPluginConfig %s %s %q", id, key, value)
}

var (
	_ commands.Reactor            = (*fakeActions)(nil)
	_ commands.MemberEditor       = (*fakeActions)(nil)
	_ commands.AdminEditor        = (*fakeActions)(nil)
	_ commands.SuperAdminEditor   = (*fakeActions)(nil)
	_ commands.MetadataEditor     = (*fakeActions)(nil)
	_ commands.PolicyEditor       = (*fakeActions)(nil)
	_ commands.DisappearingEditor = (*fakeActions)(nil)
	_ commands.PendingRemover     = (*fakeActions)(nil)
	_ commands.MessageDeleter     = (*fakeActions)(nil)
	_ commands.Blocker            = (*fakeActions)(nil)
	_ commands.PluginManager      = (*fakeActions)(nil)
)

// replyOnly implements only the required core of Actions.
type replyOnly struct{ replies []string }

func (r *replyOnly) Reply(_ context.Context, text string) error {
	r.replies = append(r.replies, text)
	return nil
}

func joinMembers(ms []commands.Member) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return strings.Join(parts, ",")
}

func newDispatcher(t *testing.T, cfg commands.Config) *commands.Dispatcher {
	t.Helper()
	d, err := commands.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

// participant returns the participant with inbox id (its role unset).
func participant(id string) policy.Participant {
	var p policy.Participant
	setID(&p.Inbox, id)
	return p
}

func setID[E ~string](dst *E, s string) { *dst = E(s) }

// from returns a message with text from inbox id in g.
func from(id, text string, g policy.GroupState) commands.Message {
	return commands.Message{Text: text, ID: "c0ffee", Sender: participant(id), Group: g}
}
