package storage

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
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
	own := ClientMessage{ID: []byte("m1"), GroupID: gid, SentAtNs: 10, Kind: 1, DeliveryStatus: 1, Content: []byte("c"), Payload: []byte("p"), InsertedNs: 1}
	recv := ClientMessage{ID: []byte("m2"), GroupID: gid, SentAtNs: 20, Kind: 1, DeliveryStatus: 2, Content: []byte("d"), Cursor: 8, InsertedNs: 2}
	if err := c.SaveGroupProgress(ctx, GroupProgress{GroupID: gid, State: []byte("s1"), Epoch: 1, Active: true, Cursor: 8}, []ClientMessage{own, recv}); err != nil {
		t.Fatal(err)
	}
	pending, err := c.MessagesWithPayload(ctx, gid)
	if err != nil || len(pending) != 1 || string(pending[0].ID) != "m1" {
		t.Fatalf("MessagesWithPayload = %v, %v", pending, err)
	}
	// The echo of our message confirms it: status, cursor, time; payload cleared.
	echo := ClientMessage{ID: []byte("m1"), GroupID: gid, DeliveryStatus: 2, SentAtNs: 30, Cursor: 9, Content: []byte{}}
	if err := c.SaveGroupProgress(ctx, GroupProgress{GroupID: gid, State: []byte("s2"), Epoch: 1, Active: true, Cursor: 6}, []ClientMessage{echo}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Group(ctx, gid)
	if err != nil || string(got.State) != "s2" || got.Cursor != 8 || got.LastMessageNs != 30 {
		t.Fatalf("group = %+v, %v (cursor must not move back)", got, err)
	}
	msgs, err := c.Messages(ctx, gid, MessageQuery{})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("Messages = %v, %v", msgs, err)
	}
	if m := msgs[1]; string(m.ID) != "m1" || m.DeliveryStatus != 2 || m.Cursor != 9 || m.Payload != nil || string(m.Content) != "c" {
		t.Fatalf("confirmed message = %+v", m)
	}
	if pending, _ := c.MessagesWithPayload(ctx, nil); len(pending) != 0 {
		t.Fatalf("still pending: %v", pending)
	}
	if msgs, _ := c.Messages(ctx, gid, MessageQuery{SentAfterNs: 25, Descending: true, Limit: 1}); len(msgs) != 1 || string(msgs[0].ID) != "m1" {
		t.Fatalf("filtered = %v", msgs)
	}
	if err := c.SaveGroupProgress(ctx, GroupProgress{GroupID: []byte("nope")}, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("progress of an unknown group: %v", err)
	}
	gs, err := c.Groups(ctx)
	if err != nil || len(gs) != 1 || gs[0].State != nil {
		t.Fatalf("Groups = %+v, %v", gs, err)
	}
}
