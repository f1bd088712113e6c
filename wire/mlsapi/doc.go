// Package mlsapi holds the generated types of XMTP's xmtp.mls.api.v1
// protobuf package: the MlsApi gRPC service with its client and server stubs,
// the requests and responses, the group and welcome message envelopes, and
// paging.
//
// Generated from wire/proto/xmtp/mls/api/v1 by scripts/gen-proto; never edit
// the .pb.go files. It imports only other wire packages, protobuf and gRPC.
package mlsapi
