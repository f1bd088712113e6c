// Command bridge is the one mlsbridge binary. Today its main job is a
// self-check of the MLS layer: it runs a small group of in-process members
// on cipher suite 3 (the XMTP suite) and shows that they agree on every
// epoch. Later issues add the embedded node, the bot runtime and the bridges.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
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
			args = args[1:]
		case "node":
			return runNode(context.Background(), args[1:], stderr, nil)
		default:
			if args[0] != "" && args[0][0] != '-' {
				fmt.Fprintf(stderr, "bridge: unknown command %q (commands: mls-selfcheck, node, version)\n", args[0])
				return 2
			}
		}
	}
	fs := flag.NewFlagSet("bridge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	members := fs.Int("members", 5, "number of in-process MLS members in the self-check (2..1000)")
	messages := fs.Int("messages", 3, "application messages each member sends")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *members < 2 || *members > 1000 || *messages < 0 || *messages > 1000 {
		fmt.Fprintln(stderr, "bridge: -members must be in 2..1000 and -messages in 0..1000")
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := selfCheck(log, stdout, *members, *messages); err != nil {
		log.Error("mls self-check failed", "err", err)
		return 1
	}
	return 0
}
