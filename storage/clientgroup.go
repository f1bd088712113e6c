package storage

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ClientGroup is one group of a client installation: the MLS state blob
// (mls.Group.MarshalBinary output, a secret) plus the columns queries need,
// and Cursor, the node id of the last group message processed. State,
// Epoch, Active and Cursor change together, in one transaction.
type ClientGroup struct {
	GroupID []byte
	// CreatedNs is when we created or joined the group.
	CreatedNs int64
	// ConversationType is the wire ConversationType number.
	ConversationType int32
	CreatorInboxID   string
	// AddedByInboxID is who added us (our own inbox for groups we
	// created).
	AddedByInboxID string
	// DmID is "dm:<inbox>:<inbox>" for DMs, else "".
	DmID string
	// MembershipState is the client's local membership-state number.
	MembershipState int16
	Active          bool
	Epoch           uint64
	State           []byte
	Cursor          uint64
	// WelcomeID is the node id of the welcome we joined by (0 if created).
	WelcomeID     uint64
	LastMessageNs int64
	UpdatedNs     int64
}

type clientGroupRow struct {
	GroupID          []byte `gorm:"primaryKey"`
	CreatedNs        int64
	ConversationType int32
	CreatorInboxID   string
	AddedByInboxID   string
	DmID             string
	MembershipState  int16
	Active           bool
	Epoch            int64
	State            []byte
	Cursor           int64
	WelcomeID        int64
	LastMessageNs    int64
	UpdatedNs        int64
}

func (clientGroupRow) TableName() string { return "groups" }

func groupRow(g *ClientGroup) clientGroupRow {
	return clientGroupRow{GroupID: g.GroupID, CreatedNs: g.CreatedNs, ConversationType: g.ConversationType,
		CreatorInboxID: g.CreatorInboxID, AddedByInboxID: g.AddedByInboxID, DmID: g.DmID, MembershipState: g.MembershipState,
		Active: g.Active, Epoch: clampID(g.Epoch), State: nonNil(g.State), Cursor: clampID(g.Cursor), WelcomeID: clampID(g.WelcomeID),
		LastMessageNs: g.LastMessageNs, UpdatedNs: g.UpdatedNs}
}

func (r *clientGroupRow) model() *ClientGroup {
	return &ClientGroup{GroupID: r.GroupID, CreatedNs: r.CreatedNs, ConversationType: r.ConversationType,
		CreatorInboxID: r.CreatorInboxID, AddedByInboxID: r.AddedByInboxID, DmID: r.DmID, MembershipState: r.MembershipState,
		Active: r.Active, Epoch: uint64(r.Epoch), State: r.State, Cursor: uint64(r.Cursor), WelcomeID: uint64(r.WelcomeID),
		LastMessageNs: r.LastMessageNs, UpdatedNs: r.UpdatedNs}
}

// InsertGroup stores a group we created or joined, together with msgs
// (e.g. the "added" transcript), and, when cursorTopic is not empty,
// advances that cursor to cursor, all in one transaction. It returns false
// (and stores nothing but the cursor) when the group already exists.
func (c *ClientDB) InsertGroup(ctx context.Context, g ClientGroup, msgs []ClientMessage, cursorTopic string, cursor uint64) (bool, error) {
	inserted := false
	err := c.db(ctx).Transaction(func(tx *gorm.DB) error {
		row := groupRow(&g)
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return res.Error
		}
		inserted = res.RowsAffected == 1
		if inserted {
			if err := insertMessages(tx, msgs); err != nil {
				return err
			}
		}
		if cursorTopic == "" {
			return nil
		}
		return setCursor(tx, cursorTopic, cursor)
	})
	if err != nil {
		return false, fmt.Errorf("storage: insert group: %w", err)
	}
	return inserted, nil
}

// Group returns the group with id groupID, or ErrNotFound.
func (c *ClientDB) Group(ctx context.Context, groupID []byte) (*ClientGroup, error) {
	var rows []clientGroupRow
	if err := c.db(ctx).Where("group_id = ?", groupID).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: read group: %w", err)
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	return rows[0].model(), nil
}

// Groups returns every group, newest first, without their State blobs.
func (c *ClientDB) Groups(ctx context.Context) ([]ClientGroup, error) {
	var rows []clientGroupRow
	err := c.db(ctx).Omit("state").Order("created_ns DESC").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("storage: list groups: %w", err)
	}
	out := make([]ClientGroup, len(rows))
	for i := range rows {
		out[i] = *rows[i].model()
	}
	return out, nil
}

// GroupProgress is what processing group messages changes in a group row.
type GroupProgress struct {
	GroupID []byte
	State   []byte
	Epoch   uint64
	Active  bool
	// Cursor is the node id of the last message processed; it never moves
	// back (a smaller value keeps the stored one).
	Cursor    uint64
	UpdatedNs int64
}

// SaveGroupProgress writes a group's new MLS state and cursor and stores
// msgs (skipping ids already stored, but updating their delivery status
// and cursor) in one transaction, so a crash neither loses a processed
// message nor applies a commit twice. The group's last-message time
// becomes the newest SentAtNs of msgs.
func (c *ClientDB) SaveGroupProgress(ctx context.Context, p GroupProgress, msgs []ClientMessage) error {
	err := c.db(ctx).Transaction(func(tx *gorm.DB) error {
		upd := map[string]any{"state": nonNil(p.State), "epoch": clampID(p.Epoch), "active": p.Active, "updated_ns": p.UpdatedNs,
			"cursor": gorm.Expr("MAX(cursor, ?)", clampID(p.Cursor))}
		var last int64
		for _, m := range msgs {
			last = max(last, m.SentAtNs)
		}
		if last > 0 {
			upd["last_message_ns"] = gorm.Expr("MAX(last_message_ns, ?)", last)
		}
		res := tx.Model(&clientGroupRow{}).Where("group_id = ?", p.GroupID).Updates(upd)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("%w: group %x not stored", ErrNotFound, p.GroupID)
		}
		return insertMessages(tx, msgs)
	})
	if err != nil {
		return fmt.Errorf("storage: save group progress: %w", err)
	}
	return nil
}

type clientCursorRow struct {
	Topic  string `gorm:"primaryKey"`
	Cursor int64
}

func (clientCursorRow) TableName() string { return "cursors" }

// Cursor returns the stored cursor of topic (0 if none).
func (c *ClientDB) Cursor(ctx context.Context, topic string) (uint64, error) {
	var rows []clientCursorRow
	if err := c.db(ctx).Where("topic = ?", topic).Limit(1).Find(&rows).Error; err != nil {
		return 0, fmt.Errorf("storage: read cursor: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	return uint64(rows[0].Cursor), nil
}

// SetCursor raises the cursor of topic to cursor (it never moves back).
func (c *ClientDB) SetCursor(ctx context.Context, topic string, cursor uint64) error {
	if err := setCursor(c.db(ctx), topic, cursor); err != nil {
		return fmt.Errorf("storage: set cursor: %w", err)
	}
	return nil
}

func setCursor(tx *gorm.DB, topic string, cursor uint64) error {
	row := clientCursorRow{Topic: topic, Cursor: clampID(cursor)}
	return tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "topic"}},
		DoUpdates: clause.Assignments(map[string]any{"cursor": gorm.Expr("MAX(cursor, excluded.cursor)")}),
	}).Create(&row).Error
}
