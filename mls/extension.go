package mls

import (
	"fmt"
	"slices"
)

// ExtensionType is an MLS extension code point (RFC 9420 §17.3).
type ExtensionType uint16

// Extension types of the IANA "MLS Extension Types" registry.
const (
	ExtensionTypeApplicationID        ExtensionType = 0x0001
	ExtensionTypeRatchetTree          ExtensionType = 0x0002
	ExtensionTypeRequiredCapabilities ExtensionType = 0x0003
	ExtensionTypeExternalPub          ExtensionType = 0x0004
	ExtensionTypeExternalSenders      ExtensionType = 0x0005
	// ExtensionTypeLastResort marks a KeyPackage that may be used more
	// than once. It is not defined by RFC 9420 itself but registered in the
	// same IANA registry by draft-ietf-mls-extensions (0x000A), so it is a
	// non-default type that capabilities must list.
	ExtensionTypeLastResort ExtensionType = 0x000a
)

// Extension is one entry of an extensions list (RFC 9420 §13). Data is the
// extension's encoded body; typed helpers decode the ones this package knows.
type Extension struct {
	Type ExtensionType
	Data []byte
}

func (e *Extension) marshal(w *Writer) {
	w.Uint16(uint16(e.Type))
	w.Opaque(e.Data)
}

func (e *Extension) unmarshal(r *Reader) {
	e.Type = ExtensionType(r.Uint16())
	e.Data = r.Opaque()
}

// marshalExtensions writes extensions as Extension extensions<V>.
func marshalExtensions(w *Writer, exts []Extension) {
	w.Vector(func(w *Writer) {
		for i := range exts {
			exts[i].marshal(w)
		}
	})
}

// unmarshalExtensions reads Extension extensions<V>. A type that appears
// twice is a decode error (RFC 9420 §13.4 forbids duplicates). It runs in
// linear time, however many extensions the input holds.
func unmarshalExtensions(r *Reader) []Extension {
	exts := []Extension{}
	var seen map[ExtensionType]bool
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			var e Extension
			e.unmarshal(r)
			if seen == nil && len(exts) >= 8 {
				seen = make(map[ExtensionType]bool, 2*len(exts))
				for _, prev := range exts {
					seen[prev.Type] = true
				}
			}
			dup := seen[e.Type]
			if seen == nil {
				dup = slices.ContainsFunc(exts, func(p Extension) bool { return p.Type == e.Type })
			} else {
				seen[e.Type] = true
			}
			if dup && r.Err() == nil {
				r.Fail("duplicate extension type 0x%04x", uint16(e.Type))
			}
			exts = append(exts, e)
		}
	})
	return exts
}

// findExtension returns the data of the first extension of type t.
func findExtension(exts []Extension, t ExtensionType) ([]byte, bool) {
	for _, e := range exts {
		if e.Type == t {
			return e.Data, true
		}
	}
	return nil, false
}

// parseExtensionBody decodes data, an extension body of type t, into v
// strictly: malformed or trailing bytes are an error wrapping ErrDecode.
func parseExtensionBody(t ExtensionType, data []byte, v unmarshaler) error {
	if err := decode(data, v); err != nil {
		return fmt.Errorf("%w (extension 0x%04x)", err, uint16(t))
	}
	return nil
}

// applicationID is the body of the application_id extension (RFC 9420
// §13.1).
type applicationID struct{ id []byte }

func (a *applicationID) marshal(w *Writer)   { w.Opaque(a.id) }
func (a *applicationID) unmarshal(r *Reader) { a.id = r.Opaque() }

// ApplicationIDExtension returns an application_id extension carrying id,
// an application-defined identifier of the member (RFC 9420 §13.1).
func ApplicationIDExtension(id []byte) Extension {
	return mustExtension(ExtensionTypeApplicationID, &applicationID{id: id})
}

// ParseApplicationID decodes the body of an application_id extension.
func ParseApplicationID(data []byte) ([]byte, error) {
	var a applicationID
	if err := parseExtensionBody(ExtensionTypeApplicationID, data, &a); err != nil {
		return nil, err
	}
	return a.id, nil
}

// RatchetTreeExtension returns a ratchet_tree extension whose body is tree,
// an already encoded optional<Node> ratchet_tree<V> (RFC 9420 §12.4.3.3).
// The tree's codec lives with the ratchet tree; this package carries the
// body as raw bytes.
func RatchetTreeExtension(tree []byte) Extension {
	return Extension{Type: ExtensionTypeRatchetTree, Data: tree}
}

// RequiredCapabilities is the body of the required_capabilities extension
// (RFC 9420 §11.1): every member must list these types in its LeafNode
// capabilities. Default types need not be listed here.
type RequiredCapabilities struct {
	ExtensionTypes  []ExtensionType
	ProposalTypes   []ProposalType
	CredentialTypes []CredentialType
}

func (rc *RequiredCapabilities) marshal(w *Writer) {
	writeUint16s(w, rc.ExtensionTypes)
	writeUint16s(w, rc.ProposalTypes)
	writeUint16s(w, rc.CredentialTypes)
}

func (rc *RequiredCapabilities) unmarshal(r *Reader) {
	rc.ExtensionTypes = readUint16s[ExtensionType](r)
	rc.ProposalTypes = readUint16s[ProposalType](r)
	rc.CredentialTypes = readUint16s[CredentialType](r)
}

// Extension returns rc as a required_capabilities extension.
func (rc RequiredCapabilities) Extension() Extension {
	return mustExtension(ExtensionTypeRequiredCapabilities, &rc)
}

// ParseRequiredCapabilities decodes the body of a required_capabilities
// extension.
func ParseRequiredCapabilities(data []byte) (RequiredCapabilities, error) {
	var rc RequiredCapabilities
	err := parseExtensionBody(ExtensionTypeRequiredCapabilities, data, &rc)
	return rc, err
}

// ExternalPub is the body of the external_pub extension of a GroupInfo
// (RFC 9420 §12.4.3.2): the HPKE public key external joiners encrypt to.
type ExternalPub struct {
	PublicKey []byte
}

func (e *ExternalPub) marshal(w *Writer)   { w.Opaque(e.PublicKey) }
func (e *ExternalPub) unmarshal(r *Reader) { e.PublicKey = r.Opaque() }

// Extension returns e as an external_pub extension.
func (e ExternalPub) Extension() Extension {
	return mustExtension(ExtensionTypeExternalPub, &e)
}

// ParseExternalPub decodes the body of an external_pub extension.
func ParseExternalPub(data []byte) (ExternalPub, error) {
	var e ExternalPub
	err := parseExtensionBody(ExtensionTypeExternalPub, data, &e)
	return e, err
}

// ExternalSender is a party outside the group allowed to send proposals
// (RFC 9420 §12.1.8.1). Its index in the external_senders list is the
// sender_index of its messages.
type ExternalSender struct {
	SignatureKey []byte
	Credential   Credential
}

func (s *ExternalSender) marshal(w *Writer) {
	w.Opaque(s.SignatureKey)
	s.Credential.marshal(w)
}

func (s *ExternalSender) unmarshal(r *Reader) {
	s.SignatureKey = r.Opaque()
	s.Credential.unmarshal(r)
}

// externalSenders is the body of the external_senders extension.
type externalSenders []ExternalSender

func (s *externalSenders) marshal(w *Writer) {
	w.Vector(func(w *Writer) {
		for i := range *s {
			(*s)[i].marshal(w)
		}
	})
}

func (s *externalSenders) unmarshal(r *Reader) {
	*s = externalSenders{}
	r.Vector(func(r *Reader) {
		for !r.Empty() {
			var e ExternalSender
			e.unmarshal(r)
			*s = append(*s, e)
		}
	})
}

// ExternalSendersExtension returns an external_senders extension listing
// senders (RFC 9420 §12.1.8.1). It fails only when a credential has a type
// this package cannot encode.
func ExternalSendersExtension(senders []ExternalSender) (Extension, error) {
	s := externalSenders(senders)
	data, err := encode(&s)
	if err != nil {
		return Extension{}, err
	}
	return Extension{Type: ExtensionTypeExternalSenders, Data: data}, nil
}

// ParseExternalSenders decodes the body of an external_senders extension.
func ParseExternalSenders(data []byte) ([]ExternalSender, error) {
	var s externalSenders
	if err := parseExtensionBody(ExtensionTypeExternalSenders, data, &s); err != nil {
		return nil, err
	}
	return s, nil
}

// LastResortExtension returns a last_resort key package extension, whose
// body is empty: the KeyPackage may be used more than once.
func LastResortExtension() Extension {
	return Extension{Type: ExtensionTypeLastResort, Data: []byte{}}
}

// ParseLastResort checks that data is a valid (empty) last_resort body.
func ParseLastResort(data []byte) error {
	if len(data) != 0 {
		return fmt.Errorf("%w: %d bytes in last_resort extension body", ErrDecode, len(data))
	}
	return nil
}

// mustExtension encodes v as the body of an extension of type t; v must be
// a value whose encoding cannot fail (opaque fields and code points only).
func mustExtension(t ExtensionType, v marshaler) Extension {
	data, err := encode(v)
	if err != nil {
		// Only vectors longer than 2^30-1 bytes fail here.
		panic(fmt.Sprintf("mls: encode extension 0x%04x: %v", uint16(t), err))
	}
	return Extension{Type: t, Data: data}
}
