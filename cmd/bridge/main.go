// Command bridge is the one mlsbridge binary.
//
//	bridge [-config FILE]        the main job: the embedded XMTP node (or a remote
//	                             one), the bots, cron jobs, /healthz and /metrics,
//	                             from the config until SIGINT/SIGTERM
//	bridge node [flags]          the XMTP node alone, for operators
//	bridge client [flags]        a Go XMTP client driven by JSON commands on stdin,
//	                             in the protocol of shared/interop/libxmtp-peer.mjs
//	bridge mls-selfcheck [flags] an in-process MLS group on suite 3, as a smoke check
//	bridge version
//
// Later issues add the bridges to the main job.
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

	"mlsbridge/node"
	// Every built-in plugin, offered to the bots' groups.
	_ "mlsbridge/plugins/standard"
)

const version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "version", "--version":
			fmt.Fprintf(stdout, "bridge %s\n", version)
			return 0
		case "mls-selfcheck":
			return runSelfCheck(args[1:], stdout, stderr)
		case "node":
			return runNode(context.Background(), args[1:], stderr, nil)
		case "client":
			return runClient(context.Background(), args[1:], os.Stdin, stdout, stderr)
		default:
			if args[0] != "" && args[0][0] != '-' {
				fmt.Fprintf(stderr, "bridge: unknown command %q (commands: node, client, mls-selfcheck, version)\n", args[0])
				return 2
			}
		}
	}
	return runMain(context.Background(), args, stdout, stderr, nil)
}

// runMain is the main job: load the config, start the embedded node (or
// use the remote one), open and start the bots, the cron jobs and the
// metrics server, print how to reach them, and run until SIGINT/SIGTERM or
// ctx ends; then stop everything within bounded times, bots first.
// started, if not nil, is called with the node's URL once everything
// serves (tests use it).
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer, started func(url string)) int {
	fs := flag.NewFlagSet("bridge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "config.yaml", "YAML configuration file (see config.example.yaml)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bridge: unexpected arguments %q\n", fs.Args())
		return 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintf(stderr, "bridge: %v\n", err)
		return 2
	}
	log := cfg.logger(stderr)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	var n *node.Node
	nodeAddr := nodeDialAddr(cfg.Node.URL)
	if cfg.Node.Embedded {
		if n, err = startEmbeddedNode(ctx, log, cfg.Node.Listen, cfg.Node.Database); err != nil {
			log.Error("embedded node failed to start", "err", err)
			return 1
		}
		nodeAddr = dialAddr(n.Addr())
	} else if len(cfg.Bots) == 0 {
		log.Error("nothing to run: no bots and no embedded node", "url", cfg.Node.URL)
		return 1
	}
	code := serve(ctx, log, cfg, n, nodeAddr, stdout, started)
	if n != nil {
		if c := stopNode(log, n); code == 0 {
			code = c
		}
	}
	return code
}

// serve runs the bots, the jobs and the metrics on the node at nodeAddr
// (n is the embedded node, or nil) until ctx ends or the node stops, and
// stops them; it returns the exit code.
func serve(ctx context.Context, log *slog.Logger, cfg *Config, n *node.Node, nodeAddr string, stdout io.Writer, started func(url string)) int {
	bots, err := openBots(ctx, log, cfg, nodeAddr)
	if err != nil {
		log.Error("bots failed to open", "err", err)
		return 1
	}
	defer closeBots(log, bots)
	ops, err := startOperations(ctx, log, cfg, botClients(bots))
	if err != nil {
		log.Error("jobs and metrics failed to start", "err", err)
		return 1
	}
	defer ops.stop()
	if n != nil {
		ops.metrics.AddHealthCheck("node", nodeHealth(n))
	}
	if err := startBots(ctx, log, bots, ops.metrics); err != nil {
		log.Error("bots failed to start", "err", err)
		return 1
	}
	defer stopBots(log, bots)
	url := "http://" + nodeAddr
	printReach(stdout, url, n != nil, bots)
	if started != nil {
		started(url)
	}
	var nodeDone <-chan struct{}
	if n != nil {
		nodeDone = n.Done()
	}
	select {
	case <-ctx.Done():
		log.Info("bridge stopping on signal")
		return 0
	case <-nodeDone:
		log.Error("embedded node stopped; bridge stopping")
		return 1
	}
}

// runSelfCheck implements `bridge mls-selfcheck`.
func runSelfCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bridge mls-selfcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	members := fs.Int("members", 5, "number of in-process MLS members (2..1000)")
	messages := fs.Int("messages", 3, "application messages each member sends (0..1000)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *members < 2 || *members > 1000 || *messages < 0 || *messages > 1000 {
		fmt.Fprintln(stderr, "bridge mls-selfcheck: -members must be in 2..1000 and -messages in 0..1000")
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := selfCheck(log, stdout, *members, *messages); err != nil {
		log.Error("mls self-check failed", "err", err)
		return 1
	}
	return 0
}
