// Package content holds the generated types of XMTP's
// xmtp.mls.message_contents protobuf package: immutable and mutable group
// metadata, permissions, membership, welcome wrapping and pointers, commit-log
// entries, EncodedContent, the plaintext envelope, and transcripts.
//
// Generated from wire/proto/xmtp/mls/message_contents by scripts/gen-proto;
// never edit the .pb.go files. It imports only other wire packages and
// protobuf.
package content
