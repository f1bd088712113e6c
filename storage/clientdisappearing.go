package storage

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// Disappearing messages (xmtp-groups.md §9): a message's expiry time is
// stamped once, when it is stored as published (received, or ours
// confirmed), and kept; the sweep deletes by that stamp alone, so it needs
// neither the group's settings nor a clock of its own, and a restart loses
// nothing.

// expireCol is the stored form of an expiry time: NULL for "never" (0).
func expireCol(ns int64) *int64 {
	if ns == 0 {
		return nil
	}
	return &ns
}

// expireOf reads a stored expiry time; NULL is 0, "never".
func expireOf(col *int64) int64 {
	if col == nil {
		return 0
	}
	return *col
}

// clientMigrate5 adds a message's expiry time (messages.expire_at_ns,
// nanoseconds; NULL means it never expires, as libxmtp's column) with a
// partial index for the sweep. Messages stored before keep NULL: like
// libxmtp's own migration to stamped expiry, they never expire.
func clientMigrate5(tx *gorm.DB) error {
	for _, stmt := range []string{
		"ALTER TABLE messages ADD COLUMN expire_at_ns INTEGER",
		"CREATE INDEX IF NOT EXISTS idx_messages_expire ON messages(expire_at_ns) WHERE expire_at_ns IS NOT NULL",
	} {
		if err := tx.Exec(stmt).Error; err != nil {
			return err
		}
	}
	return nil
}

// DeleteExpiredMessages deletes, in every group, the published application
// messages (kind 1, delivery status 2) whose expiry time is set and at or
// before nowNs (xmtp-groups.md §9), and returns how many it deleted.
func (c *ClientDB) DeleteExpiredMessages(ctx context.Context, nowNs int64) (int64, error) {
	res := c.db(ctx).Where("kind = 1 AND delivery_status = 2 AND expire_at_ns IS NOT NULL AND expire_at_ns <= ?", nowNs).
		Delete(&clientMessageRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("storage: delete expired messages: %w", res.Error)
	}
	return res.RowsAffected, nil
}
