package wire_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const regenerateHint = "run scripts/gen-proto and commit the result"

// TestGeneratedCodeIsFresh regenerates wire/ into a temporary folder with
// scripts/gen-proto (which installs protoc and the pinned plugins when they
// are missing) and requires the committed .pb.go files to equal the fresh
// ones byte for byte, apart from the header line naming the protoc version.
func TestGeneratedCodeIsFresh(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "gen-proto"), "--out", out)
	cmd.Dir = root
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/gen-proto --out %s: %v\n%s", out, err, output)
	}

	committed := generatedFiles(t, root)
	fresh := generatedFiles(t, out)
	if len(fresh) == 0 {
		t.Fatalf("scripts/gen-proto generated no .pb.go files under %s", out)
	}
	for _, f := range committed {
		if !slices.Contains(fresh, f) {
			t.Errorf("%s is committed but no longer generated; %s", f, regenerateHint)
		}
	}
	for _, f := range fresh {
		if !slices.Contains(committed, f) {
			t.Errorf("%s is generated but not committed; %s", f, regenerateHint)
			continue
		}
		got := readFile(t, filepath.Join(root, f))
		want := readFile(t, filepath.Join(out, f))
		if line, ok := firstDifference(withoutProtocVersion(got), withoutProtocVersion(want)); !ok {
			t.Errorf("%s is stale (first difference at line %d of the file without its protoc version line); %s",
				f, line, regenerateHint)
		}
	}
}

// generatedFiles lists the .pb.go files under dir/wire, relative to dir, in
// slash form.
func generatedFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(dir, "wire"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".pb.go") {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list generated files under %s: %v", dir, err)
	}
	slices.Sort(files)
	return files
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withoutProtocVersion drops the header line in which protoc-gen-go ("//
// \tprotoc        v3.21.12") or protoc-gen-go-grpc ("// - protoc   ...")
// names the protoc version, the one part of the output that depends on the
// machine's Debian release rather than on the pinned plugins.
func withoutProtocVersion(src []byte) []byte {
	var out []byte
	for line := range bytes.Lines(src) {
		if bytes.HasPrefix(line, []byte("// \tprotoc ")) || bytes.HasPrefix(line, []byte("// - protoc ")) {
			continue
		}
		out = append(out, line...)
	}
	return out
}

// firstDifference reports whether a and b are equal and, if not, the 1-based
// line where they first differ.
func firstDifference(a, b []byte) (int, bool) {
	if bytes.Equal(a, b) {
		return 0, true
	}
	al, bl := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(al), len(bl)) {
		if !bytes.Equal(al[i], bl[i]) {
			return i + 1, false
		}
	}
	return min(len(al), len(bl)) + 1, false
}

func TestWithoutProtocVersion(t *testing.T) {
	src := "// versions:\n// \tprotoc-gen-go v1.36.12\n// \tprotoc        v3.21.12\n" +
		"// - protoc-gen-go-grpc v1.5.1\n// - protoc             v3.21.12\npackage x\n"
	want := "// versions:\n// \tprotoc-gen-go v1.36.12\n// - protoc-gen-go-grpc v1.5.1\npackage x\n"
	if got := string(withoutProtocVersion([]byte(src))); got != want {
		t.Errorf("withoutProtocVersion:\ngot  %q\nwant %q", got, want)
	}
	if line, ok := firstDifference([]byte("a\nb\nc"), []byte("a\nx\nc")); ok || line != 2 {
		t.Errorf("firstDifference = %d, %v; want 2, false", line, ok)
	}
}
