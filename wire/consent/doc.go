// Package consent holds the generated types of XMTP's
// xmtp.device_sync.consent_backup protobuf package: consent records shared
// between a user's installations.
//
// Generated from wire/proto/xmtp/device_sync/consent_backup.proto by
// scripts/gen-proto; never edit the .pb.go files. It imports only protobuf.
package consent
