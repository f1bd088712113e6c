// Package prost decodes protobuf bytes with the rules of prost, the Rust
// protobuf library libxmtp decodes its group state with, so that a Go
// member accepts exactly the bytes a libxmtp member accepts. A commit one
// member decodes and another rejects forks the group, so decoders of
// remote group state, and of the credentials that name a leaf's inbox,
// build on this package instead of proto.Unmarshal.
//
// Where prost and Go's protobuf differ:
//   - a known field with the wrong wire type is an error (Go keeps it as an
//     unknown field), except a map field, whose entry is read as
//     length-delimited whatever its key says;
//   - a message may nest at most [RecursionLimit] levels (Go allows 10000);
//   - a key above 2³²-1 is an error.
//
// Both skip unknown fields, let the last value of a repeated scalar win,
// merge a repeated singular message, replace a map entry with the same key,
// and reject strings that are not UTF-8.
//
// The package only reads: callers hand each field, once its key is read,
// to a [FieldFunc] of their own message type. It is pure (no I/O, no
// logging) and never panics on any input. Failures are *[Error]s.
//
// Unlike its siblings under wire/ it is written by hand, not generated.
// It lives here, at the bottom of the layers with the wire types, so that
// every decoder of remote bytes can use it: identity (MlsCredential, see
// [mlsbridge/identity.ParseCredentialIdentity]), policy (the permissions
// extension) and client (the other group context extensions). It imports
// nothing of this module and only protowire of protobuf (STYLE.md §1).
package prost

import (
	"fmt"
	"math"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// RecursionLimit is prost's RECURSION_LIMIT: messages (and unknown groups)
// nested deeper than this are refused.
const RecursionLimit = 100

// Error is bytes prost would refuse to decode. Reason follows prost's
// DecodeError texts where prost has one ("invalid varint", "buffer
// underflow", "invalid string value: data is not UTF-8 encoded", …).
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "prost: " + e.Reason }

// Errorf returns an *Error; FieldFuncs use it for their own failures.
func Errorf(format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// FieldFunc merges one field whose key (num, typ) is already read: b holds
// the rest of the enclosing message body, starting with the field's value.
// It returns how many bytes of b the value took. depth is the recursion
// budget left (pass it on to [Message], [MapEntry] and [Skip]).
type FieldFunc func(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error)

// Decode decodes b as a top-level message, as prost's Message::decode does,
// calling f for each field in order.
func Decode(b []byte, f FieldFunc) error {
	return Fields(b, RecursionLimit, f)
}

// Fields runs f over every field of a message body.
func Fields(b []byte, depth int, f FieldFunc) error {
	for len(b) > 0 {
		num, typ, n, err := key(b)
		if err != nil {
			return err
		}
		b = b[n:]
		m, err := f(num, typ, b, depth)
		if err != nil {
			return err
		}
		if m > len(b) {
			return Errorf("buffer underflow")
		}
		b = b[m:]
	}
	return nil
}

// key reads a field key as prost's decode_key does.
func key(b []byte) (protowire.Number, protowire.Type, int, error) {
	v, n := protowire.ConsumeVarint(b)
	if n < 0 {
		return 0, 0, 0, Errorf("invalid varint")
	}
	if v > math.MaxUint32 {
		return 0, 0, 0, Errorf("invalid key value: %d", v)
	}
	typ := protowire.Type(v & 7)
	if typ > protowire.Fixed32Type {
		return 0, 0, 0, Errorf("invalid wire type value: %d", typ)
	}
	num := protowire.Number(uint32(v) >> 3)
	if num < 1 {
		return 0, 0, 0, Errorf("invalid tag value: 0")
	}
	return num, typ, n, nil
}

// length reads a length prefix and checks that the bytes are there.
func length(b []byte) (body []byte, n int, err error) {
	l, m := protowire.ConsumeVarint(b)
	if m < 0 {
		return nil, 0, Errorf("invalid varint")
	}
	if l > uint64(len(b)-m) {
		return nil, 0, Errorf("buffer underflow")
	}
	return b[m : m+int(l)], m + int(l), nil
}

func wantType(typ, want protowire.Type) error {
	if typ == want {
		return nil
	}
	return Errorf("invalid wire type: %d (expected %s)", typ, typeName(want))
}

func typeName(t protowire.Type) string {
	switch t {
	case protowire.VarintType:
		return "varint"
	case protowire.BytesType:
		return "length-delimited"
	}
	return fmt.Sprint(int(t))
}

// Message is prost's message::merge for a singular or repeated message
// field: the value must be length-delimited, and its body is decoded with
// one less level of budget, each field going to f (which merges into the
// message the caller chose: the existing one for a singular field, a new
// one for a repeated field).
func Message(typ protowire.Type, b []byte, depth int, f FieldFunc) (int, error) {
	if err := wantType(typ, protowire.BytesType); err != nil {
		return 0, err
	}
	if depth == 0 {
		return 0, Errorf("recursion limit reached")
	}
	body, n, err := length(b)
	if err != nil {
		return 0, err
	}
	return n, Fields(body, depth-1, f)
}

// MapEntry is prost's map merge for one entry of a map field. Like prost
// it does not look at the field's wire type: a length-delimited entry
// follows whatever the key said. Field 1 of the entry goes to keyField,
// field 2 to valueField, others are skipped; the caller stores the entry (replacing one
// with the same key) after MapEntry returns, with its defaults for a
// missing key or value.
func MapEntry(b []byte, depth int, keyField, valueField FieldFunc) (int, error) {
	if depth == 0 {
		return 0, Errorf("recursion limit reached")
	}
	body, n, err := length(b)
	if err != nil {
		return 0, err
	}
	err = Fields(body, depth-1, func(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
		switch num {
		case 1:
			return keyField(num, typ, b, depth)
		case 2:
			return valueField(num, typ, b, depth)
		}
		return Skip(num, typ, b, depth)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Skip is prost's skip_field, for a field the message does not declare.
func Skip(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
	if depth == 0 {
		return 0, Errorf("recursion limit reached")
	}
	switch typ {
	case protowire.VarintType:
		_, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return 0, Errorf("invalid varint")
		}
		return n, nil
	case protowire.Fixed64Type, protowire.Fixed32Type:
		size := 8
		if typ == protowire.Fixed32Type {
			size = 4
		}
		if len(b) < size {
			return 0, Errorf("buffer underflow")
		}
		return size, nil
	case protowire.BytesType:
		_, n, err := length(b)
		return n, err
	case protowire.StartGroupType:
		total := 0
		for {
			inner, innerTyp, n, err := key(b[total:])
			if err != nil {
				return 0, err
			}
			total += n
			if innerTyp == protowire.EndGroupType {
				if inner != num {
					return 0, Errorf("unexpected end group tag")
				}
				return total, nil
			}
			m, err := Skip(inner, innerTyp, b[total:], depth-1)
			if err != nil {
				return 0, err
			}
			total += m
		}
	}
	return 0, Errorf("unexpected end group tag")
}

// Bytes reads a bytes field (prost's bytes::merge): length-delimited, and
// the value replaces any earlier one. The result aliases b.
func Bytes(typ protowire.Type, b []byte) ([]byte, int, error) {
	if err := wantType(typ, protowire.BytesType); err != nil {
		return nil, 0, err
	}
	return length(b)
}

// String reads a string field (prost's string::merge): a bytes field that
// must be UTF-8.
func String(typ protowire.Type, b []byte) (string, int, error) {
	v, n, err := Bytes(typ, b)
	if err != nil {
		return "", 0, err
	}
	if !utf8.Valid(v) {
		return "", 0, Errorf("invalid string value: data is not UTF-8 encoded")
	}
	return string(v), n, nil
}

// Uint64 reads a uint64 field: a varint.
func Uint64(typ protowire.Type, b []byte) (uint64, int, error) {
	if err := wantType(typ, protowire.VarintType); err != nil {
		return 0, 0, err
	}
	v, n := protowire.ConsumeVarint(b)
	if n < 0 {
		return 0, 0, Errorf("invalid varint")
	}
	return v, n, nil
}

// Int32 reads an int32 or enum field: a varint truncated to 32 bits, as
// prost does.
func Int32(typ protowire.Type, b []byte) (int32, int, error) {
	v, n, err := Uint64(typ, b)
	return int32(v), n, err
}
