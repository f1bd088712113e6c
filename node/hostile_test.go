package node

import (
	"bytes"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"mlsbridge/mls"
	"mlsbridge/wire/content"
	"mlsbridge/wire/identityapi"
	"mlsbridge/wire/mlsapi"
)

// rawCodec sends request bytes as they are, to feed the node malformed
// protobuf.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return v.([]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

func TestMalformedProtobufIsInvalidArgument(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{})
	garbage := [][]byte{
		{0x0a, 0x05, 0x01},       // field 1, length 5, 1 byte present
		{0x00},                   // field number 0
		{0x0f, 0xff, 0xff, 0xff}, // wire type 7
	}
	unary := []string{
		mlsapi.MlsApi_SendGroupMessages_FullMethodName,
		mlsapi.MlsApi_UploadKeyPackage_FullMethodName,
		mlsapi.MlsApi_SendWelcomeMessages_FullMethodName,
		mlsapi.MlsApi_QueryGroupMessages_FullMethodName,
		identityapi.IdentityApi_PublishIdentityUpdate_FullMethodName,
	}
	for _, method := range unary {
		for _, b := range garbage {
			var out []byte
			err := tn.conn.Invoke(ctx, method, b, &out, grpc.ForceCodec(rawCodec{}))
			wantCode(t, err, codes.InvalidArgument)
		}
	}
	desc := &grpc.StreamDesc{ServerStreams: true}
	stream, err := tn.conn.NewStream(ctx, desc, mlsapi.MlsApi_SubscribeGroupMessages_FullMethodName, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.SendMsg(garbage[0]); err != nil {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	var out []byte
	wantCode(t, stream.RecvMsg(&out), codes.InvalidArgument)

	// Oversized requests are refused by size, and the node stays up.
	big := &mlsapi.SendGroupMessagesRequest{Messages: []*mlsapi.GroupMessageInput{groupInput(make([]byte, MaxRequestBytes+1))}}
	_, err = tn.mls.SendGroupMessages(ctx, big)
	wantCode(t, err, codes.ResourceExhausted)
	g := []byte("still-up")
	tn.sendApp(ctx, g, "ok", 1)
	if got := tn.allGroupMessages(ctx, g); len(got) != 1 {
		t.Fatalf("%d messages after hostile calls, want 1", len(got))
	}
}

// FuzzParseGroupMessage: the framing parser behind SendGroupMessages never
// panics, and what it accepts re-encodes to the same bytes with the same
// group id.
func FuzzParseGroupMessage(f *testing.F) {
	for _, ct := range []mls.ContentType{mls.ContentTypeApplication, mls.ContentTypeProposal, mls.ContentTypeCommit} {
		m := &mls.MLSMessage{Version: mls.ProtocolVersionMLS10, WireFormat: mls.WireFormatPrivateMessage,
			PrivateMessage: &mls.PrivateMessage{GroupID: []byte("group"), Epoch: 3, ContentType: ct,
				AuthenticatedData: []byte{}, EncryptedSenderData: []byte("s"), Ciphertext: []byte("c")}}
		b, err := m.Bytes()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0, 1, 0, 1})
	f.Add([]byte{0, 1, 0, 3, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := parseGroupMessage(data)
		if err != nil {
			return
		}
		m, err := mls.ParseMLSMessage(data)
		if err != nil {
			t.Fatalf("accepted bytes do not parse: %v", err)
		}
		again, err := m.Bytes()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted message does not re-encode identically (%v)", err)
		}
		if len(info.groupID) == 0 {
			t.Fatal("accepted an empty group id")
		}
	})
}

// FuzzValidateKeyPackage: key-package validation never panics and never
// accepts a package whose signature key is not 32 bytes.
func FuzzValidateKeyPackage(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 1, 0, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := validateKeyPackage(data, time.Now())
		if err == nil && len(info.installationKey) != 32 {
			t.Fatalf("accepted a %d-byte installation key", len(info.installationKey))
		}
	})
}

// FuzzRequestShapes decodes arbitrary bytes as the send requests and runs
// the request checks of SendWelcomeMessages and PublishIdentityUpdate's
// decoding: no panics.
func FuzzRequestShapes(f *testing.F) {
	w, _ := proto.Marshal(&mlsapi.SendWelcomeMessagesRequest{Messages: []*mlsapi.WelcomeMessageInput{
		welcomeV1(make([]byte, 32), "w", content.WelcomeWrapperAlgorithm_WELCOME_WRAPPER_ALGORITHM_CURVE25519)}})
	f.Add(w)
	f.Fuzz(func(t *testing.T, data []byte) {
		var req mlsapi.SendWelcomeMessagesRequest
		if proto.Unmarshal(data, &req) == nil {
			for _, m := range req.GetMessages() {
				_, _ = welcomeFromInput(m)
			}
		}
		var up mlsapi.SendGroupMessagesRequest
		if proto.Unmarshal(data, &up) == nil {
			for _, m := range up.GetMessages() {
				_, _ = parseGroupMessage(m.GetV1().GetData())
			}
		}
	})
}
