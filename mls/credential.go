package mls

import "fmt"

// CredentialType is an MLS credential type code point (RFC 9420 §5.3,
// §17.5). Values other than the constants below may appear in capability
// lists; a Credential of an unknown type cannot be decoded.
type CredentialType uint16

// Credential types of the IANA "MLS Credential Types" registry.
const (
	CredentialTypeBasic CredentialType = 0x0001
	CredentialTypeX509  CredentialType = 0x0002
)

// Credential binds an identity to a member's signature key (RFC 9420 §5.3).
// Identity is set for CredentialTypeBasic and Certificates (DER, leaf
// first) for CredentialTypeX509; the other field is ignored. Whether the
// identity is acceptable is for the application to decide (§5.3.1).
type Credential struct {
	Type         CredentialType
	Identity     []byte
	Certificates [][]byte
}

// NewBasicCredential returns a basic credential carrying identity.
func NewBasicCredential(identity []byte) Credential {
	return Credential{Type: CredentialTypeBasic, Identity: identity}
}

func (c *Credential) marshal(w *Writer) {
	w.Uint16(uint16(c.Type))
	switch c.Type {
	case CredentialTypeBasic:
		w.Opaque(c.Identity)
	case CredentialTypeX509:
		w.Vector(func(w *Writer) {
			for _, cert := range c.Certificates {
				w.Opaque(cert)
			}
		})
	default:
		failEncode(w, "credential of unknown type 0x%04x", uint16(c.Type))
	}
}

func (c *Credential) unmarshal(r *Reader) {
	c.Type = CredentialType(r.Uint16())
	c.Identity, c.Certificates = nil, nil
	switch c.Type {
	case CredentialTypeBasic:
		c.Identity = r.Opaque()
	case CredentialTypeX509:
		c.Certificates = [][]byte{}
		r.Vector(func(r *Reader) {
			for !r.Empty() {
				c.Certificates = append(c.Certificates, r.Opaque())
			}
		})
	default:
		// The body of an unknown credential type has no length prefix, so
		// nothing after it could be delimited.
		r.Fail("unknown credential type 0x%04x", uint16(c.Type))
	}
}

// failEncode records a value that has no encoding, such as a union with an
// unknown tag (API misuse by the caller, never bad input), unless w already
// holds an error.
func failEncode(w *Writer, format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf("mls: encode: "+format, args...)
	}
}
