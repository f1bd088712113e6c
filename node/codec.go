package node

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	protov2 "google.golang.org/protobuf/proto"
)

// requestCodec is the standard protobuf codec, except that a request that
// is not valid protobuf is reported as InvalidArgument instead of gRPC's
// fixed INTERNAL "failed to unmarshal": Unmarshal records the failure
// against the message, and the interceptors turn it into the call's error
// before any handler runs.
type requestCodec struct {
	encoding.CodecV2
	failed sync.Map // message pointer → decode error
}

func newRequestCodec() *requestCodec {
	return &requestCodec{CodecV2: encoding.GetCodecV2(proto.Name)}
}

func (c *requestCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.CodecV2.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(protov2.Message)
	if !ok {
		return err
	}
	protov2.Reset(m)
	c.failed.Store(v, err)
	return nil
}

// decodeError returns, and forgets, the decode failure recorded for req.
func (c *requestCodec) decodeError(req any) error {
	v, ok := c.failed.LoadAndDelete(req)
	if !ok {
		return nil
	}
	name := "request"
	if m, ok := req.(protov2.Message); ok {
		name = string(m.ProtoReflect().Descriptor().FullName())
	}
	return invalidArgument("malformed request: not a valid %s protobuf: %v", name, v.(error))
}

func (c *requestCodec) unaryInterceptor(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := c.decodeError(req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (c *requestCodec) streamInterceptor(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &checkedStream{ServerStream: ss, codec: c})
}

// checkedStream fails RecvMsg for a request the codec could not decode.
type checkedStream struct {
	grpc.ServerStream
	codec *requestCodec
}

func (s *checkedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if err := s.codec.decodeError(m); err != nil {
		return err
	}
	return nil
}
