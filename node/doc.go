// Package node is an XMTP v3-compatible node: the MlsApi and IdentityApi
// gRPC services, their streams and their persistence. It imports mls, wire,
// identity and storage.
package node
