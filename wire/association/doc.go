// Package association holds the generated types of XMTP's
// xmtp.identity.associations protobuf package: identity updates and their
// actions, every kind of identity signature, members, and association state.
//
// These are untrusted wire types; package identity verifies them. Generated
// from wire/proto/xmtp/identity/associations by scripts/gen-proto; never edit
// the .pb.go files. It imports only other wire packages and protobuf.
package association
