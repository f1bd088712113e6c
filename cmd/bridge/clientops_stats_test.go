package main

import (
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// TestClientAPIStats checks that apiStats counts the RPCs the Go client
// makes, under libxmtp's names.
func TestClientAPIStats(t *testing.T) {
	host := startTestNode(t)
	dir := t.TempDir()
	bc := startBridgeClient(t)
	defer bc.close(t)

	count := func(res map[string]any, section, name string) int {
		t.Helper()
		m, ok := res[section].(map[string]any)
		if !ok {
			t.Fatalf("apiStats: no %s section in %v", section, res)
		}
		s, ok := m[name].(string)
		if !ok {
			t.Fatalf("apiStats %s.%s = %v, want a decimal string", section, name, m[name])
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("apiStats %s.%s = %q: %v", section, name, s, err)
		}
		return n
	}
	bc.call(t, map[string]any{"op": "create", "client": "a", "db": filepath.Join(dir, "a.db"), "host": host, "register": true})
	bob := bc.call(t, map[string]any{"op": "create", "client": "b", "db": filepath.Join(dir, "b.db"), "host": host, "register": true})
	before := bc.call(t, map[string]any{"op": "apiStats", "client": "a"})
	var keys []string
	for k := range before["mls"].(map[string]any) {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"fetchKeyPackage", "queryGroupMessages", "queryWelcomeMessages", "sendGroupMessages",
		"sendWelcomeMessages", "subscribeMessages", "subscribeWelcomes", "uploadKeyPackage"}
	if !slices.Equal(keys, want) {
		t.Errorf("mls keys = %v, want libxmtp's %v", keys, want)
	}
	if count(before, "mls", "uploadKeyPackage") < 1 || count(before, "identity", "publishIdentityUpdate") < 1 {
		t.Errorf("after register: %v", before)
	}
	g := bc.call(t, map[string]any{"op": "newGroup", "client": "a", "members": []any{bob["inboxId"]}})
	bc.call(t, map[string]any{"op": "send", "client": "a", "group": g["group"], "text": "hi"})
	after := bc.call(t, map[string]any{"op": "apiStats", "client": "a"})
	for _, name := range []string{"fetchKeyPackage", "sendWelcomeMessages", "sendGroupMessages", "queryGroupMessages"} {
		if count(after, "mls", name) <= count(before, "mls", name) {
			t.Errorf("%s did not grow: before %v, after %v", name, before["mls"], after["mls"])
		}
	}
	if count(after, "identity", "getIdentityUpdatesV2") <= count(before, "identity", "getIdentityUpdatesV2") {
		t.Errorf("getIdentityUpdatesV2 did not grow: %v -> %v", before["identity"], after["identity"])
	}
	if n := count(after, "identity", "verifySmartContractWalletSignature"); n != 0 {
		t.Errorf("verifySmartContractWalletSignature = %d, want 0", n)
	}
}
