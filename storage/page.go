package storage

import (
	"crypto/sha256"
	"errors"
	"math"

	"gorm.io/gorm"
)

// MaxPageSize is the largest page a query returns; Page.Limit values of 0
// or above it mean MaxPageSize.
const MaxPageSize = 100

// Page selects one page of a topic (a group, an installation's welcomes, a
// group's commit log) by id. The cursor is exclusive: ascending pages hold
// ids > Cursor, descending pages ids < Cursor, and Cursor 0 means from the
// start (ascending) or the end (descending).
type Page struct {
	Descending bool
	Limit      int
	Cursor     uint64
}

// limit returns the effective page size.
func (p Page) limit() int {
	if p.Limit <= 0 || p.Limit > MaxPageSize {
		return MaxPageSize
	}
	return p.Limit
}

// apply adds the cursor condition, order and limit of p to q, whose id
// column is col.
func (p Page) apply(q *gorm.DB, col string) *gorm.DB {
	cursor := clampID(p.Cursor)
	if p.Descending {
		if cursor > 0 {
			q = q.Where(col+" < ?", cursor)
		}
		return q.Order(col + " DESC").Limit(p.limit())
	}
	return q.Where(col+" > ?", cursor).Order(col + " ASC").Limit(p.limit())
}

// clampID converts an API id to the signed column type; ids are always
// below 2^63 (spec §3.3), so larger cursors behave as "after everything".
func clampID(id uint64) int64 {
	if id > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(id)
}

// contentHash is the dedupe key of a stored payload: SHA-256 of the topic
// followed by the payload (spec §4.1, §2.11).
func contentHash(topic, payload []byte) []byte {
	h := sha256.New()
	h.Write(topic)
	h.Write(payload)
	return h.Sum(nil)
}

// nonNil returns b, or an empty slice for nil, for NOT NULL blob columns.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// isNotFound reports gorm's "record not found".
func isNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }
