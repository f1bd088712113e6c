package node

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"mlsbridge/identity"
	"mlsbridge/mls"
	"mlsbridge/storage"
	"mlsbridge/storage/storagetest"
	"mlsbridge/wire/identityapi"
	"mlsbridge/wire/mlsapi"
)

// testNode is a real node on 127.0.0.1:0 over a SQLite file, with clients.
type testNode struct {
	t    *testing.T
	path string
	n    *Node
	mls  mlsapi.MlsApiClient
	id   identityapi.IdentityApiClient
	conn *grpc.ClientConn
}

// startTestNode starts a node on the SQLite file at path ("" means a new
// file in t.TempDir()). It is stopped at cleanup unless stopped before.
func startTestNode(t *testing.T, path string, cfg Config) *testNode {
	t.Helper()
	return startTestNodeLevel(t, path, cfg, slog.LevelDebug)
}

// startTestNodeLevel is startTestNode logging at level.
func startTestNodeLevel(t *testing.T, path string, cfg Config, level slog.Level) *testNode {
	t.Helper()
	if path == "" {
		path = storagetest.Database(t)
	}
	n, err := Start(context.Background(), Options{Listen: "127.0.0.1:0", Database: path, Logger: testLogger(t, level), Server: cfg})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	conn, err := dialNode(n.Addr().String())
	if err != nil {
		t.Fatalf("dial node: %v", err)
	}
	tn := &testNode{t: t, path: path, n: n, conn: conn, mls: mlsapi.NewMlsApiClient(conn), id: identityapi.NewIdentityApiClient(conn)}
	t.Cleanup(tn.stop)
	return tn
}

// dialNode connects a test client to addr, allowing oversized messages so
// that the node's own limits are what refuses them.
func dialNode(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
}

// benchDatabase is storagetest.Database for benchmarks.
func benchDatabase(b *testing.B) string { return storagetest.Database(b) }

func (tn *testNode) stop() {
	_ = tn.conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tn.n.Stop(ctx); err != nil {
		tn.t.Errorf("stop node: %v", err)
	}
}

func (tn *testNode) addr() net.Addr { return tn.n.Addr() }

// testLogger logs to t at level (Debug in unit tests, proving the logging
// paths run).
func testLogger(t *testing.T, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantCode fails unless err has the status code want.
func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("status %v (%v), want %v", got, err, want)
	}
}

// privateMessage returns an MLSMessage(PrivateMessage) for group with the
// given content type and payload bytes.
func privateMessage(t *testing.T, group []byte, ct mls.ContentType, payload string) []byte {
	t.Helper()
	m := &mls.MLSMessage{Version: mls.ProtocolVersionMLS10, WireFormat: mls.WireFormatPrivateMessage,
		PrivateMessage: &mls.PrivateMessage{GroupID: group, Epoch: 1, ContentType: ct,
			AuthenticatedData: []byte{}, EncryptedSenderData: []byte("sender"), Ciphertext: []byte(payload)}}
	b, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func groupInput(data []byte) *mlsapi.GroupMessageInput {
	return &mlsapi.GroupMessageInput{Version: &mlsapi.GroupMessageInput_V1_{V1: &mlsapi.GroupMessageInput_V1{
		Data: data, SenderHmac: make([]byte, 32), ShouldPush: true}}}
}

// sendApp stores n application messages in group, one call each, and
// returns nothing; ids are read back by queries.
func (tn *testNode) sendApp(ctx context.Context, group []byte, prefix string, n int) {
	tn.t.Helper()
	for i := range n {
		_, err := tn.mls.SendGroupMessages(ctx, &mlsapi.SendGroupMessagesRequest{Messages: []*mlsapi.GroupMessageInput{
			groupInput(privateMessage(tn.t, group, mls.ContentTypeApplication, prefix+string(rune('a'+i%26))+itoa(i)))}})
		if err != nil {
			tn.t.Fatalf("send %s %d: %v", prefix, i, err)
		}
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}

// allGroupMessages pages through a group ascending as libxmtp does.
func (tn *testNode) allGroupMessages(ctx context.Context, group []byte) []*mlsapi.GroupMessage_V1 {
	tn.t.Helper()
	var out []*mlsapi.GroupMessage_V1
	cursor := uint64(0)
	for {
		resp, err := tn.mls.QueryGroupMessages(ctx, &mlsapi.QueryGroupMessagesRequest{GroupId: group,
			PagingInfo: &mlsapi.PagingInfo{Direction: mlsapi.SortDirection_SORT_DIRECTION_ASCENDING, Limit: 100, IdCursor: cursor}})
		if err != nil {
			tn.t.Fatal(err)
		}
		for _, m := range resp.GetMessages() {
			out = append(out, m.GetV1())
		}
		if len(resp.GetMessages()) < 100 || resp.GetPagingInfo().GetIdCursor() == 0 {
			return out
		}
		cursor = resp.GetPagingInfo().GetIdCursor()
	}
}

var testSuite = mls.MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519

// keyPackageSpec describes a test key package; the zero value (with an
// inbox) is a valid libxmtp-like one.
type keyPackageSpec struct {
	inbox      identity.InboxID
	credential []byte // overrides the MlsCredential identity
	lifetime   *mls.Lifetime
	unlisted   bool // add a key-package extension missing from capabilities
	tamper     bool // flip a signature bit
	sigPriv    []byte
}

// newKeyPackage returns the TLS-serialized key package and its
// installation key.
func newKeyPackage(t *testing.T, spec keyPackageSpec) ([]byte, []byte) {
	t.Helper()
	priv := spec.sigPriv
	if priv == nil {
		var err error
		priv, _, err = testSuite.GenerateSignatureKeyPair(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
	}
	ident := spec.credential
	if ident == nil {
		var err error
		if ident, err = identity.CredentialIdentity(spec.inbox); err != nil {
			t.Fatal(err)
		}
	}
	now := uint64(time.Now().Unix())
	lt := mls.Lifetime{NotBefore: now - 3600, NotAfter: now + 7257600}
	if spec.lifetime != nil {
		lt = *spec.lifetime
	}
	caps := mls.DefaultCapabilities(testSuite, mls.CredentialTypeBasic)
	exts := []mls.Extension{mls.LastResortExtension()}
	if spec.unlisted {
		caps.Extensions = slices.DeleteFunc(caps.Extensions, func(e mls.ExtensionType) bool { return e == mls.ExtensionTypeLastResort })
	} else if !slices.Contains(caps.Extensions, mls.ExtensionTypeLastResort) {
		caps.Extensions = append(caps.Extensions, mls.ExtensionTypeLastResort)
	}
	kp, _, err := mls.NewKeyPackage(rand.Reader, testSuite, priv, mls.NewBasicCredential(ident),
		&mls.KeyPackageOptions{Lifetime: lt, Capabilities: &caps, Extensions: exts})
	if err != nil {
		t.Fatal(err)
	}
	if spec.tamper {
		kp.Signature[0] ^= 1
	}
	b, err := (&mls.MLSMessage{Version: mls.ProtocolVersionMLS10, WireFormat: mls.WireFormatKeyPackage, KeyPackage: kp}).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b[4:], kp.LeafNode.SignatureKey
}

func testInbox(t *testing.T) identity.InboxID {
	id, err := identity.ParseInboxID("a38db5b39c536ce8cda4a67ce2a2d2fee6360dd0935875f26138e7899d6c15f7")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// storageOf returns the node's database for assertions.
func (tn *testNode) storage() *storage.DB { return tn.n.db }
