package mlsbridge_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// layer says which of this module's packages, and which third-party or
// standard-library import paths, the non-test code of a package may import
// directly (STYLE.md §1). Prefixes match a path and everything under it.
type layer struct {
	ours       []string // module-relative package prefixes
	thirdParty []string // import-path prefixes outside the standard library
	bannedStd  []string // standard-library prefixes the package must not use
}

const module = "mlsbridge"

var noLogging = []string{"log", "log/slog"}

// layers is STYLE.md §1's table. A package not listed here, under a listed
// prefix, inherits the longest matching entry.
var layers = map[string]layer{
	"mls":              {thirdParty: []string{"golang.org/x/crypto", "github.com/cloudflare/circl"}, bannedStd: append([]string{"context", "net", "os", "database"}, noLogging...)},
	"wire":             {thirdParty: []string{"google.golang.org/protobuf", "google.golang.org/grpc"}, bannedStd: noLogging},
	"identity":         {ours: []string{"wire"}, thirdParty: []string{"golang.org/x/crypto", "github.com/decred/dcrd/dcrec/secp256k1", "google.golang.org/protobuf"}, bannedStd: noLogging},
	"policy":           {ours: []string{"identity", "wire"}, thirdParty: []string{"google.golang.org/protobuf"}, bannedStd: append([]string{"context", "net", "os", "time", "database"}, noLogging...)},
	"storage":          {ours: []string{"mls", "wire", "identity", "policy"}, thirdParty: []string{"gorm.io", "github.com/jackc", "github.com/mattn/go-sqlite3", "github.com/glebarez"}},
	"node":             {ours: []string{"mls", "wire", "identity", "storage"}, thirdParty: []string{"google.golang.org/protobuf", "google.golang.org/grpc"}},
	"client":           {ours: []string{"mls", "wire", "identity", "policy", "storage"}, thirdParty: []string{"google.golang.org/protobuf", "google.golang.org/grpc", "github.com/robfig/cron/v3", "golang.org/x/crypto", "github.com/decred/dcrd/dcrec/secp256k1"}},
	"commands":         {ours: []string{"policy"}},
	"plugins":          {ours: []string{"commands", "policy", "client", "plugins"}},
	"bot":              {ours: []string{"client", "commands", "plugins", "storage", "policy", "identity"}, thirdParty: []string{"github.com/robfig/cron/v3"}},
	"groupsync":        {ours: []string{"bot", "client", "policy", "storage", "identity"}},
	"groupsync/matrix": {ours: []string{"groupsync"}, thirdParty: []string{"maunium.net/go/mautrix", "github.com/rs/zerolog"}},
	"groupsync/slack":  {ours: []string{"groupsync"}, thirdParty: []string{"github.com/slack-go/slack"}},
	"cmd":              {ours: []string{""}, thirdParty: []string{""}},
	// prost's decoding rules, hand-written, under wire/ so that identity
	// (credentials), policy and client can all decode as libxmtp does.
	"wire/prost": {thirdParty: []string{"google.golang.org/protobuf/encoding/protowire"}, bannedStd: noLogging},
	// Test support (driving the libxmtp peer): standard library only, and
	// imported only from _test.go files (see testOnly).
	"internal/interoptest": {thirdParty: nil},
}

// testOnly lists this module's packages that only _test.go files may
// import: no other package's non-test code may import them.
var testOnly = []string{"internal/interoptest"}

func hasPrefix(path, prefix string) bool {
	return prefix == "" || path == prefix || strings.HasPrefix(path, prefix+"/")
}

// layerOf returns the table entry with the longest prefix matching rel.
func layerOf(rel string) (string, layer, bool) {
	best := ""
	found := false
	for p := range layers {
		if hasPrefix(rel, p) && (!found || len(p) > len(best)) {
			best, found = p, true
		}
	}
	return best, layers[best], found
}

type listedPackage struct {
	ImportPath string
	Imports    []string
	Standard   bool
}

func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".") && first != module
}

// TestImportDirection enforces STYLE.md §1: each package imports only the
// packages of this module listed above it, and only its listed third-party
// libraries.
func TestImportDirection(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if rel == "" {
			continue // this test's own package
		}
		name, l, ok := layerOf(rel)
		if !ok {
			t.Errorf("package %s is not in STYLE.md §1's table; add it to layers", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			if msg := checkImport(name, l, imp); msg != "" {
				t.Errorf("%s imports %s: %s", p.ImportPath, imp, msg)
			}
		}
	}
}

func checkImport(name string, l layer, imp string) string {
	switch {
	case hasPrefix(imp, module):
		target := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
		for _, o := range testOnly {
			if hasPrefix(target, o) && !hasPrefix(name, o) {
				return "test support; import it only from _test.go files"
			}
		}
		if tname, _, _ := layerOf(target); tname == name && name != "cmd" {
			return "" // within the same layer (its own subtree, internal packages)
		}
		for _, o := range l.ours {
			if hasPrefix(target, o) {
				return ""
			}
		}
		return "not allowed by STYLE.md §1 for " + name
	case isStd(imp):
		for _, b := range l.bannedStd {
			if hasPrefix(imp, b) {
				return "standard package banned in " + name
			}
		}
		return ""
	default:
		for _, o := range l.thirdParty {
			if hasPrefix(imp, o) {
				return ""
			}
		}
		return "third-party import not allowed for " + name
	}
}

// TestLayerRules checks the checker itself on imports that must be refused.
func TestLayerRules(t *testing.T) {
	refused := []struct{ pkg, imp string }{
		{"mls", "mlsbridge/wire"},
		{"mls", "log/slog"},
		{"mls", "context"},
		{"mls", "google.golang.org/protobuf/proto"},
		{"policy", "mlsbridge/storage"},
		{"policy", "time"},
		{"wire", "mlsbridge/identity"},
		{"groupsync", "mlsbridge/groupsync/matrix"},
		{"groupsync", "maunium.net/go/mautrix"},
		{"client", "mlsbridge/node"},
		{"node", "mlsbridge/client"},
		{"commands", "mlsbridge/client"},
		{"cmd/bridge", "mlsbridge/internal/interoptest"},
		{"node", "mlsbridge/internal/interoptest"},
		{"client", "mlsbridge/internal/interoptest"},
		{"internal/interoptest", "mlsbridge/node"},
		{"internal/interoptest", "google.golang.org/grpc"},
		{"wire/prost", "google.golang.org/grpc"},
		{"wire/prost", "mlsbridge/wire/content"},
	}
	for _, c := range refused {
		name, l, _ := layerOf(c.pkg)
		if checkImport(name, l, c.imp) == "" {
			t.Errorf("%s importing %s was allowed", c.pkg, c.imp)
		}
	}
	allowed := []struct{ pkg, imp string }{
		{"mls", "github.com/cloudflare/circl/hpke"},
		{"mls/internal/x", "mlsbridge/mls"},
		{"client", "mlsbridge/mls"},
		{"groupsync/matrix", "mlsbridge/groupsync"},
		{"cmd/bridge", "mlsbridge/node"},
		{"internal/interoptest", "os/exec"},
		{"identity", "mlsbridge/wire/prost"},
		{"policy", "mlsbridge/wire/prost"},
		{"wire/prost", "google.golang.org/protobuf/encoding/protowire"},
	}
	for _, c := range allowed {
		name, l, _ := layerOf(c.pkg)
		if msg := checkImport(name, l, c.imp); msg != "" {
			t.Errorf("%s importing %s was refused: %s", c.pkg, c.imp, msg)
		}
	}
}
