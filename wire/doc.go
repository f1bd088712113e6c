// Package wire holds the protobuf messages and gRPC stubs of the XMTP wire
// formats, generated from .proto files written for this project. Generated
// code is committed and never edited by hand. It imports no other package of
// this module.
package wire
