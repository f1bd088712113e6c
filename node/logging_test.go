package node

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"sync"
	"testing"
	"time"

	"mlsbridge/mls"
	"mlsbridge/storage/storagetest"
	"mlsbridge/wire/identityapi"
	"mlsbridge/wire/mlsapi"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// TestLogsHoldNoPayloadsOrKeys runs calls carrying payloads and keys with
// Debug logging on and checks that none of their bytes reach the log.
func TestLogsHoldNoPayloadsOrKeys(t *testing.T) {
	ctx := ctxT(t)
	var logs lockedBuffer
	n, err := Start(context.Background(), Options{Listen: "127.0.0.1:0", Database: storagetest.Database(t),
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := dialNode(n.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	mlsClient, idClient := mlsapi.NewMlsApiClient(conn), identityapi.NewIdentityApiClient(conn)

	secret := "PAYLOAD-MARKER-7f3a"
	group := []byte("GROUP-MARKER-19c2")
	data := privateMessage(t, group, mls.ContentTypeApplication, secret)
	if _, err := mlsClient.SendGroupMessages(ctx, &mlsapi.SendGroupMessagesRequest{Messages: []*mlsapi.GroupMessageInput{groupInput(data)}}); err != nil {
		t.Fatal(err)
	}
	_, _ = mlsClient.SendGroupMessages(ctx, &mlsapi.SendGroupMessagesRequest{Messages: []*mlsapi.GroupMessageInput{groupInput([]byte(secret))}})
	kp, inst := newKeyPackage(t, keyPackageSpec{inbox: testInbox(t)})
	if _, err := mlsClient.UploadKeyPackage(ctx, &mlsapi.UploadKeyPackageRequest{KeyPackage: &mlsapi.KeyPackageUpload{KeyPackageTlsSerialized: kp}}); err != nil {
		t.Fatal(err)
	}
	owner := newInboxOwner(t)
	if _, err := idClient.PublishIdentityUpdate(ctx, &identityapi.PublishIdentityUpdateRequest{IdentityUpdate: owner.create}); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	out := logs.Bytes()
	if !bytes.Contains(out, []byte("SendGroupMessages")) {
		t.Fatal("debug call log missing: the test would prove nothing")
	}
	instID := owner.inst.ID()
	for name, b := range map[string][]byte{"payload": []byte(secret), "group id": group, "installation key": inst, "identity installation key": instID[:]} {
		for _, form := range [][]byte{b, []byte(hex.EncodeToString(b)), []byte(base64.StdEncoding.EncodeToString(b))} {
			if bytes.Contains(out, form) {
				t.Errorf("the log contains the %s", name)
			}
		}
	}
}
