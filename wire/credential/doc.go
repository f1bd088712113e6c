// Package credential holds the generated types of XMTP's xmtp.identity
// protobuf package: the MlsCredential carried in an MLS Basic credential.
//
// Generated from wire/proto/xmtp/identity by scripts/gen-proto; never edit the
// .pb.go files. It imports only protobuf.
package credential
