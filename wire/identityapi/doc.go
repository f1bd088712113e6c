// Package identityapi holds the generated types of XMTP's
// xmtp.identity.api.v1 protobuf package: the IdentityApi gRPC service with its
// client and server stubs, and its requests and responses.
//
// Generated from wire/proto/xmtp/identity/api/v1 by scripts/gen-proto; never
// edit the .pb.go files. It imports only other wire packages, protobuf and
// gRPC.
package identityapi
