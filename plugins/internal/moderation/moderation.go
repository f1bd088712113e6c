// Package moderation holds what the built-in moderation plugins share:
// who is moderated, and the response to a violating message (report it,
// delete it, warn its sender). It acts only through the [plugins.Host].
package moderation

import (
	"context"
	"errors"
	"fmt"

	"mlsbridge/plugins"
	"mlsbridge/policy"
)

// WarningPlaceholders are the placeholders a warning template may use:
// {sender} is the sender as a mention, {rule} the broken rule.
var WarningPlaceholders = []string{"sender", "rule"}

// ParseWarning parses a warning template, using def when text is empty.
func ParseWarning(text, def string) (plugins.Template, error) {
	if text == "" {
		text = def
	}
	t, err := plugins.ParseTemplate(text, WarningPlaceholders...)
	if err != nil {
		return plugins.Template{}, fmt.Errorf("warning: %w", err)
	}
	return t, nil
}

// Moderated reports whether m is subject to moderation: a text message in
// a group (DMs are left alone), from a member, or from anyone when
// moderateAdmins is set.
func Moderated(m plugins.Message, moderateAdmins bool) bool {
	if m.DM || m.Text == "" {
		return false
	}
	return moderateAdmins || m.SenderRole == policy.RoleMember
}

// Response says what to do with a violating message.
type Response struct {
	// Rule names the broken rule for the sender and the log, such as
	// "blocked word". It never quotes the message.
	Rule string
	// Keep keeps the message instead of deleting it.
	Keep bool
	// Silent sends no warning.
	Silent bool
	// Warning is the warning template (see WarningPlaceholders).
	Warning plugins.Template
}

// Enforce reports m's violation to the other plugins, deletes m unless
// r.Keep, and warns its sender unless r.Silent. It tries every step and
// returns what failed, joined.
func Enforce(ctx context.Context, h *plugins.Host, m plugins.Message, r Response) error {
	h.Report(plugins.Violation{Member: m.Sender, Message: m.ID, Rule: r.Rule, Time: m.Time})
	h.Logger().Info("message violates a rule", "rule", r.Rule, "inbox_id", string(m.Sender), "deleted", !r.Keep && m.ID != "")
	var errs []error
	if !r.Keep && m.ID != "" {
		if err := h.DeleteMessage(ctx, m.ID); err != nil {
			errs = append(errs, fmt.Errorf("delete message: %w", err))
		}
	}
	if !r.Silent {
		text := r.Warning.Render(map[string]string{"sender": m.Sender.Mention(), "rule": r.Rule})
		if text != "" {
			if err := h.Reply(ctx, "", text); err != nil {
				errs = append(errs, fmt.Errorf("warn sender: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}
