package client

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"

	"mlsbridge/policy"
	"mlsbridge/wire/content"
)

// UpdateGroupName sets the group_name attribute, in a commit that changes
// only the mutable metadata (xmtp-groups.md §3.3, §4.2). name is limited
// to 100 bytes (not characters), as libxmtp limits it; a longer one wraps
// ErrInvalidArgument. The group's update_metadata policy for group_name
// must allow us (the default preset: everyone; admins only: admins); a
// refusal, checked before anything is published, is a *policy.DeniedError
// naming the rule. DMs refuse it (dm_immutable), as libxmtp's sender does.
// Nothing is committed when the name is already name. It blocks until the
// commit is merged.
func (g *Group) UpdateGroupName(ctx context.Context, name string) error {
	return g.updateAttribute(ctx, "update group name", policy.FieldGroupName, name)
}

// UpdateGroupDescription sets the description attribute (at most 1000
// bytes); see UpdateGroupName.
func (g *Group) UpdateGroupDescription(ctx context.Context, description string) error {
	return g.updateAttribute(ctx, "update group description", policy.FieldDescription, description)
}

// UpdateGroupImageURLSquare sets the group_image_url_square attribute (at
// most 2048 bytes); see UpdateGroupName.
func (g *Group) UpdateGroupImageURLSquare(ctx context.Context, url string) error {
	return g.updateAttribute(ctx, "update group image url", policy.FieldGroupImageURLSquare, url)
}

// UpdateAppData sets the app_data attribute (an opaque application
// string, at most 8192 bytes); see UpdateGroupName. Groups created before
// app_data existed have no policy for it, so only admins may set it there
// (metadata_fallback).
func (g *Group) UpdateAppData(ctx context.Context, appData string) error {
	return g.updateAttribute(ctx, "update app data", policy.FieldAppData, appData)
}

// UpdateAttribute sets any mutable-metadata attribute, including custom
// keys libxmtp does not know, in a commit that changes only that
// attribute. The attribute's own update_metadata policy applies; a key
// without one may be changed by admins, or, when it starts with "_", by
// super admins only (metadata_fallback, xmtp-groups.md §3.4). The value
// must fit what members read (else ErrInvalidArgument): the four limited
// attributes their byte limits, the disappearing settings a decimal int64,
// the minimum protocol version a semantic version, _commit_log_signer the
// hex of a 32-byte key. The removed group_pinned_frame_url is an ordinary
// key here. Note that raising minimum_supported_protocol_version above a
// member's version pauses the group for that member; a value above this
// client's own version (Client.Version) is refused. See UpdateGroupName
// for the rest of the contract.
func (g *Group) UpdateAttribute(ctx context.Context, field policy.MetadataField, value string) error {
	return g.updateAttribute(ctx, "update attribute", field, value)
}

func (g *Group) updateAttribute(ctx context.Context, op string, field policy.MetadataField, value string) error {
	if err := checkAttribute(field, value); err != nil {
		return fmt.Errorf("client: %s: %w", op, err)
	}
	if err := g.c.checkFloorValue(field, value); err != nil {
		return fmt.Errorf("client: %s: %w", op, err)
	}
	return g.runContextChange(ctx, op, attributeBuilder(g.c, field, value))
}

// attributeBuilder plans the commit setting one attribute.
func attributeBuilder(c *Client, field policy.MetadataField, value string) contextBuilder {
	return func(st *groupState, ext *GroupExtensions) (*contextPlan, error) {
		return c.mutablePlan(IntentMetadataUpdate, st, ext, func(m *content.GroupMutableMetadataV1) {
			m.Attributes[string(field)] = value
		})
	}
}

// checkAttribute refuses values members would refuse or misread.
func checkAttribute(field policy.MetadataField, value string) error {
	if field == "" {
		return fmt.Errorf("%w: empty attribute key", ErrInvalidArgument)
	}
	if limit, ok := field.MaxLength(); ok && len(value) > limit {
		return fmt.Errorf("%w: %s is %d bytes, over its limit of %d bytes", ErrInvalidArgument, field, len(value), limit)
	}
	switch field {
	case policy.FieldMessageDisappearFromNS, policy.FieldMessageDisappearInNS:
		if _, err := strconv.ParseInt(value, 10, 64); err != nil {
			return fmt.Errorf("%w: %s must be a decimal number of nanoseconds, not %q", ErrInvalidArgument, field, value)
		}
	case policy.FieldMinimumSupportedProtocolVersion:
		if _, err := policy.CompareVersions(value, value); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidArgument, field, err)
		}
	case policy.FieldCommitLogSigner:
		if b, err := hex.DecodeString(value); err != nil || len(b) != commitLogSignerKeySize {
			return fmt.Errorf("%w: %s must be the hex of a %d-byte key", ErrInvalidArgument, field, commitLogSignerKeySize)
		}
	}
	return nil
}

// DisappearingSettings are a conversation's disappearing-message settings
// (xmtp-groups.md §9), in nanoseconds: an application message stored as
// published while they are enabled (received, or ours confirmed) expires
// InNs after it was stored, by the storing client's clock; the stamp is
// kept when the settings change later (see disappearing.go). The zero
// value is "off".
type DisappearingSettings struct {
	// FromNs only takes part in the Enabled test (it was a cutoff time
	// before July 2025).
	FromNs int64
	InNs   int64
}

// Enabled reports whether messages disappear: both values are positive.
func (s DisappearingSettings) Enabled() bool { return s.FromNs > 0 && s.InNs > 0 }

// DisappearingSettings returns the group's settings from its
// message_disappear_from_ns and message_disappear_in_ns attributes, and
// false when either is missing or not a decimal int64 (libxmtp then has
// no settings either).
func (i *GroupInfo) DisappearingSettings() (DisappearingSettings, bool) {
	from, err1 := strconv.ParseInt(i.Attributes[AttrDisappearFromNs], 10, 64)
	in, err2 := strconv.ParseInt(i.Attributes[AttrDisappearInNs], 10, 64)
	if err1 != nil || err2 != nil {
		return DisappearingSettings{}, false
	}
	return DisappearingSettings{FromNs: from, InNs: in}, true
}

// UpdateDisappearingSettings sets the group's disappearing-message
// settings as libxmtp does (xmtp-groups.md §9): two commits, each changing
// only the mutable metadata, message_disappear_from_ns first, then
// message_disappear_in_ns (a step whose value is already set commits
// nothing). Both values must be non-negative (else ErrInvalidArgument). The
// permissions are checked for both attributes before the first commit (the
// presets: admins only in groups, everyone in DMs, where libxmtp's sender
// allows it too), so a refusal (*policy.DeniedError) changes nothing. It
// only changes the settings: messages stored before keep their expiry,
// and deleting expired messages is the disappearing worker's job. It
// blocks until both commits are merged.
func (g *Group) UpdateDisappearingSettings(ctx context.Context, fromNs, inNs int64) error {
	const op = "update disappearing settings"
	if fromNs < 0 || inNs < 0 {
		return fmt.Errorf("client: %s: %w: negative nanoseconds (from %d, in %d)", op, ErrInvalidArgument, fromNs, inNs)
	}
	return g.setDisappearing(ctx, op, fromNs, inNs)
}

// RemoveDisappearingSettings turns disappearing messages off by writing
// "0" to both settings, as libxmtp does; see UpdateDisappearingSettings.
func (g *Group) RemoveDisappearingSettings(ctx context.Context) error {
	return g.setDisappearing(ctx, "remove disappearing settings", 0, 0)
}

func (g *Group) setDisappearing(ctx context.Context, op string, fromNs, inNs int64) error {
	from, in := strconv.FormatInt(fromNs, 10), strconv.FormatInt(inNs, 10)
	fromStep := func(st *groupState, ext *GroupExtensions) (*contextPlan, error) {
		both, err := g.c.mutablePlan(IntentMetadataUpdate, st, ext, func(m *content.GroupMutableMetadataV1) {
			m.Attributes[AttrDisappearFromNs], m.Attributes[AttrDisappearInNs] = from, in
		})
		if err != nil || both == nil {
			return nil, err
		}
		if err := policy.EvaluateIntent(policyState(ext), both.change).Err(); err != nil {
			return nil, err
		}
		return attributeBuilder(g.c, policy.FieldMessageDisappearFromNS, from)(st, ext)
	}
	err := g.c.withGroup(ctx, g.id, func(ctx context.Context, st *groupState) error {
		if _, err := g.c.commitGroupContext(ctx, st, fromStep); err != nil {
			return err
		}
		_, err := g.c.commitGroupContext(ctx, st, attributeBuilder(g.c, policy.FieldMessageDisappearInNS, in))
		return err
	})
	if err != nil {
		return fmt.Errorf("client: %s: %w", op, err)
	}
	return nil
}

// DisappearingSettings returns the group's disappearing-message settings
// as of the last synced epoch, and false when it has none (no network
// I/O); see GroupInfo.DisappearingSettings.
func (g *Group) DisappearingSettings(ctx context.Context) (DisappearingSettings, bool, error) {
	info, err := g.Info(ctx)
	if err != nil {
		return DisappearingSettings{}, false, err
	}
	s, ok := info.DisappearingSettings()
	return s, ok, nil
}
