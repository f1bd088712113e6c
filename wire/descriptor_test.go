package wire_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "mlsbridge/wire/association"
	_ "mlsbridge/wire/backup"
	_ "mlsbridge/wire/consent"
	_ "mlsbridge/wire/content"
	_ "mlsbridge/wire/contenttype"
	_ "mlsbridge/wire/credential"
	_ "mlsbridge/wire/devicesync"
	_ "mlsbridge/wire/identityapi"
	_ "mlsbridge/wire/legacy"
	_ "mlsbridge/wire/mlsapi"
)

// protoPackages are the proto packages defined under wire/proto.
var protoPackages = []protoreflect.FullName{
	"xmtp.mls.api.v1",
	"xmtp.identity.api.v1",
	"xmtp.identity.associations",
	"xmtp.identity",
	"xmtp.message_contents",
	"xmtp.mls.message_contents",
	"xmtp.mls.message_contents.content_types",
	"xmtp.device_sync",
	"xmtp.device_sync.content",
	"xmtp.device_sync.consent_backup",
}

// specLayouts is every message and enum that the spec tables give numbers
// for, transcribed from the specs (not from the .proto files) so that this
// test catches a mistyped number or type. A message renders as its fields in
// number order, "N name [repeated|optional] type [oneof O]", types relative
// to the message's own package; an enum as "N NAME" in declaration order.
// Sections: W = shared/spec/xmtp-wire-identity-and-api.md,
// G = shared/spec/xmtp-groups.md.
var specLayouts = map[string]string{
	// W §2.1–§2.2
	"xmtp.mls.api.v1.GroupMessageInput":    "1 v1 GroupMessageInput.V1 [oneof version]",
	"xmtp.mls.api.v1.GroupMessageInput.V1": "1 data bytes; 2 sender_hmac bytes; 3 should_push bool",
	"xmtp.mls.api.v1.GroupMessage":         "1 v1 GroupMessage.V1 [oneof version]",
	"xmtp.mls.api.v1.GroupMessage.V1": "1 id uint64; 2 created_ns uint64; 3 group_id bytes; 4 data bytes; " +
		"5 sender_hmac bytes; 6 should_push bool; 7 is_commit bool",
	// W §2.3–§2.4
	"xmtp.mls.api.v1.WelcomeMessageInput": "1 v1 WelcomeMessageInput.V1 [oneof version]; " +
		"2 welcome_pointer WelcomeMessageInput.WelcomePointer [oneof version]",
	"xmtp.mls.api.v1.WelcomeMessageInput.V1": "1 installation_key bytes; 2 data bytes; 3 hpke_public_key bytes; " +
		"4 wrapper_algorithm xmtp.mls.message_contents.WelcomeWrapperAlgorithm; 7 welcome_metadata bytes",
	"xmtp.mls.api.v1.WelcomeMessageInput.WelcomePointer": "1 installation_key bytes; 2 welcome_pointer bytes; " +
		"3 hpke_public_key bytes; 4 wrapper_algorithm xmtp.mls.message_contents.WelcomePointerWrapperAlgorithm",
	"xmtp.mls.api.v1.WelcomeMessage": "1 v1 WelcomeMessage.V1 [oneof version]; " +
		"2 welcome_pointer WelcomeMessage.WelcomePointer [oneof version]",
	"xmtp.mls.api.v1.WelcomeMessage.V1": "1 id uint64; 2 created_ns uint64; 3 installation_key bytes; 4 data bytes; " +
		"5 hpke_public_key bytes; 6 wrapper_algorithm xmtp.mls.message_contents.WelcomeWrapperAlgorithm; " +
		"7 welcome_metadata bytes",
	"xmtp.mls.api.v1.WelcomeMessage.WelcomePointer": "1 id uint64; 2 created_ns uint64; 3 installation_key bytes; " +
		"4 welcome_pointer bytes; 5 hpke_public_key bytes; " +
		"6 wrapper_algorithm xmtp.mls.message_contents.WelcomePointerWrapperAlgorithm",
	"xmtp.mls.api.v1.WelcomeMetadata": "1 message_cursor uint64",
	// W §2.5
	"xmtp.mls.api.v1.KeyPackageUpload":                    "1 key_package_tls_serialized bytes",
	"xmtp.mls.api.v1.UploadKeyPackageRequest":             "1 key_package KeyPackageUpload; 2 is_inbox_id_credential bool",
	"xmtp.mls.api.v1.RegisterInstallationRequest":         "1 key_package KeyPackageUpload; 2 is_inbox_id_credential bool",
	"xmtp.mls.api.v1.RegisterInstallationResponse":        "1 installation_key bytes",
	"xmtp.mls.api.v1.FetchKeyPackagesRequest":             "1 installation_keys repeated bytes",
	"xmtp.mls.api.v1.FetchKeyPackagesResponse":            "1 key_packages repeated FetchKeyPackagesResponse.KeyPackage",
	"xmtp.mls.api.v1.FetchKeyPackagesResponse.KeyPackage": "1 key_package_tls_serialized bytes",
	"xmtp.mls.api.v1.RevokeInstallationRequest":           "1 installation_key bytes; 2 wallet_signature xmtp.message_contents.Signature",
	// W §2.6
	"xmtp.mls.api.v1.SendGroupMessagesRequest":   "1 messages repeated GroupMessageInput",
	"xmtp.mls.api.v1.SendWelcomeMessagesRequest": "1 messages repeated WelcomeMessageInput",
	// W §2.7
	"xmtp.mls.api.v1.SortDirection":                          "0 SORT_DIRECTION_UNSPECIFIED, 1 SORT_DIRECTION_ASCENDING, 2 SORT_DIRECTION_DESCENDING",
	"xmtp.mls.api.v1.PagingInfo":                             "1 direction SortDirection; 2 limit uint32; 3 id_cursor uint64",
	"xmtp.mls.api.v1.QueryGroupMessagesRequest":              "1 group_id bytes; 2 paging_info PagingInfo",
	"xmtp.mls.api.v1.QueryGroupMessagesResponse":             "1 messages repeated GroupMessage; 2 paging_info PagingInfo",
	"xmtp.mls.api.v1.QueryWelcomeMessagesRequest":            "1 installation_key bytes; 2 paging_info PagingInfo",
	"xmtp.mls.api.v1.QueryWelcomeMessagesResponse":           "1 messages repeated WelcomeMessage; 2 paging_info PagingInfo",
	"xmtp.mls.api.v1.SubscribeGroupMessagesRequest":          "1 filters repeated SubscribeGroupMessagesRequest.Filter",
	"xmtp.mls.api.v1.SubscribeGroupMessagesRequest.Filter":   "1 group_id bytes; 2 id_cursor uint64",
	"xmtp.mls.api.v1.SubscribeWelcomeMessagesRequest":        "1 filters repeated SubscribeWelcomeMessagesRequest.Filter",
	"xmtp.mls.api.v1.SubscribeWelcomeMessagesRequest.Filter": "1 installation_key bytes; 2 id_cursor uint64",
	// W §2.8
	"xmtp.mls.api.v1.PublishCommitLogRequest": "1 group_id bytes; 2 serialized_commit_log_entry bytes; " +
		"3 signature xmtp.identity.associations.RecoverableEd25519Signature",
	"xmtp.mls.api.v1.BatchPublishCommitLogRequest": "1 requests repeated PublishCommitLogRequest",
	"xmtp.mls.api.v1.QueryCommitLogRequest":        "1 group_id bytes; 2 paging_info PagingInfo",
	"xmtp.mls.api.v1.QueryCommitLogResponse": "1 group_id bytes; " +
		"2 commit_log_entries repeated xmtp.mls.message_contents.CommitLogEntry; 3 paging_info PagingInfo",
	"xmtp.mls.api.v1.BatchQueryCommitLogRequest":  "1 requests repeated QueryCommitLogRequest",
	"xmtp.mls.api.v1.BatchQueryCommitLogResponse": "1 responses repeated QueryCommitLogResponse",
	"xmtp.mls.message_contents.CommitLogEntry": "1 sequence_id uint64; 2 serialized_commit_log_entry bytes; " +
		"3 signature xmtp.identity.associations.RecoverableEd25519Signature",
	"xmtp.mls.message_contents.PlaintextCommitLogEntry": "1 group_id bytes; 2 commit_sequence_id uint64; " +
		"3 last_epoch_authenticator bytes; 4 commit_result CommitResult; 5 applied_epoch_number uint64; " +
		"6 applied_epoch_authenticator bytes",
	"xmtp.mls.message_contents.CommitResult": "0 COMMIT_RESULT_UNSPECIFIED, 1 COMMIT_RESULT_APPLIED, " +
		"2 COMMIT_RESULT_WRONG_EPOCH, 3 COMMIT_RESULT_UNDECRYPTABLE, 4 COMMIT_RESULT_INVALID",
	// W §2.9–§2.10
	"xmtp.mls.api.v1.GetNewestGroupMessageRequest":           "1 group_ids repeated bytes; 2 include_content bool",
	"xmtp.mls.api.v1.GetNewestGroupMessageResponse":          "1 responses repeated GetNewestGroupMessageResponse.Response",
	"xmtp.mls.api.v1.GetNewestGroupMessageResponse.Response": "1 group_message optional GroupMessage",
	"xmtp.mls.api.v1.GetIdentityUpdatesRequest":              "1 account_addresses repeated string; 2 start_time_ns uint64",
	// W §2.12
	"xmtp.mls.message_contents.WelcomeWrapperAlgorithm": "0 WELCOME_WRAPPER_ALGORITHM_UNSPECIFIED, " +
		"1 WELCOME_WRAPPER_ALGORITHM_CURVE25519, 2 WELCOME_WRAPPER_ALGORITHM_XWING_MLKEM_768_DRAFT_6, " +
		"3 WELCOME_WRAPPER_ALGORITHM_SYMMETRIC_KEY",
	"xmtp.mls.message_contents.WelcomePointerWrapperAlgorithm": "0 WELCOME_POINTER_WRAPPER_ALGORITHM_UNSPECIFIED, " +
		"2 WELCOME_POINTER_WRAPPER_ALGORITHM_XWING_MLKEM_768_DRAFT_6",
	"xmtp.mls.message_contents.WelcomePointeeEncryptionAeadType": "0 WELCOME_POINTEE_ENCRYPTION_AEAD_TYPE_UNSPECIFIED, " +
		"3 WELCOME_POINTEE_ENCRYPTION_AEAD_TYPE_CHACHA20_POLY1305",
	// W §3.1
	"xmtp.identity.api.v1.PublishIdentityUpdateRequest":        "1 identity_update xmtp.identity.associations.IdentityUpdate",
	"xmtp.identity.api.v1.PublishIdentityUpdateResponse":       "",
	"xmtp.identity.api.v1.GetIdentityUpdatesRequest":           "1 requests repeated GetIdentityUpdatesRequest.Request",
	"xmtp.identity.api.v1.GetIdentityUpdatesRequest.Request":   "1 inbox_id string; 2 sequence_id uint64",
	"xmtp.identity.api.v1.GetIdentityUpdatesResponse":          "1 responses repeated GetIdentityUpdatesResponse.Response",
	"xmtp.identity.api.v1.GetIdentityUpdatesResponse.Response": "1 inbox_id string; 2 updates repeated GetIdentityUpdatesResponse.IdentityUpdateLog",
	"xmtp.identity.api.v1.GetIdentityUpdatesResponse.IdentityUpdateLog": "1 sequence_id uint64; 2 server_timestamp_ns uint64; " +
		"3 update xmtp.identity.associations.IdentityUpdate",
	"xmtp.identity.api.v1.GetInboxIdsRequest":         "1 requests repeated GetInboxIdsRequest.Request",
	"xmtp.identity.api.v1.GetInboxIdsRequest.Request": "1 identifier string; 2 identifier_kind xmtp.identity.associations.IdentifierKind",
	"xmtp.identity.api.v1.GetInboxIdsResponse":        "1 responses repeated GetInboxIdsResponse.Response",
	"xmtp.identity.api.v1.GetInboxIdsResponse.Response": "1 identifier string; 2 inbox_id optional string; " +
		"3 identifier_kind xmtp.identity.associations.IdentifierKind",
	"xmtp.identity.api.v1.VerifySmartContractWalletSignaturesRequest": "1 signatures repeated VerifySmartContractWalletSignatureRequestSignature",
	"xmtp.identity.api.v1.VerifySmartContractWalletSignatureRequestSignature": "1 account_id string; " +
		"2 block_number optional uint64; 3 signature bytes; 4 hash bytes",
	"xmtp.identity.api.v1.VerifySmartContractWalletSignaturesResponse": "1 responses repeated " +
		"VerifySmartContractWalletSignaturesResponse.ValidationResponse",
	"xmtp.identity.api.v1.VerifySmartContractWalletSignaturesResponse.ValidationResponse": "1 is_valid bool; " +
		"2 block_number optional uint64; 3 error optional string",
	// W §5.2, associations
	"xmtp.identity.associations.MemberIdentifier": "1 ethereum_address string [oneof kind]; " +
		"2 installation_public_key bytes [oneof kind]; 3 passkey Passkey [oneof kind]",
	"xmtp.identity.associations.Passkey":        "1 key bytes; 2 relying_party optional string",
	"xmtp.identity.associations.IdentifierKind": "0 IDENTIFIER_KIND_UNSPECIFIED, 1 IDENTIFIER_KIND_ETHEREUM, 2 IDENTIFIER_KIND_PASSKEY",
	"xmtp.identity.associations.Member": "1 identifier MemberIdentifier; 2 added_by_entity optional MemberIdentifier; " +
		"3 client_timestamp_ns optional uint64; 4 added_on_chain_id optional uint64",
	"xmtp.identity.associations.CreateInbox": "1 initial_identifier string; 2 nonce uint64; " +
		"3 initial_identifier_signature Signature; 4 initial_identifier_kind IdentifierKind; 5 relying_party optional string",
	"xmtp.identity.associations.AddAssociation": "1 new_member_identifier MemberIdentifier; " +
		"2 existing_member_signature Signature; 3 new_member_signature Signature; 4 relying_party optional string",
	"xmtp.identity.associations.RevokeAssociation": "1 member_to_revoke MemberIdentifier; 2 recovery_identifier_signature Signature",
	"xmtp.identity.associations.ChangeRecoveryAddress": "1 new_recovery_identifier string; " +
		"2 existing_recovery_identifier_signature Signature; 3 new_recovery_identifier_kind IdentifierKind; " +
		"4 relying_party optional string",
	"xmtp.identity.associations.IdentityAction": "1 create_inbox CreateInbox [oneof kind]; 2 add AddAssociation [oneof kind]; " +
		"3 revoke RevokeAssociation [oneof kind]; 4 change_recovery_address ChangeRecoveryAddress [oneof kind]",
	"xmtp.identity.associations.IdentityUpdate": "1 actions repeated IdentityAction; 2 client_timestamp_ns uint64; 3 inbox_id string",
	"xmtp.identity.associations.MemberMap":      "1 key MemberIdentifier; 2 value Member",
	"xmtp.identity.associations.AssociationState": "1 inbox_id string; 2 members repeated MemberMap; " +
		"3 recovery_identifier string; 4 seen_signatures repeated bytes; 5 recovery_identifier_kind IdentifierKind; " +
		"6 relying_party optional string",
	"xmtp.identity.associations.AssociationStateDiff": "1 new_members repeated MemberIdentifier; 2 removed_members repeated MemberIdentifier",
	// W §5.2, signatures
	"xmtp.identity.associations.Signature": "1 erc_191 RecoverableEcdsaSignature [oneof signature]; " +
		"2 erc_6492 SmartContractWalletSignature [oneof signature]; " +
		"3 installation_key RecoverableEd25519Signature [oneof signature]; " +
		"4 delegated_erc_191 LegacyDelegatedSignature [oneof signature]; " +
		"5 passkey RecoverablePasskeySignature [oneof signature]",
	"xmtp.identity.associations.RecoverableEcdsaSignature":    "1 bytes bytes",
	"xmtp.identity.associations.RecoverableEd25519Signature":  "1 bytes bytes; 2 public_key bytes",
	"xmtp.identity.associations.SmartContractWalletSignature": "1 account_id string; 2 block_number uint64; 3 signature bytes",
	"xmtp.identity.associations.RecoverablePasskeySignature": "1 public_key bytes; 2 signature bytes; " +
		"3 authenticator_data bytes; 4 client_data_json bytes",
	"xmtp.identity.associations.LegacyDelegatedSignature": "1 delegated_key xmtp.message_contents.SignedPublicKey; " +
		"2 signature RecoverableEcdsaSignature",
	"xmtp.identity.MlsCredential":           "1 inbox_id string",
	"xmtp.message_contents.SignedPublicKey": "1 key_bytes bytes; 2 signature Signature",
	// W §6.3
	"xmtp.mls.message_contents.WelcomeWrapperEncryption": "1 pub_key bytes; 2 algorithm WelcomeWrapperAlgorithm",
	// W §7.4
	"xmtp.mls.message_contents.WelcomePointer.WelcomeV1Pointer": "1 destination bytes; " +
		"2 aead_type WelcomePointeeEncryptionAeadType; 3 encryption_key bytes; 4 data_nonce bytes; " +
		"5 welcome_metadata_nonce bytes",
	// G §2.1
	"xmtp.mls.message_contents.GroupMembership":         "1 members map<string, uint64>; 2 failed_installations repeated bytes",
	"xmtp.mls.message_contents.GroupMembershipEntry":    "1 v1 GroupMembershipEntry.V1 [oneof version]",
	"xmtp.mls.message_contents.GroupMembershipEntry.V1": "1 sequence_id uint64; 2 failed_installations repeated bytes",
	// G §2.2
	"xmtp.mls.message_contents.GroupMetadataV1": "1 conversation_type ConversationType; 2 creator_account_address string; " +
		"3 creator_inbox_id string; 4 dm_members optional DmMembers; 5 oneshot_message optional OneshotMessage",
	"xmtp.mls.message_contents.ConversationType": "0 CONVERSATION_TYPE_UNSPECIFIED, 1 CONVERSATION_TYPE_GROUP, " +
		"2 CONVERSATION_TYPE_DM, 3 CONVERSATION_TYPE_SYNC, 4 CONVERSATION_TYPE_ONESHOT",
	"xmtp.mls.message_contents.DmMembers":      "1 dm_member_one Inbox; 2 dm_member_two Inbox",
	"xmtp.mls.message_contents.Inbox":          "1 inbox_id string",
	"xmtp.mls.message_contents.OneshotMessage": "1 readd_request ReaddRequest [oneof message_type]",
	"xmtp.mls.message_contents.ReaddRequest":   "1 group_id bytes; 2 latest_commit_sequence_id uint64",
	// G §2.3
	"xmtp.mls.message_contents.GroupMutableMetadataV1": "1 attributes map<string, string>; 2 admin_list Inboxes; " +
		"3 super_admin_list Inboxes; reserved 4",
	"xmtp.mls.message_contents.Inboxes": "1 inbox_ids repeated string",
	// G §3.1
	"xmtp.mls.message_contents.GroupMutablePermissionsV1": "1 policies PolicySet",
	"xmtp.mls.message_contents.PolicySet": "1 add_member_policy MembershipPolicy; 2 remove_member_policy MembershipPolicy; " +
		"3 update_metadata_policy map<string, MetadataPolicy>; 4 add_admin_policy PermissionsUpdatePolicy; " +
		"5 remove_admin_policy PermissionsUpdatePolicy; 6 update_permissions_policy PermissionsUpdatePolicy",
	"xmtp.mls.message_contents.MembershipPolicy": "1 base MembershipPolicy.BasePolicy [oneof kind]; " +
		"2 and_condition MembershipPolicy.AndCondition [oneof kind]; 3 any_condition MembershipPolicy.AnyCondition [oneof kind]",
	"xmtp.mls.message_contents.MembershipPolicy.AndCondition": "1 policies repeated MembershipPolicy",
	"xmtp.mls.message_contents.MembershipPolicy.AnyCondition": "1 policies repeated MembershipPolicy",
	"xmtp.mls.message_contents.MembershipPolicy.BasePolicy": "0 BASE_POLICY_UNSPECIFIED, 1 BASE_POLICY_ALLOW, " +
		"2 BASE_POLICY_DENY, 3 BASE_POLICY_ALLOW_IF_ADMIN_OR_SUPER_ADMIN, 4 BASE_POLICY_ALLOW_IF_SUPER_ADMIN",
	"xmtp.mls.message_contents.MetadataPolicy": "1 base MetadataPolicy.MetadataBasePolicy [oneof kind]; " +
		"2 and_condition MetadataPolicy.AndCondition [oneof kind]; 3 any_condition MetadataPolicy.AnyCondition [oneof kind]",
	"xmtp.mls.message_contents.MetadataPolicy.AndCondition": "1 policies repeated MetadataPolicy",
	"xmtp.mls.message_contents.MetadataPolicy.AnyCondition": "1 policies repeated MetadataPolicy",
	"xmtp.mls.message_contents.MetadataPolicy.MetadataBasePolicy": "0 METADATA_BASE_POLICY_UNSPECIFIED, " +
		"1 METADATA_BASE_POLICY_ALLOW, 2 METADATA_BASE_POLICY_DENY, 3 METADATA_BASE_POLICY_ALLOW_IF_ADMIN, " +
		"4 METADATA_BASE_POLICY_ALLOW_IF_SUPER_ADMIN",
	"xmtp.mls.message_contents.PermissionsUpdatePolicy": "1 base PermissionsUpdatePolicy.PermissionsBasePolicy [oneof kind]; " +
		"2 and_condition PermissionsUpdatePolicy.AndCondition [oneof kind]; " +
		"3 any_condition PermissionsUpdatePolicy.AnyCondition [oneof kind]",
	"xmtp.mls.message_contents.PermissionsUpdatePolicy.AndCondition": "1 policies repeated PermissionsUpdatePolicy",
	"xmtp.mls.message_contents.PermissionsUpdatePolicy.AnyCondition": "1 policies repeated PermissionsUpdatePolicy",
	"xmtp.mls.message_contents.PermissionsUpdatePolicy.PermissionsBasePolicy": "0 PERMISSIONS_BASE_POLICY_UNSPECIFIED, " +
		"1 PERMISSIONS_BASE_POLICY_DENY, 2 PERMISSIONS_BASE_POLICY_ALLOW_IF_ADMIN, 3 PERMISSIONS_BASE_POLICY_ALLOW_IF_SUPER_ADMIN",
	// G §5.1
	"xmtp.mls.message_contents.PlaintextEnvelope":    "1 v1 PlaintextEnvelope.V1 [oneof content]; 2 v2 PlaintextEnvelope.V2 [oneof content]",
	"xmtp.mls.message_contents.PlaintextEnvelope.V1": "1 content bytes; 2 idempotency_key string",
	"xmtp.mls.message_contents.PlaintextEnvelope.V2": "1 idempotency_key string; 2 content bytes [oneof message_type]; " +
		"3 device_sync_request xmtp.device_sync.content.DeviceSyncRequest [oneof message_type]; " +
		"4 device_sync_reply xmtp.device_sync.content.DeviceSyncReply [oneof message_type]; " +
		"5 user_preference_update xmtp.device_sync.content.V1UserPreferenceUpdate [oneof message_type]; reserved 6",
	// G §5.3
	"xmtp.mls.message_contents.ContentTypeId": "1 authority_id string; 2 type_id string; 3 version_major uint32; 4 version_minor uint32",
	"xmtp.mls.message_contents.EncodedContent": "1 type ContentTypeId; 2 parameters map<string, string>; " +
		"3 fallback optional string; 4 content bytes; 5 compression optional Compression",
	"xmtp.mls.message_contents.Compression": "0 COMPRESSION_DEFLATE, 1 COMPRESSION_GZIP",
	// G §5.4
	"xmtp.mls.message_contents.content_types.ReactionV2": "1 reference string; 2 reference_inbox_id string; " +
		"3 action ReactionAction; 4 content string; 5 schema ReactionSchema",
	"xmtp.mls.message_contents.content_types.ReactionAction": "0 REACTION_ACTION_UNSPECIFIED, 1 REACTION_ACTION_ADDED, " +
		"2 REACTION_ACTION_REMOVED",
	"xmtp.mls.message_contents.content_types.ReactionSchema": "0 REACTION_SCHEMA_UNSPECIFIED, 1 REACTION_SCHEMA_UNICODE, " +
		"2 REACTION_SCHEMA_SHORTCODE, 3 REACTION_SCHEMA_CUSTOM",
	"xmtp.mls.message_contents.content_types.DeleteMessage":         "1 message_id string",
	"xmtp.mls.message_contents.content_types.LeaveRequest":          "1 authenticated_note optional bytes",
	"xmtp.mls.message_contents.content_types.MultiRemoteAttachment": "1 attachments repeated RemoteAttachmentInfo",
	"xmtp.mls.message_contents.content_types.EditMessage": "1 message_id string; " +
		"2 edited_content xmtp.mls.message_contents.EncodedContent",
	// G §5.5
	"xmtp.mls.message_contents.GroupUpdated.MetadataFieldChange": "1 field_name string; 2 old_value optional string; " +
		"3 new_value optional string",
	"xmtp.mls.message_contents.MembershipChange": "1 installation_ids repeated bytes; 2 account_address string; " +
		"3 initiated_by_account_address string",
	"xmtp.mls.message_contents.GroupMembershipChanges": "1 members_added repeated MembershipChange; " +
		"2 members_removed repeated MembershipChange; 3 installations_added repeated MembershipChange; " +
		"4 installations_removed repeated MembershipChange",
	// G §11
	"xmtp.device_sync.content.PreferenceUpdates": "1 updates repeated PreferenceUpdate",
	"xmtp.device_sync.content.PreferenceUpdate": "1 consent xmtp.device_sync.consent_backup.ConsentSave [oneof update]; " +
		"2 hmac HmacKeyUpdate [oneof update]",
	"xmtp.device_sync.consent_backup.ConsentSave": "1 entity_type ConsentTypeSave; 2 state ConsentStateSave; " +
		"3 entity string; 4 consented_at_ns int64",
	"xmtp.device_sync.consent_backup.ConsentTypeSave": "0 CONSENT_TYPE_SAVE_UNSPECIFIED, 1 CONSENT_TYPE_SAVE_CONVERSATION_ID, " +
		"2 CONSENT_TYPE_SAVE_INBOX_ID, 3 CONSENT_TYPE_SAVE_ADDRESS",
	"xmtp.device_sync.consent_backup.ConsentStateSave": "0 CONSENT_STATE_SAVE_UNSPECIFIED, 1 CONSENT_STATE_SAVE_UNKNOWN, " +
		"2 CONSENT_STATE_SAVE_ALLOWED, 3 CONSENT_STATE_SAVE_DENIED",
}

// pinnedLayouts are the messages and enums whose numbers or types the specs
// do not give (they only name the message, or omit a type, an oneof name or
// a nested type's name). Each was checked by hand against the xmtp/proto
// revision pinned in W §0 (8a0aafcf), or for the newer groups-spec types
// against the revision named at the top of G.
var pinnedLayouts = map[string]string{
	// W §2.10 names these only.
	"xmtp.mls.api.v1.GetIdentityUpdatesResponse":               "1 updates repeated GetIdentityUpdatesResponse.WalletUpdates",
	"xmtp.mls.api.v1.GetIdentityUpdatesResponse.WalletUpdates": "1 updates repeated GetIdentityUpdatesResponse.Update",
	"xmtp.mls.api.v1.GetIdentityUpdatesResponse.Update": "1 timestamp_ns uint64; " +
		"2 new_installation GetIdentityUpdatesResponse.NewInstallationUpdate [oneof kind]; " +
		"3 revoked_installation GetIdentityUpdatesResponse.RevokedInstallationUpdate [oneof kind]",
	"xmtp.mls.api.v1.GetIdentityUpdatesResponse.NewInstallationUpdate":     "1 installation_key bytes; 2 credential_identity bytes",
	"xmtp.mls.api.v1.GetIdentityUpdatesResponse.RevokedInstallationUpdate": "1 installation_key bytes",
	// W §5.2 gives the v2 layouts without the nested type or oneof names.
	"xmtp.message_contents.Signature": "1 ecdsa_compact Signature.ECDSACompact [oneof union]; " +
		"2 wallet_ecdsa_compact Signature.WalletECDSACompact [oneof union]",
	"xmtp.message_contents.Signature.ECDSACompact":       "1 bytes bytes; 2 recovery uint32",
	"xmtp.message_contents.Signature.WalletECDSACompact": "1 bytes bytes; 2 recovery uint32",
	"xmtp.message_contents.UnsignedPublicKey": "1 created_ns uint64; " +
		"3 secp256k1_uncompressed UnsignedPublicKey.Secp256k1Uncompressed [oneof union]",
	"xmtp.message_contents.UnsignedPublicKey.Secp256k1Uncompressed": "1 bytes bytes",
	// W §6.3 and §7.4 give the fields but not these numbers or the oneof name.
	"xmtp.mls.message_contents.WelcomePointeeEncryptionAeadTypesExtension": "1 supported_aead_types repeated WelcomePointeeEncryptionAeadType",
	"xmtp.mls.message_contents.WelcomePointer":                             "1 welcome_v1_pointer WelcomePointer.WelcomeV1Pointer [oneof version]",
	// G §5.5 does not say whether Inbox is GroupUpdated's own nested type.
	"xmtp.mls.message_contents.GroupUpdated": "1 initiated_by_inbox_id string; 2 added_inboxes repeated GroupUpdated.Inbox; " +
		"3 removed_inboxes repeated GroupUpdated.Inbox; 4 metadata_field_changes repeated GroupUpdated.MetadataFieldChange; " +
		"5 left_inboxes repeated GroupUpdated.Inbox; 6 added_admin_inboxes repeated GroupUpdated.Inbox; " +
		"7 removed_admin_inboxes repeated GroupUpdated.Inbox; 8 added_super_admin_inboxes repeated GroupUpdated.Inbox; " +
		"9 removed_super_admin_inboxes repeated GroupUpdated.Inbox",
	"xmtp.mls.message_contents.GroupUpdated.Inbox": "1 inbox_id string",
	// G §5.4 gives RemoteAttachmentInfo's numbers but not the types of 1–6.
	"xmtp.mls.message_contents.content_types.RemoteAttachmentInfo": "1 content_digest string; 2 secret bytes; 3 nonce bytes; " +
		"4 salt bytes; 5 scheme string; 6 url string; 7 content_length optional uint32; 8 filename optional string",
	// G §5.4 lists walletSendCalls as JSON; the pinned protos also define it.
	"xmtp.mls.message_contents.content_types.WalletSendCalls": "1 version string; 2 chain_id string; 3 from string; " +
		"4 calls repeated Call; 5 capabilities map<string, string>",
	"xmtp.mls.message_contents.content_types.Call": "1 to string; 2 data string; 3 value string; 4 gas string; " +
		"5 metadata map<string, string>",
	// G §11 names DeviceSyncContent and HmacKeyUpdate only; G §5.1 names the
	// V2 payload types only.
	"xmtp.device_sync.content.DeviceSyncContent": "1 request DeviceSyncRequest [oneof content]; " +
		"2 acknowledge DeviceSyncAcknowledge [oneof content]; 3 reply DeviceSyncReply [oneof content]; " +
		"4 preference_updates PreferenceUpdates [oneof content]",
	"xmtp.device_sync.content.HmacKeyUpdate":         "1 key bytes; 2 cycled_at_ns int64",
	"xmtp.device_sync.content.DeviceSyncAcknowledge": "1 request_id string",
	"xmtp.device_sync.content.DeviceSyncRequest": "1 request_id string; 2 pin_code string; " +
		"3 kind xmtp.device_sync.BackupElementSelection; 4 options xmtp.device_sync.BackupOptions",
	"xmtp.device_sync.content.DeviceSyncReply": "1 request_id string; 2 url string; 3 encryption_key DeviceSyncKeyType; " +
		"4 timestamp_ns uint64; 5 kind xmtp.device_sync.BackupElementSelection; 6 metadata xmtp.device_sync.BackupMetadataSave",
	"xmtp.device_sync.content.DeviceSyncKeyType":      "1 aes_256_gcm bytes [oneof key]",
	"xmtp.device_sync.content.V1UserPreferenceUpdate": "1 contents repeated bytes",
	"xmtp.device_sync.BackupElementSelection": "0 BACKUP_ELEMENT_SELECTION_UNSPECIFIED, 1 BACKUP_ELEMENT_SELECTION_MESSAGES, " +
		"2 BACKUP_ELEMENT_SELECTION_CONSENT, 3 BACKUP_ELEMENT_SELECTION_EVENT",
	"xmtp.device_sync.BackupOptions": "1 elements repeated BackupElementSelection; 2 start_ns optional int64; " +
		"3 end_ns optional int64; 4 exclude_disappearing_messages bool",
	"xmtp.device_sync.BackupMetadataSave": "2 elements repeated BackupElementSelection; 3 exported_at_ns int64; " +
		"4 start_ns optional int64; 5 end_ns optional int64",
}

// TestLayouts compares every message and enum of wire/proto with the tables
// above, and requires each to be in exactly one of them.
func TestLayouts(t *testing.T) {
	got := map[string]string{}
	for _, pkg := range protoPackages {
		n := 0
		protoregistry.GlobalFiles.RangeFilesByPackage(pkg, func(fd protoreflect.FileDescriptor) bool {
			n++
			collectLayouts(got, fd.Messages(), fd.Enums())
			return true
		})
		if n == 0 {
			t.Errorf("no file registered for proto package %s", pkg)
		}
	}
	for name := range specLayouts {
		if _, ok := pinnedLayouts[name]; ok {
			t.Errorf("%s is in both tables", name)
		}
	}
	for _, name := range slices.Sorted(mapKeys(got)) {
		want, ok := specLayouts[name]
		if !ok {
			want, ok = pinnedLayouts[name]
		}
		if !ok {
			t.Errorf("%s is defined but in neither table: %s", name, got[name])
			continue
		}
		if got[name] != want {
			t.Errorf("%s:\ngot  %s\nwant %s", name, got[name], want)
		}
	}
	for _, table := range []map[string]string{specLayouts, pinnedLayouts} {
		for name := range table {
			if _, ok := got[name]; !ok {
				t.Errorf("%s is in a table but not defined", name)
			}
		}
	}
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func collectLayouts(into map[string]string, msgs protoreflect.MessageDescriptors, enums protoreflect.EnumDescriptors) {
	for i := range enums.Len() {
		e := enums.Get(i)
		var vals []string
		for j := range e.Values().Len() {
			v := e.Values().Get(j)
			vals = append(vals, fmt.Sprintf("%d %s", v.Number(), v.Name()))
		}
		into[string(e.FullName())] = strings.Join(vals, ", ")
	}
	for i := range msgs.Len() {
		m := msgs.Get(i)
		if m.IsMapEntry() {
			continue
		}
		into[string(m.FullName())] = messageLayout(m)
		collectLayouts(into, m.Messages(), m.Enums())
	}
}

func messageLayout(m protoreflect.MessageDescriptor) string {
	var parts []string
	fields := m.Fields()
	var sorted []protoreflect.FieldDescriptor
	for i := range fields.Len() {
		sorted = append(sorted, fields.Get(i))
	}
	slices.SortFunc(sorted, func(a, b protoreflect.FieldDescriptor) int { return int(a.Number() - b.Number()) })
	for _, f := range sorted {
		parts = append(parts, fieldLayout(m, f))
	}
	rr := m.ReservedRanges()
	for i := range rr.Len() {
		for n := rr.Get(i)[0]; n < rr.Get(i)[1]; n++ {
			parts = append(parts, fmt.Sprintf("reserved %d", n))
		}
	}
	return strings.Join(parts, "; ")
}

func fieldLayout(m protoreflect.MessageDescriptor, f protoreflect.FieldDescriptor) string {
	if f.IsMap() {
		return fmt.Sprintf("%d %s map<%s, %s>", f.Number(), f.Name(), typeName(m, f.MapKey()), typeName(m, f.MapValue()))
	}
	mod := ""
	switch {
	case f.Cardinality() == protoreflect.Repeated:
		mod = "repeated "
	case f.HasOptionalKeyword():
		mod = "optional "
	}
	s := fmt.Sprintf("%d %s %s%s", f.Number(), f.Name(), mod, typeName(m, f))
	if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
		s += " [oneof " + string(o.Name()) + "]"
	}
	return s
}

// typeName is a field's type: the scalar kind, or the message or enum name
// without the package prefix when it is in m's own package.
func typeName(m protoreflect.MessageDescriptor, f protoreflect.FieldDescriptor) string {
	var name protoreflect.FullName
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		name = f.Message().FullName()
	case protoreflect.EnumKind:
		name = f.Enum().FullName()
	default:
		return f.Kind().String()
	}
	return strings.TrimPrefix(string(name), string(m.ParentFile().Package())+".")
}

// TestReservedNames checks the retired field names the specs mention, which
// must never be reused.
func TestReservedNames(t *testing.T) {
	for name, want := range map[protoreflect.FullName]protoreflect.Name{
		"xmtp.mls.message_contents.GroupMutableMetadataV1": "commit_log_signer", // G §2.3
		"xmtp.mls.message_contents.PlaintextEnvelope.V2":   "readd_request",     // G §5.1
	} {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !d.(protoreflect.MessageDescriptor).ReservedNames().Has(want) {
			t.Errorf("%s does not reserve the name %s", name, want)
		}
	}
}
