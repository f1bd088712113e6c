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
	// InstallationsCheckedNs is when the members' installations were last
	// compared with their identity state (0: never).
	InstallationsCheckedNs int64
	// PausedForVersion is the minimum protocol version the group waits
	// for ("": not paused). SaveGroupProgress sets it with the progress of
	// the page that paused the group; SetGroupPausedForVersion sets or
	// lifts it alone.
	PausedForVersion string
}

type clientGroupRow struct {
	GroupID                []byte `gorm:"primaryKey"`
	CreatedNs              int64
	ConversationType       int32
	CreatorInboxID         string
	AddedByInboxID         string
	DmID                   string
	MembershipState        int16
	Active                 bool
	Epoch                  int64
	State                  []byte
	Cursor                 int64
	WelcomeID              int64
	LastMessageNs          int64
	UpdatedNs              int64
	InstallationsCheckedNs int64
	PausedForVersion       string
}

func (clientGroupRow) TableName() string { return "groups" }

func groupRow(g *ClientGroup) clientGroupRow {
	return clientGroupRow{GroupID: g.GroupID, CreatedNs: g.CreatedNs, ConversationType: g.ConversationType,
		CreatorInboxID: g.CreatorInboxID, AddedByInboxID: g.AddedByInboxID, DmID: g.DmID, MembershipState: g.MembershipState,
		Active: g.Active, Epoch: clampID(g.Epoch), State: nonNil(g.State), Cursor: clampID(g.Cursor), WelcomeID: clampID(g.WelcomeID),
		LastMessageNs: g.LastMessageNs, UpdatedNs: g.UpdatedNs, InstallationsCheckedNs: g.InstallationsCheckedNs,
		PausedForVersion: g.PausedForVersion}
}

func (r *clientGroupRow) model() *ClientGroup {
	return &ClientGroup{GroupID: r.GroupID, CreatedNs: r.CreatedNs, ConversationType: r.ConversationType,
		CreatorInboxID: r.CreatorInboxID, AddedByInboxID: r.AddedByInboxID, DmID: r.DmID, MembershipState: r.MembershipState,
		Active: r.Active, Epoch: uint64(r.Epoch), State: r.State, Cursor: uint64(r.Cursor), WelcomeID: uint64(r.WelcomeID),
		LastMessageNs: r.LastMessageNs, UpdatedNs: r.UpdatedNs, InstallationsCheckedNs: r.InstallationsCheckedNs,
		PausedForVersion: r.PausedForVersion}
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
	return c.FindGroups(ctx, GroupQuery{})
}

// GroupProgress is what processing group messages, or publishing our own,
// changes for one group; SaveGroupProgress writes it in one transaction.
type GroupProgress struct {
	GroupID []byte
	State   []byte
	Epoch   uint64
	Active  bool
	// Cursor is the node id of the last message processed; it never moves
	// back (a smaller value keeps the stored one).
	Cursor    uint64
	UpdatedNs int64
	// Messages are stored; ids stored already are left as they are.
	Messages []ClientMessage
	// Confirmations mark our messages as seen back on the network.
	Confirmations []MessageConfirmation
	// Intents are inserted (ID 0, which is then set) or rewritten.
	Intents []*ClientIntent
	// DeleteIntents are the ids of intents to delete.
	DeleteIntents []int64
	// PendingRemoveDone are inboxes dropped from the group's
	// pending-removal list; PendingRemoves are then recorded (an inbox
	// listed already keeps its row).
	PendingRemoveDone []string
	PendingRemoves    []PendingRemove
	// Deletions are message deletions to record (an id recorded already
	// keeps its row).
	Deletions []MessageDeletion
	// MembershipState, when not 0, becomes the group's local membership
	// state; PendingLeaveRequest, when not nil, its
	// has-pending-leave-request flag.
	MembershipState     int16
	PendingLeaveRequest *bool
	// CommitLog are rows to append to the local commit log; MaybeForked,
	// when not empty, flags the group as maybe forked with these details.
	CommitLog   []ClientCommitLogEntry
	MaybeForked string
	// PausedForVersion, when not empty, pauses the group until this
	// client's version reaches it (a commit of the page raised the
	// group's minimum protocol version above ours); "" leaves the stored
	// value as it is (SetGroupPausedForVersion lifts a pause).
	PausedForVersion string
}

// SaveGroupProgress writes a group's new MLS state and cursor with the
// messages, confirmations and intent changes that go with it, in one
// transaction, so a crash neither loses a processed message nor applies a
// commit twice. The group's last-message time becomes the newest SentAtNs
// of the messages and confirmations, if later.
func (c *ClientDB) SaveGroupProgress(ctx context.Context, p GroupProgress) error {
	err := c.db(ctx).Transaction(func(tx *gorm.DB) error {
		upd := map[string]any{"state": nonNil(p.State), "epoch": clampID(p.Epoch), "active": p.Active, "updated_ns": p.UpdatedNs,
			"cursor": gorm.Expr("MAX(cursor, ?)", clampID(p.Cursor))}
		var last int64
		for _, m := range p.Messages {
			last = max(last, m.SentAtNs)
		}
		for _, m := range p.Confirmations {
			last = max(last, m.SentAtNs)
		}
		if last > 0 {
			upd["last_message_ns"] = gorm.Expr("MAX(last_message_ns, ?)", last)
		}
		if p.PausedForVersion != "" {
			upd["paused_for_version"] = p.PausedForVersion
		}
		res := tx.Model(&clientGroupRow{}).Where("group_id = ?", p.GroupID).Updates(upd)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("%w: group %x not stored", ErrNotFound, p.GroupID)
		}
		if err := insertMessages(tx, p.Messages); err != nil {
			return err
		}
		if err := confirmMessages(tx, p.Confirmations); err != nil {
			return err
		}
		if err := saveRelations(tx, &p); err != nil {
			return err
		}
		if err := saveForkProgress(tx, p); err != nil {
			return err
		}
		if err := putIntents(tx, p.Intents); err != nil {
			return err
		}
		if len(p.DeleteIntents) > 0 {
			return tx.Where("id IN ?", p.DeleteIntents).Delete(&clientIntentRow{}).Error
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: save group progress: %w", err)
	}
	return nil
}

// SetGroupMembershipState sets a group's local membership state.
func (c *ClientDB) SetGroupMembershipState(ctx context.Context, groupID []byte, state int16) error {
	return c.updateGroup(ctx, groupID, map[string]any{"membership_state": state})
}

// SetInstallationsChecked records when a group's installations were last
// checked.
func (c *ClientDB) SetInstallationsChecked(ctx context.Context, groupID []byte, ns int64) error {
	return c.updateGroup(ctx, groupID, map[string]any{"installations_checked_ns": ns})
}

func (c *ClientDB) updateGroup(ctx context.Context, groupID []byte, upd map[string]any) error {
	res := c.db(ctx).Model(&clientGroupRow{}).Where("group_id = ?", groupID).Updates(upd)
	if res.Error != nil {
		return fmt.Errorf("storage: update group: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("storage: update group: %w: group %x", ErrNotFound, groupID)
	}
	return nil
}

// DeleteGroup deletes a group with its messages and intents (a group that
// never reached the network).
func (c *ClientDB) DeleteGroup(ctx context.Context, groupID []byte) error {
	err := c.db(ctx).Transaction(func(tx *gorm.DB) error {
		for _, m := range []any{&clientMessageRow{}, &clientIntentRow{}, &pendingRemoveRow{}, &messageDeletionRow{}, &clientGroupRow{}} {
			if err := tx.Where("group_id = ?", groupID).Delete(m).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: delete group: %w", err)
	}
	return nil
}

// ConsentEntityConversation is the consent entity type whose records name
// groups (by lowercase hex group id); GroupQuery.ConsentStates reads them.
const ConsentEntityConversation int16 = 1

// GroupQuery selects groups. The zero value selects every group, newest
// first.
type GroupQuery struct {
	// ConversationTypes, MembershipStates and ConsentStates keep the groups
	// with one of the listed values; nil means any. A group without a
	// consent record has consent state 0.
	ConversationTypes []int32
	MembershipStates  []int16
	ConsentStates     []int16
	// The four bounds are exclusive; 0 means no bound. Last activity is
	// LastMessageNs.
	CreatedAfterNs, CreatedBeforeNs           int64
	LastActivityAfterNs, LastActivityBeforeNs int64
	// DmID keeps the DMs with this dm id; empty means any group.
	DmID string
	// ActiveOnly keeps the groups we are still a member of.
	ActiveOnly bool
	// LatestDMOnly keeps, of the DMs sharing a dm id, only the one with the
	// latest activity.
	LatestDMOnly bool
	// ByLastActivity orders by LastMessageNs instead of CreatedNs (both
	// newest first).
	ByLastActivity bool
	// Limit caps the result; 0 means no limit.
	Limit int
}

// FindGroups returns the groups q selects, without their State blobs.
func (c *ClientDB) FindGroups(ctx context.Context, q GroupQuery) ([]ClientGroup, error) {
	db := c.db(ctx).Model(&clientGroupRow{}).Omit("state")
	if q.ConversationTypes != nil {
		db = db.Where("conversation_type IN ?", q.ConversationTypes)
	}
	if q.MembershipStates != nil {
		db = db.Where("membership_state IN ?", q.MembershipStates)
	}
	if q.ConsentStates != nil {
		db = db.Where(`COALESCE((SELECT c.state FROM consent_records c WHERE c.entity_type = ?
			AND c.entity = lower(hex(groups.group_id))), 0) IN ?`, ConsentEntityConversation, q.ConsentStates)
	}
	for _, b := range []struct {
		cond string
		v    int64
	}{{"created_ns > ?", q.CreatedAfterNs}, {"created_ns < ?", q.CreatedBeforeNs},
		{"last_message_ns > ?", q.LastActivityAfterNs}, {"last_message_ns < ?", q.LastActivityBeforeNs}} {
		if b.v > 0 {
			db = db.Where(b.cond, b.v)
		}
	}
	if q.DmID != "" {
		db = db.Where("dm_id = ?", q.DmID)
	}
	if q.ActiveOnly {
		db = db.Where("active")
	}
	if q.LatestDMOnly {
		db = db.Where(`dm_id = '' OR group_id = (SELECT g2.group_id FROM groups g2 WHERE g2.dm_id = groups.dm_id
			ORDER BY g2.last_message_ns DESC, g2.created_ns DESC, g2.group_id DESC LIMIT 1)`)
	}
	if q.ByLastActivity {
		db = db.Order("last_message_ns DESC")
	}
	db = db.Order("created_ns DESC").Order("group_id DESC")
	if q.Limit > 0 {
		db = db.Limit(q.Limit)
	}
	var rows []clientGroupRow
	if err := db.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: find groups: %w", err)
	}
	out := make([]ClientGroup, len(rows))
	for i := range rows {
		out[i] = *rows[i].model()
	}
	return out, nil
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
