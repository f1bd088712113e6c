// Package backup holds the generated types of the part of XMTP's
// xmtp.device_sync protobuf package that device-sync requests and replies use:
// archive selection, options and metadata.
//
// Generated from wire/proto/xmtp/device_sync/backup_options.proto by
// scripts/gen-proto; never edit the .pb.go files. It imports only protobuf.
package backup
