// Package welcome is the members.welcome plugin: it greets members added
// to the group with a message from a template. Importing the package
// registers the plugin.
package welcome

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"mlsbridge/plugins"
)

// ID is the plugin's ID.
const ID plugins.ID = "members.welcome"

// DefaultMessage is the welcome used when Config.Message is empty.
const DefaultMessage = "Welcome, {mentions}!"

// MaxMentions is how many new members {mentions} names; the rest are
// counted ("and 3 more").
const MaxMentions = 20

// Placeholders are the placeholders Config.Message may use.
var Placeholders = []string{"mentions", "count"}

func init() {
	plugins.Register(plugins.Info{
		ID:      ID,
		Summary: "welcomes new members with a message",
		New:     func() plugins.Plugin { return new(Welcomer) },
	})
}

// Config is the plugin's config in a group.
type Config struct {
	// Message is the welcome, sent once per addition, with the
	// placeholders {mentions} (the new members as mentions, at most
	// MaxMentions of them) and {count} (how many were added). Write {{
	// and }} for literal braces. Empty (zero): DefaultMessage. At most
	// plugins.MaxTemplateLength bytes.
	Message string `json:"message"`
}

// Welcomer is the plugin.
type Welcomer struct {
	Config

	message plugins.Template
}

var _ plugins.Provisioner = (*Welcomer)(nil)

// Provision parses the message.
func (w *Welcomer) Provision() error {
	text := w.Message
	if text == "" {
		text = DefaultMessage
	}
	t, err := plugins.ParseTemplate(text, Placeholders...)
	if err != nil {
		return fmt.Errorf("message: %w", err)
	}
	w.message = t
	return nil
}

// HandleEvent welcomes added members.
func (w *Welcomer) HandleEvent(ctx context.Context, h *plugins.Host, ev plugins.Event) error {
	added, ok := ev.(plugins.MembersAdded)
	if !ok || len(added.Members) == 0 {
		return nil
	}
	text := w.message.Render(map[string]string{
		"mentions": plugins.Mentions(added.Members, MaxMentions),
		"count":    strconv.Itoa(len(added.Members)),
	})
	if strings.TrimSpace(text) == "" {
		return nil
	}
	h.Logger().Debug("welcoming members", "count", len(added.Members))
	return h.Reply(ctx, "", text)
}
