package mls

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrDecode is wrapped by every error that reports malformed input bytes
// (RFC 9420 §2.1: TLS presentation language with variable-length vectors).
var ErrDecode = errors.New("mls: decode")

// maxVarint is the largest length that the variable-length header of
// RFC 9420 §2.1.2 can encode (30 bits).
const maxVarint = 1<<30 - 1

// Writer accumulates the TLS presentation-language encoding of values.
// Errors are sticky: after the first one every write is a no-op and Err
// reports it. The zero value is ready to use.
type Writer struct {
	buf []byte
	err error
}

// Bytes returns the encoding written so far.
func (w *Writer) Bytes() []byte { return w.buf }

// Err returns the first error met while writing, or nil.
func (w *Writer) Err() error { return w.err }

// Uint8 appends v.
func (w *Writer) Uint8(v uint8) { w.buf = append(w.buf, v) }

// Uint16 appends v big-endian.
func (w *Writer) Uint16(v uint16) { w.buf = binary.BigEndian.AppendUint16(w.buf, v) }

// Uint32 appends v big-endian.
func (w *Writer) Uint32(v uint32) { w.buf = binary.BigEndian.AppendUint32(w.buf, v) }

// Uint64 appends v big-endian.
func (w *Writer) Uint64(v uint64) { w.buf = binary.BigEndian.AppendUint64(w.buf, v) }

// Bool appends 1 for true and 0 for false.
func (w *Writer) Bool(v bool) {
	if v {
		w.Uint8(1)
	} else {
		w.Uint8(0)
	}
}

// Raw appends b with no length prefix (fixed-size fields).
func (w *Writer) Raw(b []byte) { w.buf = append(w.buf, b...) }

// Varint appends v in the shortest variable-length form of RFC 9420 §2.1.2.
func (w *Writer) Varint(v uint64) {
	switch {
	case v <= 0x3f:
		w.buf = append(w.buf, byte(v))
	case v <= 0x3fff:
		w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(v)|0x4000)
	case v <= maxVarint:
		w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(v)|0x80000000)
	default:
		if w.err == nil {
			w.err = fmt.Errorf("mls: encode: length %d exceeds 2^30-1", v)
		}
	}
}

// Opaque appends b as a variable-length vector: opaque data<V>.
func (w *Writer) Opaque(b []byte) {
	w.Varint(uint64(len(b)))
	w.Raw(b)
}

// Vector appends whatever f writes as a variable-length vector, with its
// byte length as the prefix. f writes straight into w; the prefix is then
// inserted in front, so nested vectors do not allocate.
func (w *Writer) Vector(f func(w *Writer)) {
	start := len(w.buf)
	f(w)
	n := len(w.buf) - start
	if n > maxVarint {
		if w.err == nil {
			w.err = fmt.Errorf("mls: encode: length %d exceeds 2^30-1", n)
		}
		return
	}
	var hdr Writer
	hdr.buf = make([]byte, 0, 4)
	hdr.Varint(uint64(n))
	h := len(hdr.buf)
	w.buf = append(w.buf, hdr.buf...) // grow by the header length
	copy(w.buf[start+h:], w.buf[start:start+n])
	copy(w.buf[start:], hdr.buf)
}

// Optional appends optional<T>: a presence byte, then what f writes when
// present is true.
func (w *Writer) Optional(present bool, f func(w *Writer)) {
	w.Bool(present)
	if present {
		f(w)
	}
}

// Reader decodes the TLS presentation language strictly. Errors are sticky:
// after the first one every read returns a zero value and Err reports it.
// A Reader never panics, whatever the input.
type Reader struct {
	buf []byte
	err error
}

// NewReader returns a Reader over b. The Reader does not modify b; values it
// returns are copies.
func NewReader(b []byte) *Reader { return &Reader{buf: b} }

// Err returns the first decoding error, or nil.
func (r *Reader) Err() error { return r.err }

// Fail records err (wrapped in ErrDecode) unless an error is already set.
// Decoders call it for out-of-range values.
func (r *Reader) Fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrDecode, fmt.Sprintf(format, args...))
	}
	r.buf = nil
}

// Empty reports whether every byte has been consumed (or an error was met).
func (r *Reader) Empty() bool { return len(r.buf) == 0 }

// Len returns the number of unread bytes.
func (r *Reader) Len() int { return len(r.buf) }

// Finish returns the sticky error, or an error if unread bytes remain.
func (r *Reader) Finish() error {
	if r.err != nil {
		return r.err
	}
	if len(r.buf) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrDecode, len(r.buf))
	}
	return nil
}

func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.buf) {
		r.Fail("need %d bytes, have %d", n, len(r.buf))
		return nil
	}
	b := r.buf[:n:n]
	r.buf = r.buf[n:]
	return b
}

// Uint8 reads one byte.
func (r *Reader) Uint8() uint8 {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// Uint16 reads a big-endian uint16.
func (r *Reader) Uint16() uint16 {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

// Uint32 reads a big-endian uint32.
func (r *Reader) Uint32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

// Uint64 reads a big-endian uint64.
func (r *Reader) Uint64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// Bool reads a boolean; any byte other than 0 or 1 is an error.
func (r *Reader) Bool() bool {
	v := r.Uint8()
	if v > 1 {
		r.Fail("boolean value %d", v)
		return false
	}
	return v == 1
}

// Raw reads exactly n bytes and returns a copy.
func (r *Reader) Raw(n int) []byte {
	b := r.take(n)
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// Varint reads a variable-length integer (RFC 9420 §2.1.2). The 0b11 prefix
// and encodings that are not the shortest form are errors.
func (r *Reader) Varint() uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.buf) == 0 {
		r.Fail("missing variable-length header")
		return 0
	}
	var v uint64
	switch r.buf[0] >> 6 {
	case 0:
		v = uint64(r.Uint8())
	case 1:
		v = uint64(r.Uint16() & 0x3fff)
		if v <= 0x3f && r.err == nil {
			r.Fail("non-minimal variable-length integer %d", v)
			return 0
		}
	case 2:
		v = uint64(r.Uint32() & 0x3fffffff)
		if v <= 0x3fff && r.err == nil {
			r.Fail("non-minimal variable-length integer %d", v)
			return 0
		}
	default:
		r.Fail("invalid variable-length integer prefix 0b11")
		return 0
	}
	return v
}

// Opaque reads opaque data<V> and returns a copy of its contents. An empty
// vector decodes to nil; callers that must tell an error apart check Err.
func (r *Reader) Opaque() []byte {
	n := r.Varint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.buf)) {
		r.Fail("vector length %d exceeds remaining %d bytes", n, len(r.buf))
		return nil
	}
	return r.Raw(int(n))
}

// Vector reads a variable-length vector and calls f with a Reader limited to
// its contents. f usually loops until the sub-reader is Empty. Bytes f leaves
// unread, and errors f records, become errors of r.
func (r *Reader) Vector(f func(r *Reader)) {
	n := r.Varint()
	if r.err != nil {
		return
	}
	if n > uint64(len(r.buf)) {
		r.Fail("vector length %d exceeds remaining %d bytes", n, len(r.buf))
		return
	}
	sub := Reader{buf: r.take(int(n))}
	f(&sub)
	if err := sub.Finish(); err != nil {
		if r.err == nil {
			r.err = err
		}
		r.buf = nil
	}
}

// Optional reads the presence byte of optional<T>; the caller then decodes
// the value when it returns true.
func (r *Reader) Optional() bool {
	v := r.Uint8()
	if v > 1 {
		r.Fail("optional presence byte %d", v)
		return false
	}
	return v == 1
}

// marshaler is implemented by every wire struct of this package.
type marshaler interface{ marshal(w *Writer) }

// unmarshaler is implemented by every wire struct of this package.
type unmarshaler interface{ unmarshal(r *Reader) }

// encode returns the encoding of v, or the first encoding error.
func encode(v marshaler) ([]byte, error) {
	var w Writer
	v.marshal(&w)
	if w.err != nil {
		return nil, w.err
	}
	return w.buf, nil
}

// decode fills v from b, which must hold exactly one encoding of it.
func decode(b []byte, v unmarshaler) error {
	r := NewReader(b)
	v.unmarshal(r)
	return r.Finish()
}
