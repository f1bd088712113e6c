package client

// crashHook, when not nil, is called at every crash point with the point's
// name. Only tests set it (crash_test.go re-executes the test binary with
// a hook that ends the process at one chosen point), before any client is
// opened and never while one runs; production code leaves it nil, so a
// crash point costs one load and compare.
var crashHook func(point string)

// crashPoint marks a window in which a crash must lose and repeat nothing:
// between a side effect (a node RPC) and the local write that records it,
// or between changing MLS state in memory and storing it. The names are
// "area.what" (send., commit., sync., welcome., keypackage.); the crash
// tests name each point they cover.
func crashPoint(name string) {
	if h := crashHook; h != nil {
		h(name)
	}
}
