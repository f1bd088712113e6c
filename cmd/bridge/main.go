// Command bridge is the one mlsbridge binary. Today it exercises the MLS
// layer; later issues add the embedded node, the bot runtime and the bridges.
package main

import (
	"fmt"
	"io"
	"os"
)

const version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "version" || args[0] == "--version") {
		fmt.Fprintf(stdout, "bridge %s\n", version)
		return 0
	}
	if len(args) > 0 {
		fmt.Fprintf(stderr, "bridge: unknown command %q\n", args[0])
		return 2
	}
	fmt.Fprintf(stdout, "bridge %s: the MLS layer is under construction; nothing to run yet\n", version)
	return 0
}
