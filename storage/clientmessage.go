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
	Cursor     uint64
	InsertedNs int64
	// ReferenceID is the id of the message a reply, reaction or deletion
	// refers to (hex-decoded from its content); nil for other messages.
	ReferenceID []byte
	// ExpireAtNs is when a disappearing message expires (local clock,
	// stamped when it is stored as published, xmtp-groups.md §9); 0 means
	// never.
	ExpireAtNs int64
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
	InsertedNs         int64
	ReferenceID        []byte
	ExpireAtNs         *int64
}

func (clientMessageRow) TableName() string { return "messages" }

func messageRow(m *ClientMessage) clientMessageRow {
	return clientMessageRow{ID: m.ID, GroupID: m.GroupID, SentAtNs: m.SentAtNs, Kind: m.Kind, DeliveryStatus: m.DeliveryStatus,
		SenderInboxID: m.SenderInboxID, SenderInstallation: m.SenderInstallation, AuthorityID: m.AuthorityID, TypeID: m.TypeID,
		VersionMajor: int32(m.VersionMajor), VersionMinor: int32(m.VersionMinor), Content: nonNil(m.Content),
		IdempotencyKey: m.IdempotencyKey, Cursor: clampID(m.Cursor), InsertedNs: m.InsertedNs, ReferenceID: m.ReferenceID,
		ExpireAtNs: expireCol(m.ExpireAtNs)}
}

func (r *clientMessageRow) model() ClientMessage {
	return ClientMessage{ID: r.ID, GroupID: r.GroupID, SentAtNs: r.SentAtNs, Kind: r.Kind, DeliveryStatus: r.DeliveryStatus,
		SenderInboxID: r.SenderInboxID, SenderInstallation: r.SenderInstallation, AuthorityID: r.AuthorityID, TypeID: r.TypeID,
		VersionMajor: uint32(r.VersionMajor), VersionMinor: uint32(r.VersionMinor), Content: r.Content, IdempotencyKey: r.IdempotencyKey,
		Cursor: uint64(r.Cursor), InsertedNs: r.InsertedNs, ReferenceID: r.ReferenceID, ExpireAtNs: expireOf(r.ExpireAtNs)}
}

// MessageConfirmation marks our message ID as seen back on the network:
// its delivery status, node cursor and node time, and its expiry time
// (0: never), which replaces the stored one.
type MessageConfirmation struct {
	ID             []byte
	DeliveryStatus int16
	Cursor         uint64
	SentAtNs       int64
	ExpireAtNs     int64
}

// insertMessages stores msgs; a message whose id is stored already keeps
// its row (a message is stored once, whoever delivers it again).
func insertMessages(tx *gorm.DB, msgs []ClientMessage) error {
	for i := range msgs {
		row := messageRow(&msgs[i])
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
			return err
		}
	}
	return nil
}

func confirmMessages(tx *gorm.DB, cs []MessageConfirmation) error {
	for _, m := range cs {
		err := tx.Model(&clientMessageRow{}).Where("id = ?", m.ID).Updates(map[string]any{
			"delivery_status": m.DeliveryStatus, "cursor": clampID(m.Cursor), "sent_at_ns": m.SentAtNs,
			"expire_at_ns": expireCol(m.ExpireAtNs)}).Error
		if err != nil {
			return err
		}
	}
	return nil
}

// InsertMessages stores msgs in one transaction (an id stored already is
// left as it is).
func (c *ClientDB) InsertMessages(ctx context.Context, msgs []ClientMessage) error {
	if err := c.db(ctx).Transaction(func(tx *gorm.DB) error { return insertMessages(tx, msgs) }); err != nil {
		return fmt.Errorf("storage: insert messages: %w", err)
	}
	return nil
}

// MessageQuery selects messages. The zero value returns every message of
// every group, oldest first.
type MessageQuery struct {
	// GroupIDs selects the messages of these groups; nil means every group.
	GroupIDs [][]byte
	// SentAfterNs and SentBeforeNs bound SentAtNs exclusively; 0 means no
	// bound. InsertedAfterNs and InsertedBeforeNs bound InsertedNs alike.
	SentAfterNs      int64
	SentBeforeNs     int64
	InsertedAfterNs  int64
	InsertedBeforeNs int64
	// Kind and DeliveryStatus select one value; 0 means any.
	Kind           int16
	DeliveryStatus int16
	// TypeIDs keeps only these content type ids ("text", "reaction"…);
	// ExcludeTypeIDs drops them. Nil means no filter.
	TypeIDs        []string
	ExcludeTypeIDs []string
	// ExcludeSenders drops the messages of these inboxes.
	ExcludeSenders []string
	// Limit caps the result; 0 means no limit.
	Limit int
	// Descending returns the newest first.
	Descending bool
	// ByInsertion orders by InsertedNs instead of SentAtNs.
	ByInsertion bool
	// UnexpiredAtNs, when positive, drops the messages whose ExpireAtNs is
	// set and at or before it (expired, even if not deleted yet).
	UnexpiredAtNs int64
}

// Messages returns the messages q selects, ordered by sent time (or
// insertion time), ties broken by insertion order.
func (c *ClientDB) Messages(ctx context.Context, q MessageQuery) ([]ClientMessage, error) {
	db := c.db(ctx)
	if q.GroupIDs != nil {
		db = db.Where("group_id IN ?", q.GroupIDs)
	}
	for _, b := range []struct {
		col string
		op  string
		v   int64
	}{{"sent_at_ns", ">", q.SentAfterNs}, {"sent_at_ns", "<", q.SentBeforeNs},
		{"inserted_ns", ">", q.InsertedAfterNs}, {"inserted_ns", "<", q.InsertedBeforeNs}} {
		if b.v > 0 {
			db = db.Where(b.col+" "+b.op+" ?", b.v)
		}
	}
	if q.Kind != 0 {
		db = db.Where("kind = ?", q.Kind)
	}
	if q.DeliveryStatus != 0 {
		db = db.Where("delivery_status = ?", q.DeliveryStatus)
	}
	if q.TypeIDs != nil {
		db = db.Where("type_id IN ?", q.TypeIDs)
	}
	if len(q.ExcludeTypeIDs) > 0 {
		db = db.Where("type_id NOT IN ?", q.ExcludeTypeIDs)
	}
	if len(q.ExcludeSenders) > 0 {
		db = db.Where("sender_inbox_id NOT IN ?", q.ExcludeSenders)
	}
	if q.UnexpiredAtNs > 0 {
		db = db.Where("(expire_at_ns IS NULL OR expire_at_ns > ?)", q.UnexpiredAtNs)
	}
	col := "sent_at_ns"
	if q.ByInsertion {
		col = "inserted_ns"
	}
	dir := " ASC"
	if q.Descending {
		dir = " DESC"
	}
	db = db.Order(col + dir).Order("inserted_ns" + dir).Order("rowid" + dir)
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

// Message returns the message with id, or ErrNotFound.
func (c *ClientDB) Message(ctx context.Context, id []byte) (*ClientMessage, error) {
	var rows []clientMessageRow
	if err := c.db(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: read message: %w", err)
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	m := rows[0].model()
	return &m, nil
}

// MessageTypeIDs returns, by id, the content type id of each message of
// ids that is stored with kind kind; other ids are absent.
func (c *ClientDB) MessageTypeIDs(ctx context.Context, ids [][]byte, kind int16) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID     []byte
		TypeID string
	}
	err := c.db(ctx).Model(&clientMessageRow{}).Select("id", "type_id").Where("id IN ? AND kind = ?", ids, kind).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("storage: read message types: %w", err)
	}
	for _, r := range rows {
		out[string(r.ID)] = r.TypeID
	}
	return out, nil
}

// MessagesAtCursor returns the messages of group groupID that the group
// message with node id cursor produced, in insertion order.
func (c *ClientDB) MessagesAtCursor(ctx context.Context, groupID []byte, cursor uint64) ([]ClientMessage, error) {
	var rows []clientMessageRow
	err := c.db(ctx).Where("group_id = ? AND cursor = ?", groupID, clampID(cursor)).Order("inserted_ns ASC").Order("rowid ASC").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("storage: messages at cursor: %w", err)
	}
	out := make([]ClientMessage, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// LastMessages returns, for each of groupIDs that has one, its newest
// message of kind (any kind when 0), keyed by string(group id).
func (c *ClientDB) LastMessages(ctx context.Context, groupIDs [][]byte, kind int16) (map[string]ClientMessage, error) {
	out := map[string]ClientMessage{}
	if len(groupIDs) == 0 {
		return out, nil
	}
	sub := "SELECT m2.rowid FROM messages m2 WHERE m2.group_id = messages.group_id"
	args := []any{}
	if kind != 0 {
		sub += " AND m2.kind = ?"
		args = append(args, kind)
	}
	sub += " ORDER BY m2.sent_at_ns DESC, m2.inserted_ns DESC, m2.rowid DESC LIMIT 1"
	var rows []clientMessageRow
	err := c.db(ctx).Where("group_id IN ?", groupIDs).Where("rowid = ("+sub+")", args...).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("storage: last messages: %w", err)
	}
	for i := range rows {
		out[string(rows[i].GroupID)] = rows[i].model()
	}
	return out, nil
}
