package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"mlsbridge/node"
)

// nodeShutdownTimeout bounds how long in-flight calls may take to finish
// after SIGINT or SIGTERM.
const nodeShutdownTimeout = 30 * time.Second

// runNode implements `bridge node`: it runs the XMTP node alone until
// SIGINT or SIGTERM (or ctx ends), then shuts it down gracefully. ready, if
// not nil, receives the listening node once it serves.
func runNode(ctx context.Context, args []string, stderr io.Writer, ready func(*node.Node)) int {
	fs := flag.NewFlagSet("bridge node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:5556", "TCP address to serve the XMTP v3 gRPC API on (cleartext HTTP/2)")
	db := fs.String("db", "mlsbridge-node.db", "SQLite file path, or a PostgreSQL DSN (postgres://… or host=…)")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bridge node: unexpected arguments %q\n", fs.Args())
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "bridge node: -log-level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	n, err := startEmbeddedNode(ctx, log, *listen, *db)
	if err != nil {
		log.Error("node failed to start", "err", err)
		return 1
	}
	if ready != nil {
		ready(n)
	}
	select {
	case <-ctx.Done():
		log.Info("node stopping on signal")
	case <-n.Done():
	}
	return stopNode(log, n)
}

// stopNode stops n within nodeShutdownTimeout and returns the exit code.
func stopNode(log *slog.Logger, n *node.Node) int {
	shutdownCtx, cancel := context.WithTimeout(context.Background(), nodeShutdownTimeout)
	defer cancel()
	if err := n.Stop(shutdownCtx); err != nil {
		log.Error("node stopped with an error", "err", err)
		return 1
	}
	return 0
}

// startEmbeddedNode starts the XMTP node on listen with the database db
// and logs where it listens. The main bridge job calls it when its config
// embeds a node; the caller stops the node with Node.Stop.
func startEmbeddedNode(ctx context.Context, log *slog.Logger, listen, db string) (*node.Node, error) {
	n, err := node.Start(ctx, node.Options{Listen: listen, Database: db, Logger: log})
	if err != nil {
		return nil, err
	}
	log.Info("node ready", "addr", n.Addr().String(), "url", "http://"+n.Addr().String())
	return n, nil
}
