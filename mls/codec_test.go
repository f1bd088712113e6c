package mls

import (
	"bytes"
	"errors"
	"testing"
)

func init() { vectorRunners["deserialization.json"] = runDeserializationVectors }

func runDeserializationVectors(t *testing.T, path string) {
	type entry struct {
		Header hexBytes `json:"vlbytes_header"`
		Length uint64   `json:"length"`
	}
	for i, e := range loadVectors[entry](t, path) {
		r := NewReader(e.Header)
		got := r.Varint()
		if err := r.Finish(); err != nil {
			t.Errorf("entry %d: decode %x: %v", i, []byte(e.Header), err)
			continue
		}
		if got != e.Length {
			t.Errorf("entry %d: length = %d, want %d", i, got, e.Length)
		}
		var w Writer
		w.Varint(e.Length)
		if !bytes.Equal(w.Bytes(), e.Header) {
			t.Errorf("entry %d: encode %d = %x, want %x", i, e.Length, w.Bytes(), []byte(e.Header))
		}
	}
}

func TestVarintRejects(t *testing.T) {
	cases := map[string][]byte{
		"prefix 0b11":          {0xc0, 0, 0, 0, 0, 0, 0, 1},
		"non-minimal 2 bytes":  {0x40, 0x25},
		"non-minimal 4 bytes":  {0x80, 0x00, 0x3f, 0xff},
		"truncated 2 bytes":    {0x40},
		"truncated 4 bytes":    {0x80, 0, 1},
		"empty":                {},
		"vector past the end":  {0x05, 1, 2},
		"trailing after value": {0x01, 0xaa, 0xbb},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			r := NewReader(in)
			r.Opaque()
			if err := r.Finish(); !errors.Is(err, ErrDecode) {
				t.Fatalf("Finish() = %v, want ErrDecode", err)
			}
		})
	}
}

func TestWriterRejectsOverlongVector(t *testing.T) {
	var w Writer
	w.Varint(1 << 30)
	if w.Err() == nil {
		t.Fatal("Varint(2^30) succeeded, want error")
	}
}

func TestReaderStrictValues(t *testing.T) {
	r := NewReader([]byte{2})
	r.Bool()
	if r.Err() == nil {
		t.Error("Bool(2) succeeded")
	}
	r = NewReader([]byte{7})
	r.Optional()
	if r.Err() == nil {
		t.Error("Optional(7) succeeded")
	}
	r = NewReader([]byte{0x03, 1, 2, 3, 4})
	r.Vector(func(r *Reader) { r.Uint8() })
	if r.Err() == nil {
		t.Error("Vector with unread bytes succeeded")
	}
}

func FuzzVarint(f *testing.F) {
	for _, s := range [][]byte{{0}, {0x3f}, {0x40, 0x40}, {0x80, 0, 0x40, 0}, {0xc0}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(in)
		v := r.Varint()
		if r.Err() != nil {
			return
		}
		var w Writer
		w.Varint(v)
		if !bytes.Equal(w.Bytes(), in[:len(in)-r.Len()]) {
			t.Fatalf("re-encode %d = %x, input %x", v, w.Bytes(), in)
		}
	})
}
