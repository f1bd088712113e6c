package policy

import (
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"mlsbridge/wire/content"
)

// FuzzUnmarshal checks that Unmarshal never panics, that whatever it
// accepts encodes, and that decode → encode → decode is stable: the second
// decode equals the first and re-encodes to the same bytes. Accepted bytes
// also decode with the generated wire types to the same set once
// re-encoded. Seeds are the presets and the prost corpus.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []PolicySet{Default(), AdminsOnly(), DM(), custom()} {
		b, err := Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	corpus, err := os.ReadFile(prostCorpus)
	if err != nil {
		f.Fatalf("read %s: %v", prostCorpus, err)
	}
	for line := range strings.Lines(string(corpus)) {
		in, _, _ := strings.Cut(line, " ")
		b, err := hex.DecodeString(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Unmarshal(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Unmarshal error %v is not a *DecodeError", err)
			}
			return
		}
		enc, err := Marshal(s)
		if err != nil {
			t.Fatalf("Marshal(Unmarshal(%x)) = %v", b, err)
		}
		s2, err := Unmarshal(enc)
		if err != nil {
			t.Fatalf("Unmarshal(%x) = %v", enc, err)
		}
		if !s2.Equal(s) {
			t.Fatalf("decode→encode→decode changed the set:\n%+v\n%+v", s, s2)
		}
		enc2, err := Marshal(s2)
		if err != nil || string(enc2) != string(enc) {
			t.Fatalf("re-encoding is not stable: %x vs %x (%v)", enc, enc2, err)
		}
		var msg content.GroupMutablePermissionsV1
		if err := proto.Unmarshal(enc, &msg); err != nil {
			t.Fatalf("wire types reject our encoding %x: %v", enc, err)
		}
		if w := fromWire(t, &msg); !w.Equal(s) {
			t.Fatalf("wire types read %x as %+v, want %+v", enc, w, s)
		}
	})
}
