package mls

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// hexBytes decodes the lowercase hex strings of the MLS interop vectors.
type hexBytes []byte

func (h *hexBytes) UnmarshalText(text []byte) error {
	b, err := hex.DecodeString(string(text))
	if err != nil {
		return fmt.Errorf("hex: %w", err)
	}
	*h = b
	return nil
}

func (h hexBytes) String() string { return hex.EncodeToString(h) }

// vectorRunners maps each upstream vector file name to the function that
// runs all of its entries. Test files register their runner in init.
var vectorRunners = map[string]func(t *testing.T, path string){}

// requiredVectorFiles are the files ../shared/testdata/mls must hold; the
// other upstream files (messages.json, passive-client-random.json) run
// whenever they are present.
var requiredVectorFiles = []string{
	"deserialization.json", "tree-math.json", "crypto-basics.json",
	"secret-tree.json", "key-schedule.json", "psk_secret.json",
	"transcript-hashes.json", "message-protection.json", "welcome.json",
	"tree-validation.json", "tree-operations.json", "treekem.json",
	"passive-client-welcome.json", "passive-client-handling-commit.json",
}

var optionalVectorFiles = []string{"messages.json", "passive-client-random.json"}

func vectorDir() string {
	if d := os.Getenv("MLS_TEST_VECTORS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "shared", "testdata", "mls")
}

// TestVectors runs every upstream-named vector file present in
// MLS_TEST_VECTORS (default ../shared/testdata/mls), every entry, every suite.
func TestVectors(t *testing.T) {
	dir := vectorDir()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("vector directory %s: %v (set MLS_TEST_VECTORS)", dir, err)
	}
	names := append(append([]string{}, requiredVectorFiles...), optionalVectorFiles...)
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(dir, name)
		_, err := os.Stat(path)
		required := !strings.Contains(strings.Join(optionalVectorFiles, " "), name)
		if err != nil {
			if required && os.Getenv("MLS_TEST_VECTORS") == "" {
				t.Errorf("required vector file %s is missing: %v", path, err)
			} else {
				t.Logf("vector file %s not present", name)
			}
			continue
		}
		run, ok := vectorRunners[name]
		if !ok {
			t.Errorf("no runner for vector file %s", name)
			continue
		}
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) { run(t, path) })
	}
}

// loadVectors decodes the JSON array in path into a slice of T.
func loadVectors[T any](t *testing.T, path string) []T {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var out []T
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no entries", path)
	}
	return out
}

// suiteName names a subtest for one entry of one cipher suite.
func suiteName(suite uint16, i int) string { return fmt.Sprintf("suite%d/%d", suite, i) }
