package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"mlsbridge/storage"
	"mlsbridge/wire/identityapi"
	"mlsbridge/wire/mlsapi"
)

// Limits from spec §1.1 and §2.11.
const (
	// MaxRequestBytes is the largest gRPC request the node reads (node-go:
	// 50 MiB).
	MaxRequestBytes = 50 << 20
	// MaxPayloadBytes is the largest single payload (group message data,
	// welcome, key package, identity update) the node stores; libxmtp
	// caps one payload at 25 MiB.
	MaxPayloadBytes = 25 << 20
	// maxCommitLogPublish and maxCommitLogQueries bound the commit-log
	// batches (spec §2.11).
	maxCommitLogPublish = 10
	maxCommitLogQueries = 20
	// maxNewestGroups bounds GetNewestGroupMessage (libxmtp sends ≤ 1000).
	maxNewestGroups = 1000
)

// Config holds the optional settings of a [Server]. The zero value is
// usable.
type Config struct {
	// Logger receives lifecycle messages at Info and one Debug line per
	// call; nil discards them. Payload bytes and keys are never logged.
	Logger *slog.Logger
	// Now is the clock for created_ns, server timestamps and key-package
	// lifetimes; nil means time.Now.
	Now func() time.Time
	// SubscriptionBuffer is the live queue length of each subscription;
	// a subscriber that falls further behind catches up from the
	// database. Zero means 256.
	SubscriptionBuffer int
}

// Server is the XMTP v3 node: it implements xmtp.mls.api.v1.MlsApi (and,
// through [Server.IdentityAPI], xmtp.identity.api.v1.IdentityApi) over a storage.DB with the semantics of
// spec §2.11 and §3.2, and serves them over cleartext HTTP/2 gRPC. Its
// methods are safe for concurrent use.
type Server struct {
	mlsapi.UnimplementedMlsApiServer

	db    *storage.DB
	log   *slog.Logger
	now   func() time.Time
	buf   int
	grpc  *grpc.Server
	group *hub[storage.GroupMessage]
	wel   *hub[storage.WelcomeMessage]

	// groupWrite and welcomeWrite serialize insert+publish per kind, so
	// that ids are committed and published in increasing order.
	groupWrite   sync.Mutex
	welcomeWrite sync.Mutex
	// identityWrite serializes identity publishes (spec §3.2 step 2).
	identityWrite sync.Mutex

	stopOnce sync.Once
	stopping chan struct{}
}

var _ mlsapi.MlsApiServer = (*Server)(nil)

// NewServer returns a node serving db. db stays owned by the caller, who
// closes it after [Server.Shutdown].
func NewServer(db *storage.DB, cfg Config) *Server {
	s := &Server{
		db:       db,
		log:      cfg.Logger,
		now:      cfg.Now,
		buf:      cfg.SubscriptionBuffer,
		group:    newHub[storage.GroupMessage](),
		wel:      newHub[storage.WelcomeMessage](),
		stopping: make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "node")
	if s.now == nil {
		s.now = time.Now
	}
	if s.buf <= 0 {
		s.buf = 256
	}
	codec := newRequestCodec()
	s.grpc = grpc.NewServer(
		grpc.ForceServerCodecV2(codec),
		grpc.MaxRecvMsgSize(MaxRequestBytes),
		// libxmtp pings every 16 s, also while idle (spec §1.1).
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 15 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 5 * time.Minute, Timeout: 20 * time.Second}),
		grpc.ChainUnaryInterceptor(s.unaryInterceptor, codec.unaryInterceptor),
		grpc.ChainStreamInterceptor(s.streamInterceptor, codec.streamInterceptor),
	)
	mlsapi.RegisterMlsApiServer(s.grpc, s)
	identityapi.RegisterIdentityApiServer(s.grpc, s.IdentityAPI())
	return s
}

// Serve accepts connections on ln until Shutdown; it returns nil after a
// shutdown and the accept error otherwise. Call it once.
func (s *Server) Serve(ln net.Listener) error {
	s.log.Info("node listening", "addr", ln.Addr().String())
	err := s.grpc.Serve(ln)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("node: serve: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections, ends every subscription stream
// (with UNAVAILABLE, so clients resubscribe from their cursors) and waits
// for in-flight unary calls to finish, or until ctx ends, when it closes
// the remaining connections at once and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stopping) })
	s.log.Info("node shutting down")
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		s.log.Info("node stopped")
		return nil
	case <-ctx.Done():
		s.grpc.Stop()
		<-done
		s.log.Warn("node stopped before in-flight calls finished")
		return fmt.Errorf("node: shutdown: %w", ctx.Err())
	}
}

// unaryInterceptor recovers panics and logs one Debug line per call (an
// Error line for internal failures).
func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("node handler panicked", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			resp, err = nil, status.Error(codes.Internal, "internal error")
		}
		s.logCall(ctx, info.FullMethod, start, err)
	}()
	return handler(ctx, req)
}

func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	start := time.Now()
	s.log.Debug("node stream opened", "method", info.FullMethod)
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("node stream handler panicked", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = status.Error(codes.Internal, "internal error")
		}
		s.logCall(ss.Context(), info.FullMethod, start, err)
	}()
	return handler(srv, ss)
}

func (s *Server) logCall(ctx context.Context, method string, start time.Time, err error) {
	code := status.Code(err)
	attrs := []any{"method", method, "code", code.String(), "elapsed", time.Since(start)}
	switch code {
	case codes.Internal, codes.Unknown, codes.DataLoss:
		s.log.ErrorContext(ctx, "node call failed", append(attrs, "err", err)...)
	case codes.OK:
		s.log.DebugContext(ctx, "node call", attrs...)
	default:
		s.log.DebugContext(ctx, "node call", append(attrs, "err", status.Convert(err).Message())...)
	}
}

// nowNs returns the server clock in Unix nanoseconds.
func (s *Server) nowNs() uint64 {
	n := s.now().UnixNano()
	if n < 0 {
		return 0
	}
	return uint64(n)
}

func invalidArgument(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

func internalError(op string, err error) error {
	return status.Errorf(codes.Internal, "%s: %v", op, err)
}
