// Package wire holds the protobuf messages and gRPC stubs of the XMTP wire
// formats, generated from .proto files written for this project. Generated
// code is committed and never edited by hand. It imports no other package of
// this module.
//
// The .proto files live in wire/proto. Their proto packages, message names,
// field numbers and types, enum values, and service and RPC names are those of
// XMTP's definitions as pinned by shared/spec/xmtp-wire-identity-and-api.md §0
// (libxmtp 1.9.1), so that the bytes and gRPC paths interoperate; the facts
// come from that document and shared/spec/xmtp-groups.md, each file citing its
// sections. One Go package per proto package:
//
//	xmtp.mls.api.v1                          wire/mlsapi       MlsApi service
//	xmtp.identity.api.v1                     wire/identityapi  IdentityApi service
//	xmtp.identity.associations               wire/association  identity updates, signatures
//	xmtp.identity                            wire/credential   MLS credential identity
//	xmtp.message_contents (v2 subset)        wire/legacy       legacy signed keys
//	xmtp.mls.message_contents                wire/content      group state, envelopes
//	xmtp.mls.message_contents.content_types  wire/contenttype  content type bodies
//	xmtp.device_sync.content                 wire/devicesync   Sync conversation messages
//	xmtp.device_sync (subset)                wire/backup       archive options
//	xmtp.device_sync.consent_backup          wire/consent      consent records
//
// One package here is written by hand, not generated: wire/prost, prost's
// decoding rules, which every decoder of remote protobuf bytes above uses
// to accept exactly what libxmtp accepts.
//
// Package wire itself has no API: it holds this map and the tests that check
// the generated code is fresh (scripts/gen-proto regenerates it, with pinned
// tools) and that encodings and RPC paths match the specifications.
//
// These are untrusted wire types. Convert them at the package edge
// (STYLE.md §1); no wire type belongs in a policy/ or groupsync/ signature.
// The full protobuf names are XMTP's, so this module must not also link
// XMTP's own generated Go packages: both would register the same names.
package wire
