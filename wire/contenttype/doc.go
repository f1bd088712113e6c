// Package contenttype holds the generated types of XMTP's
// xmtp.mls.message_contents.content_types protobuf package: the bodies of the
// standard content types that are protobuf-encoded (reactions v2, deletes,
// leave requests, edits, multi remote attachments, wallet calls).
//
// Generated from wire/proto/xmtp/mls/message_contents/content_types by
// scripts/gen-proto; never edit the .pb.go files. It imports only other wire
// packages and protobuf.
package contenttype
