package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"mlsbridge/storage"
)

// Options configure a node started with [Start].
type Options struct {
	// Listen is the TCP address to serve on, e.g. "127.0.0.1:5556"; port 0
	// picks a free one (see [Node.Addr]). Required.
	Listen string
	// Database is a SQLite file path or a PostgreSQL DSN (see
	// storage.IsPostgresDSN). Required.
	Database string
	// Logger receives the node's and the database's logs; nil discards
	// them.
	Logger *slog.Logger
	// Server holds the remaining server settings; its Logger is replaced
	// by Logger.
	Server Config
}

// Node is a running node with its own database and listener: what
// `bridge node` runs, and what the main bridge job embeds.
type Node struct {
	srv  *Server
	db   *storage.DB
	ln   net.Listener
	wg   sync.WaitGroup
	err  error // Serve's result, valid once done is closed
	done chan struct{}

	stopOnce sync.Once
	stopErr  error
}

// Start opens the database (applying migrations), listens on opts.Listen
// and serves in a goroutine that the Node owns until [Node.Stop]. It
// returns once the node accepts connections.
func Start(ctx context.Context, opts Options) (*Node, error) {
	if opts.Listen == "" || opts.Database == "" {
		return nil, errors.New("node: start: Listen and Database are required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := storage.Open(ctx, opts.Database, &storage.Options{Logger: log.With("component", "storage")})
	if err != nil {
		return nil, fmt.Errorf("node: start: %w", err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.Listen)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("node: start: listen on %s: %w", opts.Listen, err)
	}
	cfg := opts.Server
	cfg.Logger = log
	n := &Node{srv: NewServer(db, cfg), db: db, ln: ln, done: make(chan struct{})}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer close(n.done)
		n.err = n.srv.Serve(ln)
	}()
	return n, nil
}

// Addr returns the address the node listens on.
func (n *Node) Addr() net.Addr { return n.ln.Addr() }

// Server returns the node's gRPC services.
func (n *Node) Server() *Server { return n.srv }

// Done is closed when the node stops serving, by Stop or by a listener
// failure; [Node.Err] then tells which.
func (n *Node) Done() <-chan struct{} { return n.done }

// Err returns the serve error once Done is closed (nil after Stop).
func (n *Node) Err() error {
	select {
	case <-n.done:
		return n.err
	default:
		return nil
	}
}

// Stop shuts the node down gracefully (see [Server.Shutdown]), bounded by
// ctx, waits for its goroutine and closes the database. Later calls return
// the first call's result.
func (n *Node) Stop(ctx context.Context) error {
	n.stopOnce.Do(func() {
		err := n.srv.Shutdown(ctx)
		n.wg.Wait()
		n.stopErr = errors.Join(err, n.err, n.db.Close())
	})
	return n.stopErr
}
