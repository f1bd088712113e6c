package storage

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ClientMessage is one message of a client's group transcript: an
// application message (sent or received) or a local membership-change
// record. ID is the libxmtp message id (xmtp-groups.md §5.2): computed,
// never minted, identical for every member. Kind and DeliveryStatus hold
// the client's stored numbers, which are permanent.
type ClientMessage struct {
	ID                 []byte
	GroupID            []byte
	SentAtNs           int64
	Kind               int16
	DeliveryStatus     int16
	SenderInboxID      string
	SenderInstallation []byte
	AuthorityID        string
	TypeID             string
	VersionMajor       uint32
	VersionMinor       uint32
	// Content is the encoded EncodedContent protobuf.
	Content        []byte
	IdempotencyKey string
	// Cursor is the node id of the group message, 0 until known.
	Cursor uint64
	// Payload is the MLS message we publish for an unpublished message of
	// ours (so a retry sends the same bytes); nil otherwise.
	Payload    []byte
	InsertedNs int64
}

type clientMessageRow struct {
	ID                 []byte `gorm:"primaryKey"`
	GroupID            []byte
	SentAtNs           int64
	Kind               int16
	DeliveryStatus     int16
	SenderInboxID      string
	SenderInstallation []byte
	AuthorityID        string
	TypeID             string
	VersionMajor       int32
	VersionMinor       int32
	Content            []byte
	IdempotencyKey     string
	Cursor             int64
	Payload            []byte
	InsertedNs         int64
}

func (clientMessageRow) TableName() string { return "messages" }

func (r *clientMessageRow) model() ClientMessage {
	return ClientMessage{ID: r.ID, GroupID: r.GroupID, SentAtNs: r.SentAtNs, Kind: r.Kind, DeliveryStatus: r.DeliveryStatus,
		SenderInboxID: r.SenderInboxID, SenderInstallation: r.SenderInstallation, AuthorityID: r.AuthorityID, TypeID: r.TypeID,
		VersionMajor: uint32(r.VersionMajor), VersionMinor: uint32(r.VersionMinor), Content: r.Content, IdempotencyKey: r.IdempotencyKey,
		Cursor: uint64(r.Cursor), Payload: r.Payload, InsertedNs: r.InsertedNs}
}

// insertMessages stores msgs; a message whose id is stored already keeps
// its row but takes the new delivery status, cursor, sent time and payload
// (our own message confirmed by the network).
func insertMessages(tx *gorm.DB, msgs []ClientMessage) error {
	for _, m := range msgs {
		row := clientMessageRow{ID: m.ID, GroupID: m.GroupID, SentAtNs: m.SentAtNs, Kind: m.Kind, DeliveryStatus: m.DeliveryStatus,
			SenderInboxID: m.SenderInboxID, SenderInstallation: m.SenderInstallation, AuthorityID: m.AuthorityID, TypeID: m.TypeID,
			VersionMajor: int32(m.VersionMajor), VersionMinor: int32(m.VersionMinor), Content: nonNil(m.Content),
			IdempotencyKey: m.IdempotencyKey, Cursor: clampID(m.Cursor), Payload: m.Payload, InsertedNs: m.InsertedNs}
		err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "id"}},
			DoUpdates: clause.AssignmentColumns([]string{"delivery_status", "cursor", "sent_at_ns", "payload"}),
		}).Create(&row).Error
		if err != nil {
			return err
		}
	}
	return nil
}

// InsertMessages stores msgs in one transaction (see SaveGroupProgress for
// how an existing id is updated).
func (c *ClientDB) InsertMessages(ctx context.Context, msgs []ClientMessage) error {
	if err := c.db(ctx).Transaction(func(tx *gorm.DB) error { return insertMessages(tx, msgs) }); err != nil {
		return fmt.Errorf("storage: insert messages: %w", err)
	}
	return nil
}

// MessageQuery selects messages of one group. The zero value returns all of
// them, oldest first.
type MessageQuery struct {
	// SentAfterNs and SentBeforeNs bound SentAtNs exclusively; 0 means no
	// bound.
	SentAfterNs  int64
	SentBeforeNs int64
	// Kind and DeliveryStatus select one value; 0 means any.
	Kind           int16
	DeliveryStatus int16
	// Limit caps the result; 0 means no limit.
	Limit int
	// Descending returns the newest first.
	Descending bool
}

// Messages returns the messages of group groupID that q selects, ordered
// by sent time (then insertion order).
func (c *ClientDB) Messages(ctx context.Context, groupID []byte, q MessageQuery) ([]ClientMessage, error) {
	db := c.db(ctx).Where("group_id = ?", groupID)
	if q.SentAfterNs > 0 {
		db = db.Where("sent_at_ns > ?", q.SentAfterNs)
	}
	if q.SentBeforeNs > 0 {
		db = db.Where("sent_at_ns < ?", q.SentBeforeNs)
	}
	if q.Kind != 0 {
		db = db.Where("kind = ?", q.Kind)
	}
	if q.DeliveryStatus != 0 {
		db = db.Where("delivery_status = ?", q.DeliveryStatus)
	}
	if q.Descending {
		db = db.Order("sent_at_ns DESC").Order("inserted_ns DESC")
	} else {
		db = db.Order("sent_at_ns ASC").Order("inserted_ns ASC")
	}
	if q.Limit > 0 {
		db = db.Limit(q.Limit)
	}
	var rows []clientMessageRow
	if err := db.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: query messages: %w", err)
	}
	out := make([]ClientMessage, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// MessagesWithPayload returns our messages that still carry a payload
// (not yet published, or published but not yet seen back), oldest first:
// of group groupID, or of every group when groupID is nil.
func (c *ClientDB) MessagesWithPayload(ctx context.Context, groupID []byte) ([]ClientMessage, error) {
	db := c.db(ctx).Where("payload IS NOT NULL")
	if groupID != nil {
		db = db.Where("group_id = ?", groupID)
	}
	var rows []clientMessageRow
	if err := db.Order("inserted_ns ASC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: query messages with payload: %w", err)
	}
	out := make([]ClientMessage, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}
