package storage

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"mlsbridge/storage/storagetest"
)

// openTestDB opens a fresh database for a test: a SQLite file in
// t.TempDir(), or a new PostgreSQL database when MLSBRIDGE_TEST_POSTGRES is
// set (see storagetest).
func openTestDB(t *testing.T) (*DB, string) {
	t.Helper()
	setting := storagetest.Database(t)
	d, err := Open(context.Background(), setting, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d, setting
}

func topic(t *testing.T, name string) []byte {
	return []byte(fmt.Sprintf("%s/%s/%p", t.Name(), name, t))
}

func TestIsPostgresDSN(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"postgres://u@localhost/db", true},
		{"postgresql://u@localhost/db", true},
		{"host=/run/postgresql dbname=x", true},
		{"/var/lib/bridge/node.db", false},
		{"node.db", false},
		{"file:node.db", false},
	} {
		if got := IsPostgresDSN(c.in); got != c.want {
			t.Errorf("IsPostgresDSN(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestGroupMessagesPagingAndDedupe(t *testing.T) {
	ctx := context.Background()
	d, _ := openTestDB(t)
	g1, g2 := topic(t, "g1"), topic(t, "g2")
	var batch []GroupMessage
	for i := range 250 {
		g := g1
		if i%5 == 4 {
			g = g2
		}
		batch = append(batch, GroupMessage{GroupID: g, Data: []byte(fmt.Sprintf("m%d", i)), IsCommit: i%7 == 0})
	}
	stored, err := d.InsertGroupMessages(ctx, 42, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 250 {
		t.Fatalf("stored %d, want 250", len(stored))
	}
	for i := 1; i < len(stored); i++ {
		if stored[i].ID <= stored[i-1].ID {
			t.Fatalf("ids not increasing: %d then %d", stored[i-1].ID, stored[i].ID)
		}
	}
	// A duplicate is skipped silently, a new message still gets an id.
	again, err := d.InsertGroupMessages(ctx, 43, []GroupMessage{batch[0], {GroupID: g1, Data: []byte("new")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || string(again[0].Data) != "new" {
		t.Fatalf("insert with duplicate returned %+v", again)
	}
	// g1 has 200 + 1 messages: ascending pages of 100, 100, 1.
	var got []uint64
	cursor := uint64(0)
	for {
		page, err := d.QueryGroupMessages(ctx, g1, Page{Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			got = append(got, m.ID)
			if !bytes.Equal(m.GroupID, g1) || m.CreatedNs == 0 {
				t.Fatalf("bad row %+v", m)
			}
		}
		if len(page) < MaxPageSize {
			break
		}
		cursor = page[len(page)-1].ID
	}
	if len(got) != 201 {
		t.Fatalf("ascending paging returned %d messages, want 201", len(got))
	}
	// Descending from the end, then from a cursor (exclusive).
	desc, err := d.QueryGroupMessages(ctx, g1, Page{Descending: true, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc) != 3 || desc[0].ID != got[200] || desc[2].ID != got[198] {
		t.Fatalf("descending page = %v, want the last three of %v", ids(desc), got[198:])
	}
	desc, err = d.QueryGroupMessages(ctx, g1, Page{Descending: true, Limit: 2, Cursor: got[198]})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc) != 2 || desc[0].ID != got[197] || desc[1].ID != got[196] {
		t.Fatalf("descending from cursor = %v", ids(desc))
	}
	newest, err := d.NewestGroupMessages(ctx, [][]byte{g2, topic(t, "none"), g1}, false)
	if err != nil {
		t.Fatal(err)
	}
	if newest[0] == nil || newest[1] != nil || newest[2] == nil || newest[2].ID != got[200] || newest[2].Data != nil {
		t.Fatalf("newest = %+v", newest)
	}
}

func ids(ms []GroupMessage) []uint64 {
	out := make([]uint64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func TestRestartKeepsEverythingAndIdsMonotonic(t *testing.T) {
	ctx := context.Background()
	path := storagetest.Database(t)
	d, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := []byte("group")
	first, err := d.InsertGroupMessages(ctx, 1, []GroupMessage{{GroupID: g, Data: []byte("a")}, {GroupID: g, Data: []byte("b")}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := d.InsertWelcomeMessages(ctx, 1, []WelcomeMessage{{Kind: WelcomeV1, InstallationKey: []byte("inst"), Data: []byte("w"), WrapperAlgorithm: 1}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := d.AppendIdentityUpdate(ctx, "inbox", []byte("u1"), 5, AddressChange{Added: []string{"0xabc"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.PutKeyPackage(ctx, []byte("inst"), []byte("kp1"), 1); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d, err = Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer d.Close()
	msgs, err := d.QueryGroupMessages(ctx, g, Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].ID != first[0].ID || msgs[1].ID != first[1].ID {
		t.Fatalf("after reopen: %v", ids(msgs))
	}
	next, err := d.InsertGroupMessages(ctx, 2, []GroupMessage{{GroupID: g, Data: []byte("c")}})
	if err != nil {
		t.Fatal(err)
	}
	if next[0].ID <= first[1].ID {
		t.Fatalf("id after reopen %d, not above %d", next[0].ID, first[1].ID)
	}
	ws, err := d.QueryWelcomeMessages(ctx, []byte("inst"), Page{})
	if err != nil || len(ws) != 1 || ws[0].ID != w[0].ID || ws[0].WrapperAlgorithm != 1 {
		t.Fatalf("welcomes after reopen: %+v, %v", ws, err)
	}
	ups, err := d.IdentityUpdates(ctx, "inbox", 0)
	if err != nil || len(ups) != 1 || ups[0].SequenceID != u.SequenceID || string(ups[0].Update) != "u1" {
		t.Fatalf("identity log after reopen: %+v, %v", ups, err)
	}
	u2, err := d.AppendIdentityUpdate(ctx, "inbox", []byte("u2"), 6, AddressChange{})
	if err != nil || u2.SequenceID <= u.SequenceID {
		t.Fatalf("sequence id after reopen %d (was %d): %v", u2.SequenceID, u.SequenceID, err)
	}
	kps, err := d.KeyPackages(ctx, [][]byte{[]byte("inst")})
	if err != nil || string(kps[0]) != "kp1" {
		t.Fatalf("key package after reopen: %q, %v", kps, err)
	}
	var version int
	if err := d.gdb.Model(&schemaVersion{}).Select("MAX(version)").Scan(&version).Error; err != nil || version != SchemaVersion() {
		t.Fatalf("schema version %d, %v", version, err)
	}
}

func TestKeyPackageRotation(t *testing.T) {
	ctx := context.Background()
	d, _ := openTestDB(t)
	inst, other := topic(t, "inst"), topic(t, "other")
	for _, kp := range []string{"kp1", "kp2", "kp2"} {
		if err := d.PutKeyPackage(ctx, inst, []byte(kp), 1); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.KeyPackages(ctx, [][]byte{other, inst, inst})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != nil || string(got[1]) != "kp2" || string(got[2]) != "kp2" {
		t.Fatalf("KeyPackages = %q", got)
	}
	n, err := d.KeyPackageHistoryLen(ctx, inst)
	if err != nil || n != 2 {
		t.Fatalf("history has %d entries (%v), want 2", n, err)
	}
}

func TestAddressIndex(t *testing.T) {
	ctx := context.Background()
	d, _ := openTestDB(t)
	addr := string(topic(t, "addr"))
	inboxA, inboxB := string(topic(t, "a")), string(topic(t, "b"))
	if _, err := d.AppendIdentityUpdate(ctx, inboxA, []byte("1"), 1, AddressChange{Added: []string{addr}}); err != nil {
		t.Fatal(err)
	}
	got, err := d.InboxIDsByAddress(ctx, []string{addr, "unknown"})
	if err != nil || got[0] != inboxA || got[1] != "" {
		t.Fatalf("lookup = %q, %v", got, err)
	}
	if _, err := d.AppendIdentityUpdate(ctx, inboxA, []byte("2"), 1, AddressChange{Removed: []string{addr}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.InboxIDsByAddress(ctx, []string{addr}); got[0] != "" {
		t.Fatalf("revoked address still maps to %q", got[0])
	}
	if _, err := d.AppendIdentityUpdate(ctx, inboxB, []byte("3"), 1, AddressChange{Added: []string{addr}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.InboxIDsByAddress(ctx, []string{addr}); got[0] != inboxB {
		t.Fatalf("address maps to %q, want %q", got[0], inboxB)
	}
}

func TestCommitLog(t *testing.T) {
	ctx := context.Background()
	d, _ := openTestDB(t)
	g := topic(t, "g")
	var in []CommitLogEntry
	for i := range 5 {
		in = append(in, CommitLogEntry{GroupID: g, Entry: []byte{byte(i)}, Signature: []byte("sig")})
	}
	stored, err := d.InsertCommitLogEntries(ctx, 1, in)
	if err != nil {
		t.Fatal(err)
	}
	page, err := d.QueryCommitLog(ctx, g, Page{Limit: 2, Cursor: stored[1].ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].ID != stored[2].ID || page[1].ID != stored[3].ID {
		t.Fatalf("page = %+v", page)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := storagetest.Database(t)
	d, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.gdb.Create(&schemaVersion{Version: SchemaVersion() + 1, Name: "future"}).Error; err != nil {
		t.Fatal(err)
	}
	_ = d.Close()
	if _, err := Open(ctx, path, nil); err == nil {
		t.Fatal("Open accepted a database with a newer schema")
	}
}
