package storage

import (
	"context"

	"gorm.io/gorm"
)

// clientMigrate6 adds the groups' paused_for_version column (libxmtp's
// groups.paused_for_version): the minimum protocol version a group waits
// for before this client processes or sends anything in it; "" when the
// group is not paused. Groups stored before version 6 are not paused.
func clientMigrate6(tx *gorm.DB) error {
	return tx.Exec("ALTER TABLE groups ADD COLUMN paused_for_version TEXT NOT NULL DEFAULT ''").Error
}

// SetGroupPausedForVersion records that a group is paused until this
// client's version reaches version; "" lifts the pause. It returns
// ErrNotFound (wrapped) for a group not stored.
func (c *ClientDB) SetGroupPausedForVersion(ctx context.Context, groupID []byte, version string) error {
	return c.updateGroup(ctx, groupID, map[string]any{"paused_for_version": version})
}
