package storage

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ClientIntent is one change of a group that the installation publishes,
// queued in the database so that a restart neither loses nor repeats it: a
// message to send, or a commit of ours with the welcomes to send once the
// commit is confirmed. Kind and State hold the client's stored numbers,
// which are permanent.
type ClientIntent struct {
	// ID orders a group's intents; 0 until stored.
	ID      int64
	GroupID []byte
	Kind    int16
	State   int16
	// MessageID is the message a send intent publishes.
	MessageID []byte
	// Payload is the MLS message built for the intent (nil until built);
	// a retry sends the same bytes.
	Payload []byte
	// PublishedEpoch is the epoch Payload was built in.
	PublishedEpoch uint64
	// PostCommit is what to do once the commit is confirmed (the client's
	// encoding of the welcomes to send); nil when nothing.
	PostCommit []byte
	// Cursor is the node id of Payload once it came back, else 0.
	Cursor uint64
	// ShouldPush is the push-notification hint sent with Payload.
	ShouldPush bool
	Attempts   int
	LastError  string
	CreatedNs  int64
	UpdatedNs  int64
}

type clientIntentRow struct {
	ID             int64 `gorm:"primaryKey;autoIncrement"`
	GroupID        []byte
	Kind           int16
	State          int16
	MessageID      []byte
	Payload        []byte
	PublishedEpoch int64
	PostCommit     []byte
	Cursor         int64
	ShouldPush     bool
	Attempts       int32
	LastError      string
	CreatedNs      int64
	UpdatedNs      int64
}

func (clientIntentRow) TableName() string { return "intents" }

func intentRow(in *ClientIntent) clientIntentRow {
	return clientIntentRow{ID: in.ID, GroupID: in.GroupID, Kind: in.Kind, State: in.State, MessageID: in.MessageID,
		Payload: in.Payload, PublishedEpoch: clampID(in.PublishedEpoch), PostCommit: in.PostCommit, Cursor: clampID(in.Cursor),
		ShouldPush: in.ShouldPush, Attempts: int32(in.Attempts), LastError: in.LastError, CreatedNs: in.CreatedNs, UpdatedNs: in.UpdatedNs}
}

func (r *clientIntentRow) model() ClientIntent {
	return ClientIntent{ID: r.ID, GroupID: r.GroupID, Kind: r.Kind, State: r.State, MessageID: r.MessageID, Payload: r.Payload,
		PublishedEpoch: uint64(r.PublishedEpoch), PostCommit: r.PostCommit, Cursor: uint64(r.Cursor), ShouldPush: r.ShouldPush, Attempts: int(r.Attempts),
		LastError: r.LastError, CreatedNs: r.CreatedNs, UpdatedNs: r.UpdatedNs}
}

// putIntents inserts the intents with ID 0 (setting their IDs) and
// rewrites the others.
func putIntents(tx *gorm.DB, intents []*ClientIntent) error {
	for _, in := range intents {
		row := intentRow(in)
		if in.ID == 0 {
			row.ID = 0
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
			in.ID = row.ID
			continue
		}
		res := tx.Model(&clientIntentRow{}).Where("id = ?", in.ID).Select("*").Omit("id").Updates(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("%w: intent %d", ErrNotFound, in.ID)
		}
	}
	return nil
}

// EnqueueMessage stores our new message m with its send intent in in one
// transaction, setting in.ID. When a message with m's id is stored already
// (the same content sent again with the same idempotency key) it stores
// nothing and returns false.
func (c *ClientDB) EnqueueMessage(ctx context.Context, m ClientMessage, in *ClientIntent) (bool, error) {
	inserted := false
	err := c.db(ctx).Transaction(func(tx *gorm.DB) error {
		row := messageRow(&m)
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		inserted = true
		return putIntents(tx, []*ClientIntent{in})
	})
	if err != nil {
		return false, fmt.Errorf("storage: enqueue message: %w", err)
	}
	return inserted, nil
}

// Intents returns the intents of group groupID (of every group when
// groupID is nil) whose state is one of states (any state when none is
// given), in queue order.
func (c *ClientDB) Intents(ctx context.Context, groupID []byte, states ...int16) ([]ClientIntent, error) {
	db := c.db(ctx)
	if groupID != nil {
		db = db.Where("group_id = ?", groupID)
	}
	if len(states) > 0 {
		db = db.Where("state IN ?", states)
	}
	var rows []clientIntentRow
	if err := db.Order("id ASC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: query intents: %w", err)
	}
	out := make([]ClientIntent, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// UpdateIntent rewrites in and, when messageStatus is not 0, sets the
// delivery status of its message, in one transaction.
func (c *ClientDB) UpdateIntent(ctx context.Context, in *ClientIntent, messageStatus int16) error {
	err := c.db(ctx).Transaction(func(tx *gorm.DB) error {
		if err := putIntents(tx, []*ClientIntent{in}); err != nil {
			return err
		}
		if messageStatus == 0 || in.MessageID == nil {
			return nil
		}
		return tx.Model(&clientMessageRow{}).Where("id = ?", in.MessageID).Update("delivery_status", messageStatus).Error
	})
	if err != nil {
		return fmt.Errorf("storage: update intent: %w", err)
	}
	return nil
}

// DeleteIntent deletes intent id (a no-op when it is gone).
func (c *ClientDB) DeleteIntent(ctx context.Context, id int64) error {
	if err := c.db(ctx).Where("id = ?", id).Delete(&clientIntentRow{}).Error; err != nil {
		return fmt.Errorf("storage: delete intent: %w", err)
	}
	return nil
}

// IntentGroups returns the ids of the groups that have intents in one of
// states.
func (c *ClientDB) IntentGroups(ctx context.Context, states ...int16) ([][]byte, error) {
	var ids [][]byte
	db := c.db(ctx).Model(&clientIntentRow{}).Distinct("group_id")
	if len(states) > 0 {
		db = db.Where("state IN ?", states)
	}
	if err := db.Pluck("group_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("storage: intent groups: %w", err)
	}
	return ids, nil
}

// Intent returns intent id, or ErrNotFound.
func (c *ClientDB) Intent(ctx context.Context, id int64) (*ClientIntent, error) {
	var rows []clientIntentRow
	if err := c.db(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: read intent: %w", err)
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	in := rows[0].model()
	return &in, nil
}
