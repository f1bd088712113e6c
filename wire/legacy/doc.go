// Package legacy holds the generated types of the part of XMTP's v2
// xmtp.message_contents protobuf package that v3 still uses: signed public
// keys and their signatures, embedded in legacy delegated identity signatures.
//
// Generated from wire/proto/xmtp/message_contents by scripts/gen-proto; never
// edit the .pb.go files. It imports only protobuf.
package legacy
