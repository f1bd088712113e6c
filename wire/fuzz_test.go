package wire_test

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"mlsbridge/wire/association"
	"mlsbridge/wire/content"
	"mlsbridge/wire/contenttype"
	"mlsbridge/wire/identityapi"
	"mlsbridge/wire/mlsapi"
)

// untrusted are the messages a node or client decodes from bytes a peer
// chose: request and response envelopes, identity updates, group context
// extensions, welcome pointers and application-message plaintexts.
var untrusted = []func() proto.Message{
	func() proto.Message { return &mlsapi.GroupMessageInput{} },
	func() proto.Message { return &mlsapi.GroupMessage{} },
	func() proto.Message { return &mlsapi.WelcomeMessageInput{} },
	func() proto.Message { return &mlsapi.WelcomeMessage{} },
	func() proto.Message { return &mlsapi.WelcomeMetadata{} },
	func() proto.Message { return &mlsapi.QueryGroupMessagesResponse{} },
	func() proto.Message { return &identityapi.GetIdentityUpdatesResponse{} },
	func() proto.Message { return &association.IdentityUpdate{} },
	func() proto.Message { return &content.GroupMetadataV1{} },
	func() proto.Message { return &content.GroupMutableMetadataV1{} },
	func() proto.Message { return &content.GroupMembership{} },
	func() proto.Message { return &content.GroupMutablePermissionsV1{} },
	func() proto.Message { return &content.WelcomePointer{} },
	func() proto.Message { return &content.PlaintextEnvelope{} },
	func() proto.Message { return &content.EncodedContent{} },
	func() proto.Message { return &contenttype.ReactionV2{} },
}

// FuzzWireRoundTrip decodes arbitrary bytes as one of the untrusted message
// types (STYLE.md §11): decoding must not panic, and once decoded, encoding,
// decoding and encoding again must give identical bytes and an equal message.
func FuzzWireRoundTrip(f *testing.F) {
	for _, c := range seedCases() {
		for i, newMsg := range untrusted {
			if proto.MessageName(newMsg()) == proto.MessageName(c.msg) {
				b, err := proto.Marshal(c.msg)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(uint8(i), b)
			}
		}
	}
	f.Add(uint8(0), []byte{0x0a, 0x80}) // truncated length
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		newMsg := untrusted[int(kind)%len(untrusted)]
		first := newMsg()
		if proto.Unmarshal(data, first) != nil {
			return
		}
		det := proto.MarshalOptions{Deterministic: true}
		enc1, err := det.Marshal(first)
		if err != nil {
			t.Fatalf("encode decoded %T: %v", first, err)
		}
		second := newMsg()
		if err := proto.Unmarshal(enc1, second); err != nil {
			t.Fatalf("decode re-encoded %T: %v", first, err)
		}
		enc2, err := det.Marshal(second)
		if err != nil {
			t.Fatalf("encode %T again: %v", second, err)
		}
		if !bytes.Equal(enc1, enc2) {
			t.Fatalf("%T round trip changed bytes:\nfirst  %x\nsecond %x", first, enc1, enc2)
		}
		if !proto.Equal(first, second) {
			t.Fatalf("%T round trip changed the message:\nfirst  %v\nsecond %v", first, first, second)
		}
	})
}

// seedCases are sample messages for the fuzz corpus.
func seedCases() []encodingCase {
	return []encodingCase{
		{msg: &mlsapi.GroupMessageInput{Version: &mlsapi.GroupMessageInput_V1_{V1: &mlsapi.GroupMessageInput_V1{
			Data: []byte{0x00, 0x01, 0x00, 0x02}, SenderHmac: bytes.Repeat([]byte{7}, 32), ShouldPush: true,
		}}}},
		{msg: &mlsapi.WelcomeMessage{Version: &mlsapi.WelcomeMessage_V1_{V1: &mlsapi.WelcomeMessage_V1{
			Id: 9, CreatedNs: 1, InstallationKey: bytes.Repeat([]byte{1}, 32), Data: []byte{2},
			WrapperAlgorithm: content.WelcomeWrapperAlgorithm_WELCOME_WRAPPER_ALGORITHM_CURVE25519,
		}}}},
		{msg: &content.GroupMutableMetadataV1{
			Attributes:     map[string]string{"group_name": "g", "description": "d"},
			AdminList:      &content.Inboxes{},
			SuperAdminList: &content.Inboxes{InboxIds: []string{"a"}},
		}},
		{msg: &content.GroupMembership{Members: map[string]uint64{"a": 1, "b": 2}}},
		{msg: &content.PlaintextEnvelope{Content: &content.PlaintextEnvelope_V1_{V1: &content.PlaintextEnvelope_V1{
			Content: []byte{0x0a, 0x00}, IdempotencyKey: "1",
		}}}},
		{msg: &association.IdentityUpdate{ClientTimestampNs: 1, InboxId: "i", Actions: []*association.IdentityAction{
			{Kind: &association.IdentityAction_Add{Add: &association.AddAssociation{
				NewMemberIdentifier: &association.MemberIdentifier{Kind: &association.MemberIdentifier_InstallationPublicKey{
					InstallationPublicKey: []byte{1},
				}},
			}}},
		}}},
	}
}
