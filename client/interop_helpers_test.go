package client

import (
	"testing"

	"mlsbridge/internal/interoptest"
)

// startInteropEnv starts what interop tests share: a node on loopback and
// one libxmtp-peer process.
func startInteropEnv(t *testing.T) *interopEnv {
	t.Helper()
	dir := interoptest.Dir(t)
	env := &interopEnv{node: startTestNode(t)}
	env.peer = interoptest.StartPeer(t, dir)
	return env
}

// interopScenario is one named subtest of runInterop.
type interopScenario struct {
	name string
	run  func(*testing.T, *interopEnv)
}

// runInterop runs the scenarios, in order, as subtests on one node and
// one libxmtp process (starting either costs time; scenarios use distinct
// clients, so they do not interfere).
func runInterop(t *testing.T, scenarios []interopScenario) {
	t.Helper()
	env := startInteropEnv(t)
	for _, tc := range scenarios {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, env) })
	}
}
