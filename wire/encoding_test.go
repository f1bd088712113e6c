package wire_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"mlsbridge/wire/association"
	"mlsbridge/wire/content"
	"mlsbridge/wire/contenttype"
	"mlsbridge/wire/credential"
	"mlsbridge/wire/mlsapi"
)

// encodingCase is a message and its encoding, worked out by hand from the
// field numbers and types in the specs: each field is a tag byte
// (number<<3 | wire type: 0 varint, 2 length-delimited) followed by a varint
// or by a length and the bytes.
type encodingCase struct {
	name string
	msg  proto.Message
	hex  string // spaces are for reading only
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func hexOf(s string) string { return hex.EncodeToString([]byte(s)) }

func TestEncodingByHand(t *testing.T) {
	inboxID := strings.Repeat("ab", 32)
	cases := []encodingCase{
		{
			// §2.1: V1 {1 data, 2 sender_hmac, 3 should_push} inside oneof field 1.
			name: "GroupMessageInput.V1",
			msg: &mlsapi.GroupMessageInput{Version: &mlsapi.GroupMessageInput_V1_{V1: &mlsapi.GroupMessageInput_V1{
				Data: []byte{0x01, 0x02}, ShouldPush: true,
			}}},
			hex: "0a 06" + "0a 02 0102" + "18 01",
		},
		{
			// §2.3: welcome_metadata is field 7 (tag 0x3a); 5 and 6 are unused.
			name: "WelcomeMessageInput.V1",
			msg: &mlsapi.WelcomeMessageInput{Version: &mlsapi.WelcomeMessageInput_V1_{V1: &mlsapi.WelcomeMessageInput_V1{
				InstallationKey:  []byte("k"),
				WrapperAlgorithm: content.WelcomeWrapperAlgorithm_WELCOME_WRAPPER_ALGORITHM_CURVE25519,
				WelcomeMetadata:  []byte{0xff},
			}}},
			hex: "0a 08" + "0a 01 6b" + "20 01" + "3a 01 ff",
		},
		{
			// §2.3: the pointer variant is oneof field 2; X-Wing is 2.
			name: "WelcomeMessageInput.WelcomePointer",
			msg: &mlsapi.WelcomeMessageInput{Version: &mlsapi.WelcomeMessageInput_WelcomePointer_{
				WelcomePointer: &mlsapi.WelcomeMessageInput_WelcomePointer{
					InstallationKey:  []byte("k"),
					WrapperAlgorithm: content.WelcomePointerWrapperAlgorithm_WELCOME_POINTER_WRAPPER_ALGORITHM_XWING_MLKEM_768_DRAFT_6,
				},
			}},
			hex: "12 05" + "0a 01 6b" + "20 02",
		},
		{
			// §2.7: PagingInfo {1 direction, 2 limit, 3 id_cursor}; 300 = varint ac 02.
			name: "QueryGroupMessagesRequest",
			msg: &mlsapi.QueryGroupMessagesRequest{GroupId: []byte{0xaa}, PagingInfo: &mlsapi.PagingInfo{
				Direction: mlsapi.SortDirection_SORT_DIRECTION_DESCENDING, Limit: 100, IdCursor: 300,
			}},
			hex: "0a 01 aa" + "12 07" + "08 02" + "10 64" + "18 ac02",
		},
		{
			// §2.9: an unset group_message gives an empty Response; a set but
			// empty one is still present (proto3 optional message).
			name: "GetNewestGroupMessageResponse",
			msg: &mlsapi.GetNewestGroupMessageResponse{Responses: []*mlsapi.GetNewestGroupMessageResponse_Response{
				{}, {GroupMessage: &mlsapi.GroupMessage{}},
			}},
			hex: "0a 00" + "0a 02 0a 00",
		},
		{
			// wire spec §6.2: 0x0A, the length, then the 64 hex characters.
			name: "MlsCredential",
			msg:  &credential.MlsCredential{InboxId: inboxID},
			hex:  "0a 40" + hexOf(inboxID),
		},
		{
			// wire spec §5.2: CreateInbox {1 initial_identifier, 2 nonce,
			// 3 signature, 4 kind}; Signature.erc_191 = field 1.
			name: "IdentityUpdate",
			msg: &association.IdentityUpdate{
				Actions: []*association.IdentityAction{{Kind: &association.IdentityAction_CreateInbox{
					CreateInbox: &association.CreateInbox{
						InitialIdentifier: "0xab",
						Nonce:             1,
						InitialIdentifierSignature: &association.Signature{Signature: &association.Signature_Erc_191{
							Erc_191: &association.RecoverableEcdsaSignature{Bytes: []byte{0x01}},
						}},
						InitialIdentifierKind: association.IdentifierKind_IDENTIFIER_KIND_ETHEREUM,
					},
				}}},
				ClientTimestampNs: 12,
				InboxId:           "i",
			},
			hex: "0a 13" + "0a 11" + "0a 04" + hexOf("0xab") + "10 01" + "1a 05 0a 03 0a 01 01" + "20 01" +
				"10 0c" + "1a 01 69",
		},
		{
			// wire spec §5.2: installation_key signature is oneof field 3.
			name: "Signature.installation_key",
			msg: &association.Signature{Signature: &association.Signature_InstallationKey{
				InstallationKey: &association.RecoverableEd25519Signature{Bytes: []byte{0x01}, PublicKey: []byte{0x02}},
			}},
			hex: "1a 06" + "0a 01 01" + "12 01 02",
		},
		{
			// groups spec §2.1: a map entry is a message {1 key, 2 value}.
			name: "GroupMembership",
			msg: &content.GroupMembership{
				Members:             map[string]uint64{"ab": 5},
				FailedInstallations: [][]byte{{0x01}},
			},
			hex: "0a 06" + "0a 02 6162" + "10 05" + "12 01 01",
		},
		{
			// groups spec §2.3: both admin lists are present even when empty.
			name: "GroupMutableMetadataV1",
			msg: &content.GroupMutableMetadataV1{
				Attributes:     map[string]string{"group_name": "g"},
				AdminList:      &content.Inboxes{},
				SuperAdminList: &content.Inboxes{InboxIds: []string{"x"}},
			},
			hex: "0a 0f" + "0a 0a" + hexOf("group_name") + "12 01 67" + "12 00" + "1a 03 0a 01 78",
		},
		{
			// groups spec §2.2: DM type 2, creator field 3, dm_members field 4.
			name: "GroupMetadataV1",
			msg: &content.GroupMetadataV1{
				ConversationType: content.ConversationType_CONVERSATION_TYPE_DM,
				CreatorInboxId:   "a",
				DmMembers: &content.DmMembers{
					DmMemberOne: &content.Inbox{InboxId: "a"},
					DmMemberTwo: &content.Inbox{InboxId: "b"},
				},
			},
			hex: "08 02" + "1a 01 61" + "22 0a" + "0a 03 0a 01 61" + "12 03 0a 01 62",
		},
		{
			// groups spec §3.1: base is oneof field 1, and_condition field 2;
			// an UNSPECIFIED base inside the oneof is still encoded.
			name: "PolicySet",
			msg: &content.PolicySet{
				AddMemberPolicy: &content.MembershipPolicy{Kind: &content.MembershipPolicy_Base{
					Base: content.MembershipPolicy_BASE_POLICY_ALLOW,
				}},
				RemoveMemberPolicy: &content.MembershipPolicy{Kind: &content.MembershipPolicy_AndCondition_{
					AndCondition: &content.MembershipPolicy_AndCondition{Policies: []*content.MembershipPolicy{
						{Kind: &content.MembershipPolicy_Base{Base: content.MembershipPolicy_BASE_POLICY_DENY}},
					}},
				}},
				UpdatePermissionsPolicy: &content.PermissionsUpdatePolicy{Kind: &content.PermissionsUpdatePolicy_Base{
					Base: content.PermissionsUpdatePolicy_PERMISSIONS_BASE_POLICY_UNSPECIFIED,
				}},
			},
			hex: "0a 02 08 01" + "12 06 12 04 0a 02 08 02" + "32 02 08 00",
		},
		{
			// groups spec §5.3–§5.4: xmtp.org/text:1.0 with encoding=UTF-8;
			// compression DEFLATE (0) is encoded because the field is optional.
			name: "EncodedContent",
			msg: &content.EncodedContent{
				Type:        &content.ContentTypeId{AuthorityId: "xmtp.org", TypeId: "text", VersionMajor: 1},
				Parameters:  map[string]string{"encoding": "UTF-8"},
				Content:     []byte("hi"),
				Compression: content.Compression_COMPRESSION_DEFLATE.Enum(),
			},
			hex: "0a 12" + "0a 08" + hexOf("xmtp.org") + "12 04" + hexOf("text") + "18 01" +
				"12 11" + "0a 08" + hexOf("encoding") + "12 05" + hexOf("UTF-8") +
				"22 02 6869" + "28 00",
		},
		{
			// groups spec §5.1: V1 {1 content, 2 idempotency_key} in oneof field 1.
			name: "PlaintextEnvelope.V1",
			msg: &content.PlaintextEnvelope{Content: &content.PlaintextEnvelope_V1_{V1: &content.PlaintextEnvelope_V1{
				Content: []byte{0x01}, IdempotencyKey: "1",
			}}},
			hex: "0a 06" + "0a 01 01" + "12 01 31",
		},
		{
			// groups spec §5.4: ReactionV2 {1 reference, 3 action, 4 content, 5 schema}.
			name: "ReactionV2",
			msg: &contenttype.ReactionV2{
				Reference: "ab",
				Action:    contenttype.ReactionAction_REACTION_ACTION_ADDED,
				Content:   "+",
				Schema:    contenttype.ReactionSchema_REACTION_SCHEMA_UNICODE,
			},
			hex: "0a 02 6162" + "18 01" + "22 01 2b" + "28 01",
		},
		{
			// wire spec §2.8: CommitLogEntry {1 sequence_id, 2 entry, 3 signature}.
			name: "CommitLogEntry",
			msg: &content.CommitLogEntry{
				SequenceId:               7,
				SerializedCommitLogEntry: []byte{0x01},
				Signature:                &association.RecoverableEd25519Signature{Bytes: []byte{0x02}},
			},
			hex: "08 07" + "12 01 01" + "1a 03 0a 01 02",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := unhex(t, c.hex)
			got, err := proto.MarshalOptions{Deterministic: true}.Marshal(c.msg)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if string(got) != string(want) {
				t.Errorf("marshal:\ngot  %x\nwant %x", got, want)
			}
			back := c.msg.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(want, back); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			if !proto.Equal(back, c.msg) {
				t.Errorf("unmarshal gave %v, want %v", back, c.msg)
			}
		})
	}
}
