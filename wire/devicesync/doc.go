// Package devicesync holds the generated types of XMTP's
// xmtp.device_sync.content protobuf package: the messages a user's
// installations exchange in their private Sync conversation.
//
// Generated from wire/proto/xmtp/device_sync/content.proto by
// scripts/gen-proto; never edit the .pb.go files. It imports only other wire
// packages and protobuf.
package devicesync
