package storage

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

func openTestClientDB(t *testing.T) (*ClientDB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "client.db3")
	c, err := OpenClient(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("OpenClient: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, path
}

func TestClientDBIdentityAndReopen(t *testing.T) {
	ctx := context.Background()
	c, path := openTestClientDB(t)
	if _, err := c.Identity(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Identity on a new database: %v", err)
	}
	id := ClientIdentity{InboxID: "abc", Address: "0x01", Nonce: 1, InstallationKey: []byte{1, 2}, HMACRootKey: []byte{3}, CreatedNs: 5}
	if err := c.PutIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	id.Registered = true
	if err := c.PutIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c2, err := OpenClient(ctx, path, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer c2.Close()
	got, err := c2.Identity(ctx)
	if err != nil || got.InboxID != "abc" || !got.Registered || !bytes.Equal(got.InstallationKey, []byte{1, 2}) || got.Nonce != 1 {
		t.Fatalf("Identity = %+v, %v", got, err)
	}
	if _, err := OpenClient(ctx, "postgres://x", nil); err == nil {
		t.Fatal("OpenClient accepted a PostgreSQL DSN")
	}
}

func TestClientKeyPackages(t *testing.T) {
	ctx := context.Background()
	c, _ := openTestClientDB(t)
	id1, err := c.InsertKeyPackage(ctx, ClientKeyPackage{InitPublicKey: []byte("pub1"), KeyPackage: []byte("kp1"), InitPrivateKey: []byte("p1"), EncryptionPrivateKey: []byte("e1")})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MarkKeyPackageUploaded(ctx, id1, 10, 100); err != nil {
		t.Fatal(err)
	}
	id2, err := c.InsertKeyPackage(ctx, ClientKeyPackage{InitPublicKey: []byte("pub2"), KeyPackage: []byte("kp2"), InitPrivateKey: []byte("p2"), EncryptionPrivateKey: []byte("e2")})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MarkKeyPackageUploaded(ctx, id2, 20, 120); err != nil {
		t.Fatal(err)
	}
	old, err := c.KeyPackageByInitKey(ctx, []byte("pub1"))
	if err != nil || old.DeleteAtNs != 120 || old.UploadedNs != 10 {
		t.Fatalf("old key package = %+v, %v", old, err)
	}
	latest, err := c.LatestKeyPackage(ctx)
	if err != nil || latest.ID != id2 || latest.DeleteAtNs != 0 {
		t.Fatalf("latest = %+v, %v", latest, err)
	}
	if n, err := c.DeleteExpiredKeyPackages(ctx, 119); err != nil || n != 0 {
		t.Fatalf("early delete: %d %v", n, err)
	}
	if n, err := c.DeleteExpiredKeyPackages(ctx, 120); err != nil || n != 1 {
		t.Fatalf("delete: %d %v", n, err)
	}
	if _, err := c.KeyPackageByInitKey(ctx, []byte("pub1")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted key package still found: %v", err)
	}
}

func TestClientGroupProgress(t *testing.T) {
	ctx := context.Background()
	c, _ := openTestClientDB(t)
	gid := []byte("group-1")
	g := ClientGroup{GroupID: gid, State: []byte("s0"), Active: true, Cursor: 5, CreatedNs: 1}
	ok, err := c.InsertGroup(ctx, g, nil, "welcomes", 7)
	if err != nil || !ok {
		t.Fatalf("InsertGroup = %v %v", ok, err)
	}
	if ok, err := c.InsertGroup(ctx, g, nil, "welcomes", 9); err != nil || ok {
		t.Fatalf("duplicate InsertGroup = %v %v", ok, err)
	}
	if cur, _ := c.Cursor(ctx, "welcomes"); cur != 9 {
		t.Fatalf("welcome cursor = %d, want 9", cur)
	}
	if err := c.SetCursor(ctx, "welcomes", 3); err != nil {
		t.Fatal(err)
	}
	if cur, _ := c.Cursor(ctx, "welcomes"); cur != 9 {
		t.Fatalf("cursor moved back to %d", cur)
	}
	own := ClientMessage{ID: []byte("m1"), GroupID: gid, SentAtNs: 10, Kind: 1, DeliveryStatus: 1, Content: []byte("c"), InsertedNs: 1}
	in := &ClientIntent{GroupID: gid, Kind: 1, State: 1, MessageID: own.ID}
	if ok, err := c.EnqueueMessage(ctx, own, in); err != nil || !ok || in.ID == 0 {
		t.Fatalf("EnqueueMessage = %v %v, id %d", ok, err, in.ID)
	}
	if ok, err := c.EnqueueMessage(ctx, own, &ClientIntent{GroupID: gid, Kind: 1, State: 1, MessageID: own.ID}); err != nil || ok {
		t.Fatalf("EnqueueMessage again = %v %v", ok, err)
	}
	in.Payload, in.PublishedEpoch = []byte("p"), 1
	recv := ClientMessage{ID: []byte("m2"), GroupID: gid, SentAtNs: 20, Kind: 1, DeliveryStatus: 2, Content: []byte("d"), Cursor: 8, InsertedNs: 2}
	if err := c.SaveGroupProgress(ctx, GroupProgress{GroupID: gid, State: []byte("s1"), Epoch: 1, Active: true, Cursor: 8,
		Messages: []ClientMessage{recv}, Intents: []*ClientIntent{in}}); err != nil {
		t.Fatal(err)
	}
	pending, err := c.Intents(ctx, gid, 1)
	if err != nil || len(pending) != 1 || string(pending[0].Payload) != "p" || pending[0].PublishedEpoch != 1 {
		t.Fatalf("Intents = %+v, %v", pending, err)
	}
	// The echo of our message confirms it: status, cursor, time; the
	// intent goes.
	conf := MessageConfirmation{ID: []byte("m1"), DeliveryStatus: 2, SentAtNs: 30, Cursor: 9}
	if err := c.SaveGroupProgress(ctx, GroupProgress{GroupID: gid, State: []byte("s2"), Epoch: 1, Active: true, Cursor: 6,
		Confirmations: []MessageConfirmation{conf}, DeleteIntents: []int64{in.ID}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Group(ctx, gid)
	if err != nil || string(got.State) != "s2" || got.Cursor != 8 || got.LastMessageNs != 30 {
		t.Fatalf("group = %+v, %v (cursor must not move back)", got, err)
	}
	msgs, err := c.Messages(ctx, MessageQuery{GroupIDs: [][]byte{gid}})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("Messages = %v, %v", msgs, err)
	}
	if m := msgs[1]; string(m.ID) != "m1" || m.DeliveryStatus != 2 || m.Cursor != 9 || string(m.Content) != "c" {
		t.Fatalf("confirmed message = %+v", m)
	}
	if left, _ := c.Intents(ctx, nil); len(left) != 0 {
		t.Fatalf("intents left: %v", left)
	}
	if msgs, _ := c.Messages(ctx, MessageQuery{GroupIDs: [][]byte{gid}, SentAfterNs: 25, Descending: true, Limit: 1}); len(msgs) != 1 || string(msgs[0].ID) != "m1" {
		t.Fatalf("filtered = %v", msgs)
	}
	if at, _ := c.MessagesAtCursor(ctx, gid, 9); len(at) != 1 || string(at[0].ID) != "m1" {
		t.Fatalf("MessagesAtCursor = %v", at)
	}
	// A pause is stored with the page's progress; a later page without
	// one keeps it, and only SetGroupPausedForVersion lifts it.
	paged := ClientMessage{ID: []byte("m3"), GroupID: gid, SentAtNs: 40, Kind: 1, DeliveryStatus: 2, Content: []byte("e"), Cursor: 10, InsertedNs: 3}
	if err := c.SaveGroupProgress(ctx, GroupProgress{GroupID: gid, State: []byte("s3"), Epoch: 1, Active: true, Cursor: 10,
		Messages: []ClientMessage{paged}, PausedForVersion: "9.9.9"}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Group(ctx, gid); err != nil || got.PausedForVersion != "9.9.9" || got.Cursor != 10 {
		t.Fatalf("paused group = %+v, %v; want paused for 9.9.9 at cursor 10", got, err)
	}
	if err := c.SaveGroupProgress(ctx, GroupProgress{GroupID: gid, State: []byte("s3"), Epoch: 1, Active: true, Cursor: 10}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Group(ctx, gid); got.PausedForVersion != "9.9.9" {
		t.Fatalf("a page without a pause changed it to %q", got.PausedForVersion)
	}
	if err := c.SetGroupPausedForVersion(ctx, gid, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Group(ctx, gid); got.PausedForVersion != "" {
		t.Fatalf("pause not lifted: %q", got.PausedForVersion)
	}
	if err := c.SaveGroupProgress(ctx, GroupProgress{GroupID: []byte("nope")}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("progress of an unknown group: %v", err)
	}
	gs, err := c.Groups(ctx)
	if err != nil || len(gs) != 1 || gs[0].State != nil {
		t.Fatalf("Groups = %+v, %v", gs, err)
	}
}

func TestClientMessageQueries(t *testing.T) {
	ctx := context.Background()
	c, _ := openTestClientDB(t)
	g1, g2 := []byte("g1"), []byte("g2")
	for _, id := range [][]byte{g1, g2} {
		if _, err := c.InsertGroup(ctx, ClientGroup{GroupID: id, Active: true}, nil, "", 0); err != nil {
			t.Fatal(err)
		}
	}
	msg := func(id string, g []byte, sent int64, kind, status int16, typ, sender string) ClientMessage {
		return ClientMessage{ID: []byte(id), GroupID: g, SentAtNs: sent, Kind: kind, DeliveryStatus: status, TypeID: typ,
			SenderInboxID: sender, InsertedNs: sent}
	}
	all := []ClientMessage{
		msg("a", g1, 10, 1, 2, "text", "x"), msg("b", g1, 20, 2, 2, "group_updated", "y"),
		msg("c", g1, 30, 1, 1, "reaction", "x"), msg("d", g2, 40, 1, 2, "text", "y"), msg("e", g2, 50, 1, 3, "text", "x"),
	}
	if err := c.InsertMessages(ctx, all); err != nil {
		t.Fatal(err)
	}
	ids := func(q MessageQuery) string {
		t.Helper()
		ms, err := c.Messages(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var s string
		for _, m := range ms {
			s += string(m.ID)
		}
		return s
	}
	for _, tc := range []struct {
		name string
		q    MessageQuery
		want string
	}{
		{"all", MessageQuery{}, "abcde"},
		{"group", MessageQuery{GroupIDs: [][]byte{g1}}, "abc"},
		{"both groups", MessageQuery{GroupIDs: [][]byte{g1, g2}, Descending: true}, "edcba"},
		{"time range", MessageQuery{SentAfterNs: 10, SentBeforeNs: 50}, "bcd"},
		{"inserted range", MessageQuery{InsertedAfterNs: 20, ByInsertion: true}, "cde"},
		{"kind", MessageQuery{Kind: 2}, "b"},
		{"status", MessageQuery{DeliveryStatus: 1}, "c"},
		{"types", MessageQuery{TypeIDs: []string{"text", "reaction"}}, "acde"},
		{"no types", MessageQuery{TypeIDs: []string{}}, ""},
		{"exclude types", MessageQuery{ExcludeTypeIDs: []string{"text"}}, "bc"},
		{"exclude senders", MessageQuery{ExcludeSenders: []string{"x"}}, "bd"},
		{"limit", MessageQuery{Limit: 2, Descending: true}, "ed"},
	} {
		if got := ids(tc.q); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	last, err := c.LastMessages(ctx, [][]byte{g1, g2, []byte("g3")}, 1)
	if err != nil || len(last) != 2 || string(last["g1"].ID) != "c" || string(last["g2"].ID) != "e" {
		t.Fatalf("LastMessages = %v, %v", last, err)
	}
	if m, err := c.Message(ctx, []byte("d")); err != nil || string(m.GroupID) != "g2" {
		t.Fatalf("Message = %v, %v", m, err)
	}
	if _, err := c.Message(ctx, []byte("zz")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Message of unknown id: %v", err)
	}
}

func TestClientFindGroupsAndConsent(t *testing.T) {
	ctx := context.Background()
	c, _ := openTestClientDB(t)
	groups := []ClientGroup{
		{GroupID: []byte{1}, CreatedNs: 10, ConversationType: 1, MembershipState: 1, Active: true, LastMessageNs: 100},
		{GroupID: []byte{2}, CreatedNs: 20, ConversationType: 2, DmID: "dm:a:b", MembershipState: 3, Active: true, LastMessageNs: 50},
		{GroupID: []byte{3}, CreatedNs: 30, ConversationType: 2, DmID: "dm:a:b", MembershipState: 1, Active: true, LastMessageNs: 60},
		{GroupID: []byte{4}, CreatedNs: 40, ConversationType: 1, MembershipState: 1, Active: false, LastMessageNs: 40},
	}
	for _, g := range groups {
		if _, err := c.InsertGroup(ctx, g, nil, "", 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetConsent(ctx, ClientConsent{EntityType: ConsentEntityConversation, Entity: "01", State: 1, ConsentedAtNs: 5},
		ClientConsent{EntityType: ConsentEntityConversation, Entity: "04", State: 2}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetConsent(ctx, ClientConsent{EntityType: ConsentEntityConversation, Entity: "03", State: 1}); err != nil {
		t.Fatal(err)
	}
	ids := func(q GroupQuery) []byte {
		t.Helper()
		gs, err := c.FindGroups(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		for _, g := range gs {
			out = append(out, g.GroupID...)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    GroupQuery
		want []byte
	}{
		{"all", GroupQuery{}, []byte{4, 3, 2, 1}},
		{"type", GroupQuery{ConversationTypes: []int32{2}}, []byte{3, 2}},
		{"membership", GroupQuery{MembershipStates: []int16{3}}, []byte{2}},
		{"consent allowed", GroupQuery{ConsentStates: []int16{1}}, []byte{3, 1}},
		{"consent unknown+denied", GroupQuery{ConsentStates: []int16{0, 2}}, []byte{4, 2}},
		{"created", GroupQuery{CreatedAfterNs: 10, CreatedBeforeNs: 40}, []byte{3, 2}},
		{"activity", GroupQuery{LastActivityAfterNs: 50, ByLastActivity: true}, []byte{1, 3}},
		{"activity before", GroupQuery{LastActivityBeforeNs: 60}, []byte{4, 2}},
		{"dm id", GroupQuery{DmID: "dm:a:b"}, []byte{3, 2}},
		{"latest dm", GroupQuery{LatestDMOnly: true}, []byte{4, 3, 1}},
		{"active", GroupQuery{ActiveOnly: true, Limit: 2}, []byte{3, 2}},
	} {
		if got := ids(tc.q); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	cs, err := c.Consent(ctx, ConsentEntityConversation, []string{"01", "02"})
	if err != nil || len(cs) != 1 || cs["01"].State != 1 || cs["01"].ConsentedAtNs != 5 {
		t.Fatalf("Consent = %v, %v", cs, err)
	}
	if err := c.SetGroupMembershipState(ctx, []byte{2}, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.SetInstallationsChecked(ctx, []byte{2}, 77); err != nil {
		t.Fatal(err)
	}
	if g, _ := c.Group(ctx, []byte{2}); g.MembershipState != 1 || g.InstallationsCheckedNs != 77 {
		t.Fatalf("group 2 = %+v", g)
	}
	if err := c.SetInstallationsChecked(ctx, []byte{9}, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of an unknown group: %v", err)
	}
	if err := c.DeleteGroup(ctx, []byte{4}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Group(ctx, []byte{4}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted group: %v", err)
	}
}

func TestClientIntentStates(t *testing.T) {
	ctx := context.Background()
	c, _ := openTestClientDB(t)
	gid := []byte("g")
	if _, err := c.InsertGroup(ctx, ClientGroup{GroupID: gid}, nil, "", 0); err != nil {
		t.Fatal(err)
	}
	m := ClientMessage{ID: []byte("m"), GroupID: gid, Kind: 1, DeliveryStatus: 1}
	in := &ClientIntent{GroupID: gid, Kind: 1, State: 1, MessageID: m.ID}
	if _, err := c.EnqueueMessage(ctx, m, in); err != nil {
		t.Fatal(err)
	}
	commit := &ClientIntent{GroupID: gid, Kind: 2, State: 2, Payload: []byte("c"), PostCommit: []byte("w")}
	if err := c.SaveGroupProgress(ctx, GroupProgress{GroupID: gid, Intents: []*ClientIntent{commit}}); err != nil {
		t.Fatal(err)
	}
	in.State, in.Attempts, in.LastError = 4, 3, "refused"
	if err := c.UpdateIntent(ctx, in, 3); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Message(ctx, m.ID); got.DeliveryStatus != 3 {
		t.Fatalf("message status %d, want failed", got.DeliveryStatus)
	}
	if got, _ := c.Intents(ctx, gid, 4); len(got) != 1 || got[0].Attempts != 3 || got[0].LastError != "refused" {
		t.Fatalf("failed intents = %+v", got)
	}
	if gs, err := c.IntentGroups(ctx, 2); err != nil || len(gs) != 1 || string(gs[0]) != "g" {
		t.Fatalf("IntentGroups = %v %v", gs, err)
	}
	if got, err := c.Intent(ctx, commit.ID); err != nil || string(got.PostCommit) != "w" || got.Kind != 2 {
		t.Fatalf("Intent = %+v, %v", got, err)
	}
	if err := c.DeleteIntent(ctx, commit.ID); err != nil {
		t.Fatal(err)
	}
	if gs, _ := c.IntentGroups(ctx, 2); len(gs) != 0 {
		t.Fatalf("IntentGroups after delete = %v", gs)
	}
	if _, err := c.Intent(ctx, commit.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted intent: %v", err)
	}
	if err := c.UpdateIntent(ctx, &ClientIntent{ID: 999}, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of an unknown intent: %v", err)
	}
}

// TestClientMigrate1To2: unpublished messages of a version 1 database,
// whose MLS payload lived in the messages table, become send intents.
func TestClientMigrate1To2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db3")
	gdb, err := gorm.Open(sqlite.Open(sqliteDSN(path, time.Second)), &gorm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := gdb.Table(clientVersionsTable).AutoMigrate(&schemaVersion{}); err != nil {
		t.Fatal(err)
	}
	if err := clientMigrate1(gdb); err != nil {
		t.Fatal(err)
	}
	if err := gdb.Table(clientVersionsTable).Create(&schemaVersion{Version: 1, Name: "v1"}).Error; err != nil {
		t.Fatal(err)
	}
	rows := []cm1Message{
		{ID: []byte("sent"), GroupID: []byte("g"), Kind: 1, DeliveryStatus: 2, Content: []byte{}, Payload: []byte("p1"), InsertedNs: 1},
		{ID: []byte("unsent"), GroupID: []byte("g"), Kind: 1, DeliveryStatus: 1, Content: []byte{}, Payload: []byte("p2"), InsertedNs: 2},
		{ID: []byte("recv"), GroupID: []byte("g"), Kind: 1, DeliveryStatus: 2, Content: []byte{}, InsertedNs: 3},
	}
	if err := gdb.Create(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if err := gdb.Create(&cm1Group{GroupID: []byte("g"), State: []byte{}}).Error; err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := gdb.DB()
	_ = sqlDB.Close()

	c, err := OpenClient(ctx, path, nil)
	if err != nil {
		t.Fatalf("open v1 database: %v", err)
	}
	defer c.Close()
	ins, err := c.Intents(ctx, nil)
	if err != nil || len(ins) != 2 {
		t.Fatalf("intents = %+v, %v", ins, err)
	}
	if string(ins[0].MessageID) != "sent" || ins[0].State != 2 || string(ins[0].Payload) != "p1" ||
		string(ins[1].MessageID) != "unsent" || ins[1].State != 1 || string(ins[1].Payload) != "p2" {
		t.Fatalf("intents = %+v", ins)
	}
	if m, _ := c.Message(ctx, []byte("sent")); m.DeliveryStatus != 1 {
		t.Fatalf("message awaiting its echo has status %d, want unpublished", m.DeliveryStatus)
	}
	if g, err := c.Group(ctx, []byte("g")); err != nil || g.InstallationsCheckedNs != 0 {
		t.Fatalf("group = %+v, %v", g, err)
	}
}
