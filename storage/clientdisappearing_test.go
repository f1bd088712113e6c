package storage

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

func messageIDs(ms []ClientMessage) []string {
	out := make([]string, len(ms))
	for i := range ms {
		out[i] = string(ms[i].ID)
	}
	return out
}

// TestClientMessageExpiry: stamps are stored (0 as "never"), confirmations
// replace them, queries hide what expired, and the sweep deletes only
// published application messages whose stamp has passed.
func TestClientMessageExpiry(t *testing.T) {
	ctx := context.Background()
	c, _ := openTestClientDB(t)
	gid := []byte("g")
	if _, err := c.InsertGroup(ctx, ClientGroup{GroupID: gid, State: []byte("s"), Active: true}, nil, "", 0); err != nil {
		t.Fatal(err)
	}
	msg := func(id string, sent int64, kind, status int16, expire int64) ClientMessage {
		return ClientMessage{ID: []byte(id), GroupID: gid, SentAtNs: sent, Kind: kind, DeliveryStatus: status, Content: []byte(id),
			InsertedNs: sent, ExpireAtNs: expire}
	}
	if err := c.InsertMessages(ctx, []ClientMessage{
		msg("early", 1, 1, 2, 100),
		msg("late", 2, 1, 2, 200),
		msg("never", 3, 1, 2, 0),
		msg("record", 4, 2, 2, 0),
	}); err != nil {
		t.Fatal(err)
	}
	own := msg("own", 5, 1, 1, 0)
	if _, err := c.EnqueueMessage(ctx, own, &ClientIntent{GroupID: gid, Kind: 1, State: 1, MessageID: own.ID}); err != nil {
		t.Fatal(err)
	}
	if m, err := c.Message(ctx, []byte("late")); err != nil || m.ExpireAtNs != 200 {
		t.Fatalf("late = %+v, %v", m, err)
	}
	if m, err := c.Message(ctx, []byte("never")); err != nil || m.ExpireAtNs != 0 {
		t.Fatalf("never = %+v, %v", m, err)
	}

	// Our message's echo stamps it; a later confirmation with 0 clears the
	// stamp (as libxmtp's set_delivery_status_to_published writes it).
	conf := MessageConfirmation{ID: own.ID, DeliveryStatus: 2, Cursor: 7, SentAtNs: 6, ExpireAtNs: 150}
	if err := c.SaveGroupProgress(ctx, GroupProgress{GroupID: gid, State: []byte("s"), Active: true, Cursor: 7,
		Confirmations: []MessageConfirmation{conf}}); err != nil {
		t.Fatal(err)
	}
	if m, _ := c.Message(ctx, own.ID); m.ExpireAtNs != 150 || m.DeliveryStatus != 2 {
		t.Fatalf("confirmed own = %+v", m)
	}

	query := func(at int64) []string {
		t.Helper()
		ms, err := c.Messages(ctx, MessageQuery{GroupIDs: [][]byte{gid}, UnexpiredAtNs: at})
		if err != nil {
			t.Fatal(err)
		}
		return messageIDs(ms)
	}
	if got := query(0); !slices.Equal(got, []string{"early", "late", "never", "record", "own"}) {
		t.Fatalf("unfiltered query = %v", got)
	}
	if got := query(99); !slices.Equal(got, []string{"early", "late", "never", "record", "own"}) {
		t.Fatalf("query at 99 = %v", got)
	}
	if got := query(150); !slices.Equal(got, []string{"late", "never", "record"}) {
		t.Fatalf("query at 150 = %v (a stamp equal to now is expired)", got)
	}

	if n, err := c.DeleteExpiredMessages(ctx, 99); err != nil || n != 0 {
		t.Fatalf("sweep at 99 = %d, %v", n, err)
	}
	if n, err := c.DeleteExpiredMessages(ctx, 150); err != nil || n != 2 {
		t.Fatalf("sweep at 150 = %d, %v; want early and own", n, err)
	}
	if got := query(0); !slices.Equal(got, []string{"late", "never", "record"}) {
		t.Fatalf("after the sweep = %v", got)
	}
	if n, err := c.DeleteExpiredMessages(ctx, 1<<62); err != nil || n != 1 {
		t.Fatalf("sweep at the end of time = %d, %v; want late only", n, err)
	}
	if got := query(0); !slices.Equal(got, []string{"never", "record"}) {
		t.Fatalf("after the last sweep = %v", got)
	}

	// Unpublished or failed messages are never swept, whatever their stamp.
	if err := c.InsertMessages(ctx, []ClientMessage{msg("unpublished", 8, 1, 1, 10), msg("failed", 9, 1, 3, 10)}); err != nil {
		t.Fatal(err)
	}
	if n, err := c.DeleteExpiredMessages(ctx, 1<<62); err != nil || n != 0 {
		t.Fatalf("sweep of unpublished and failed = %d, %v", n, err)
	}
}

// TestClientMigrate4To5: messages stored before version 5 get no stamp:
// they never expire.
func TestClientMigrate4To5(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v4.db3")
	gdb, err := gorm.Open(sqlite.Open(sqliteDSN(path, time.Second)), &gorm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := gdb.Table(clientVersionsTable).AutoMigrate(&schemaVersion{}); err != nil {
		t.Fatal(err)
	}
	for _, m := range clientMigrations {
		if m.version > 4 {
			break
		}
		if err := m.apply(gdb); err != nil {
			t.Fatalf("migration %d: %v", m.version, err)
		}
		if err := gdb.Table(clientVersionsTable).Create(&schemaVersion{Version: m.version, Name: m.name}).Error; err != nil {
			t.Fatal(err)
		}
	}
	old := cm1Message{ID: []byte("old"), GroupID: []byte("g"), SentAtNs: 1, Kind: 1, DeliveryStatus: 2, Content: []byte{}, InsertedNs: 1}
	if err := gdb.Create(&old).Error; err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := gdb.DB()
	_ = sqlDB.Close()

	c, err := OpenClient(ctx, path, nil)
	if err != nil {
		t.Fatalf("open v4 database: %v", err)
	}
	defer c.Close()
	if m, err := c.Message(ctx, []byte("old")); err != nil || m.ExpireAtNs != 0 {
		t.Fatalf("old message = %+v, %v", m, err)
	}
	if n, err := c.DeleteExpiredMessages(ctx, 1<<62); err != nil || n != 0 {
		t.Fatalf("sweep = %d, %v", n, err)
	}
	var v int
	if err := c.db(ctx).Table(clientVersionsTable).Select("MAX(version)").Scan(&v).Error; err != nil || v < 5 {
		t.Fatalf("schema version %d, %v", v, err)
	}
}
