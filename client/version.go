package client

import (
	"context"
	"errors"
	"fmt"

	"mlsbridge/policy"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
)

// The minimum-version pause (xmtp-groups.md §4 step 15 and §4.1), as
// libxmtp 1.9.1 implements it:
//
//   - Every received commit is checked against the group's
//     minimum_supported_protocol_version after it (the commit's when it
//     changes the mutable metadata, else the current one), read and
//     ordered as 1.9.1 reads versions ([policy.CheckMinVersion]). A floor
//     that does not parse makes the commit invalid. A floor above our
//     version pauses the group: the commit is not merged, the cursor stays
//     before it, and the floor is stored as the group's paused-for
//     version. Nothing after it in that sync is processed.
//   - Our own commit failing that check is not merged and its intent fails,
//     as any own commit our checks refuse; the group is not paused
//     (libxmtp marks such an intent errored and moves on).
//   - A welcome into a group (not a DM) whose floor parses and is above our
//     version stores the group paused.
//   - While a group is paused, syncing it does nothing and succeeds
//     ([Group.Sync], [Client.SyncAllWelcomesAndGroups]); streams skip its
//     messages; [Group.Send], [Group.PublishMessages] and every change of
//     the group (members, metadata, admins, permissions, leaving, re-adds)
//     fail with a *[GroupPausedError] without touching the network.
//     [Group.SendMessageOptimistic] still stores the message, unpublished,
//     as libxmtp's send_message_optimistic does.
//   - The pause is lifted only by a sync, and only when this client's
//     version has reached the stored one (an upgraded client); the sync
//     then processes the commit that paused the group. A later commit
//     lowering the floor cannot lift it: a paused group reads nothing
//     after the commit that paused it, in libxmtp as here.

// LibXMTPVersion is the libxmtp version this client acts as: what it
// compares a group's minimum_supported_protocol_version with. It is the
// version of the libxmtp (npm @xmtp/node-bindings) this client is
// wire-compatible with, so that in a group shared with libxmtp 1.9.1 a
// floor pauses us exactly when it pauses libxmtp; libxmtp's own sender
// raises a group's floor to its own version ("match self"), which must
// never pause us. Raise it only with the behaviour it names.
const LibXMTPVersion = "1.9.1"

// GroupPausedError is returned by the operations a paused group refuses:
// the group's minimum supported protocol version, Version, is above this
// client's (libxmtp's GroupPausedUntilUpdate). An upgraded client lifts
// the pause at its next sync of the group.
type GroupPausedError struct {
	Version string
}

func (e *GroupPausedError) Error() string {
	return fmt.Sprintf("client: group is paused until version %s is available", e.Version)
}

// Version returns the libxmtp version this client acts as
// ([LibXMTPVersion]).
func (c *Client) Version() string {
	if v := c.version.Load(); v != nil {
		return *v
	}
	return LibXMTPVersion
}

// setVersion makes the client act as another libxmtp version, as if it
// had been upgraded (tests only).
func (c *Client) setVersion(v string) { c.version.Store(&v) }

// PausedForVersion returns the minimum protocol version the group waits
// for, or "" when it is not paused (libxmtp's paused_for_version). It does
// no network I/O.
func (g *Group) PausedForVersion(ctx context.Context) (string, error) {
	var v string
	err := g.c.withGroup(ctx, g.id, func(_ context.Context, st *groupState) error {
		v = st.row.PausedForVersion
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("paused for version: %w", err)
	}
	return v, nil
}

// pausedErr returns a *GroupPausedError when the group is paused.
func (st *groupState) pausedErr() error {
	if st.row.PausedForVersion == "" {
		return nil
	}
	return &GroupPausedError{Version: st.row.PausedForVersion}
}

// ensureNotPaused refuses a send into group id when it is paused, after
// refusing it when we are no longer a member (libxmtp's send_message
// checks in that order).
func (c *Client) ensureNotPaused(ctx context.Context, id []byte) error {
	row, err := c.db.Group(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrGroupNotFound
	} else if err != nil {
		return err
	}
	if !row.Active {
		return ErrInactiveGroup
	}
	if row.PausedForVersion != "" {
		return &GroupPausedError{Version: row.PausedForVersion}
	}
	return nil
}

// checkFloor applies the group's minimum supported protocol version after
// a commit (ext: the extensions after it) to our version: nil when there
// is none or ours reaches it, a *policy.VersionTooLowError (pause), or a
// *policy.VersionFormatError (the commit is invalid).
func (c *Client) checkFloor(ext *GroupExtensions) error {
	floor, ok := ext.Mutable.GetAttributes()[AttrMinVersion]
	if !ok {
		return nil
	}
	return policy.CheckMinVersion(floor, c.Version())
}

// pauseOnVersion pauses the group when err is a received commit's floor
// above our version. It reports whether it did: processing then stops
// before that commit, which stays unmerged with the cursor before it. The
// pause is recorded in p, so it is stored in the transaction that stores
// the messages before the commit and the cursor (saveState), never
// without them.
func (c *Client) pauseOnVersion(st *groupState, err error, own bool, p *storage.GroupProgress) bool {
	var low *policy.VersionTooLowError
	if own || !errors.As(err, &low) {
		return false
	}
	p.PausedForVersion = low.Min
	c.log.Warn("group paused for its minimum protocol version", "group_id", GroupID(st.row.GroupID).String(),
		"min_version", low.Min, "own_version", low.Own)
	return true
}

// liftPause unpauses the group when our version has reached the one it
// waits for.
func (c *Client) liftPause(ctx context.Context, st *groupState) error {
	paused := st.row.PausedForVersion
	if paused == "" {
		return nil
	}
	err := policy.CheckMinVersion(paused, c.Version())
	if low := (*policy.VersionTooLowError)(nil); errors.As(err, &low) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: stored paused-for version: %w", ErrInternal, err)
	}
	if err := c.db.SetGroupPausedForVersion(ctx, st.row.GroupID, ""); err != nil {
		return fmt.Errorf("lift group pause: %w", err)
	}
	st.row.PausedForVersion = ""
	c.log.Info("group pause lifted", "group_id", GroupID(st.row.GroupID).String(), "min_version", paused, "own_version", c.Version())
	return nil
}

// syncUnlessPaused runs sync, a sync of the group, as libxmtp's
// sync_with_conn treats pauses: it first lifts the pause if our version
// allows; a group still paused is not synced, and one the sync pauses
// ends it; neither is an error. It reports whether the group is paused.
func (c *Client) syncUnlessPaused(ctx context.Context, st *groupState, sync func() error) (bool, error) {
	if err := c.liftPause(ctx, st); err != nil {
		return false, err
	}
	if st.row.PausedForVersion != "" {
		return true, nil
	}
	err := sync()
	if pe := (*GroupPausedError)(nil); errors.As(err, &pe) {
		return true, nil
	}
	return false, err
}

// welcomePause returns the version a group joined by welcome waits for:
// its floor when it is a group (not a DM), the floor parses and is above
// our version; else "".
func (c *Client) welcomePause(ext *GroupExtensions) string {
	if ext.Metadata.GetConversationType() != content.ConversationType_CONVERSATION_TYPE_GROUP {
		return ""
	}
	floor, ok := ext.Mutable.GetAttributes()[AttrMinVersion]
	if !ok {
		return ""
	}
	var low *policy.VersionTooLowError
	if !errors.As(policy.CheckMinVersion(floor, c.Version()), &low) {
		return ""
	}
	c.log.Warn("group joined paused for its minimum protocol version", "min_version", floor, "own_version", c.Version())
	return floor
}

// checkFloorValue refuses, before anything is sent, a floor we would
// ourselves refuse: one that does not parse (every member drops the
// commit) or one above our own version (our own check would fail and
// every member at our version would pause).
func (c *Client) checkFloorValue(field policy.MetadataField, value string) error {
	if field != policy.FieldMinimumSupportedProtocolVersion {
		return nil
	}
	err := policy.CheckMinVersion(value, c.Version())
	if low := (*policy.VersionTooLowError)(nil); errors.As(err, &low) {
		return fmt.Errorf("%w: %s %s is above this client's version %s", ErrInvalidArgument, field, value, c.Version())
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidArgument, field, err)
	}
	return nil
}
