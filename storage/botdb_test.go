package storage

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// TestBotDB stores and reads back the bot's conversations, plugin settings
// and plugin data, across a reopen, and shares a file with a client
// database.
func TestBotDB(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "installation.db3")
	client, err := OpenClient(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	b, err := OpenBot(ctx, path, nil)
	if err != nil {
		t.Fatalf("OpenBot beside a client database: %v", err)
	}
	if _, err := b.BotConversation(ctx, "aa"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing conversation: %v", err)
	}
	conv := BotConversation{GroupID: "aa", State: 3, UpdatedNs: 1}
	if err := b.SaveBotConversation(ctx, conv); err != nil {
		t.Fatal(err)
	}
	conv.State, conv.DecidedBy, conv.UpdatedNs = 1, "op", 2
	if err := b.SaveBotConversation(ctx, conv); err != nil {
		t.Fatal(err)
	}
	for _, s := range []BotPluginSetting{
		{GroupID: "aa", Plugin: "x.b", Enabled: true, Config: []byte(`{"k":1}`)},
		{GroupID: "aa", Plugin: "x.a"},
		{GroupID: "bb", Plugin: "x.a", Enabled: true},
		{GroupID: "aa", Plugin: "x.b", Enabled: false, Config: []byte(`{"k":2}`)},
	} {
		if err := b.SaveBotPluginSetting(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.SetBotPluginData(ctx, "aa", "x.a", "k", []byte("v1"), 1); err != nil {
		t.Fatal(err)
	}
	if err := b.SetBotPluginData(ctx, "aa", "x.a", "k", []byte("v2"), 2); err != nil {
		t.Fatal(err)
	}
	if err := b.SetBotPluginData(ctx, "aa", "x.a", "empty", nil, 2); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b, err = OpenBot(ctx, path, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer b.Close()
	got, err := b.BotConversation(ctx, "aa")
	if err != nil || *got != conv {
		t.Fatalf("conversation %+v, %v; want %+v", got, err, conv)
	}
	settings, err := b.BotPluginSettings(ctx, "aa")
	if err != nil || len(settings) != 2 || settings[0].Plugin != "x.a" || settings[1].Enabled || string(settings[1].Config) != `{"k":2}` {
		t.Fatalf("settings %+v, %v", settings, err)
	}
	v, ok, err := b.BotPluginData(ctx, "aa", "x.a", "k")
	if err != nil || !ok || !bytes.Equal(v, []byte("v2")) {
		t.Fatalf("data %q %v %v", v, ok, err)
	}
	if v, ok, err := b.BotPluginData(ctx, "aa", "x.a", "empty"); err != nil || !ok || v == nil || len(v) != 0 {
		t.Fatalf("empty value %q %v %v", v, ok, err)
	}
	for _, key := range []struct{ g, p, k string }{{"bb", "x.a", "k"}, {"aa", "x.b", "k"}, {"aa", "x.a", "other"}} {
		if _, ok, err := b.BotPluginData(ctx, key.g, key.p, key.k); ok || err != nil {
			t.Errorf("data of %v visible: %v %v", key, ok, err)
		}
	}
	if err := b.DeleteBotPluginData(ctx, "aa", "x.a", "k"); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteBotPluginData(ctx, "aa", "x.a", "k"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if _, ok, _ := b.BotPluginData(ctx, "aa", "x.a", "k"); ok {
		t.Fatal("deleted key still there")
	}
	if BotSchemaVersion() != 2 {
		t.Errorf("BotSchemaVersion = %d", BotSchemaVersion())
	}
}

// TestBotHandled stores and replaces handled positions, and migrates a
// version 1 bot database (which has none) in place.
func TestBotHandled(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bot.db3")
	b, err := OpenBot(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Back to version 1: drop what migration 2 made, as an old binary left it.
	if err := b.d.gdb.Exec("DROP TABLE bot_handled").Error; err != nil {
		t.Fatal(err)
	}
	if err := b.d.gdb.Exec("DELETE FROM " + botVersionsTable + " WHERE version = 2").Error; err != nil {
		t.Fatal(err)
	}
	if err := b.SaveBotConversation(ctx, BotConversation{GroupID: "aa", State: 1, UpdatedNs: 1}); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = OpenBot(ctx, path, nil)
	if err != nil {
		t.Fatalf("open a version 1 database: %v", err)
	}
	defer b.Close()
	if c, err := b.BotConversation(ctx, "aa"); err != nil || c.State != 1 {
		t.Fatalf("conversation after the migration: %+v, %v", c, err)
	}
	if _, err := b.BotHandled(ctx, "aa"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing position: %v", err)
	}
	for _, h := range []BotHandled{
		{GroupID: "aa", InsertedNs: 5, MessageIDs: []string{"01"}, UpdatedNs: 1},
		{GroupID: "bb", InsertedNs: 7, UpdatedNs: 1},
		{GroupID: "aa", InsertedNs: 9, MessageIDs: []string{"02", "03"}, UpdatedNs: 2},
	} {
		if err := b.SaveBotHandled(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.BotHandled(ctx, "aa")
	if err != nil || got.InsertedNs != 9 || len(got.MessageIDs) != 2 || got.MessageIDs[1] != "03" || got.UpdatedNs != 2 {
		t.Fatalf("position of aa: %+v, %v", got, err)
	}
	if got, err := b.BotHandled(ctx, "bb"); err != nil || got.InsertedNs != 7 || got.MessageIDs != nil {
		t.Fatalf("position of bb: %+v, %v", got, err)
	}
	if err := b.SaveBotHandled(ctx, BotHandled{GroupID: "cc", MessageIDs: []string{"a,b"}}); err == nil {
		t.Fatal("a message id with a comma was stored")
	}
}
