package identity

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"mlsbridge/wire/credential"
	"mlsbridge/wire/prost"
)

// CredentialIdentity returns the identity bytes of an installation's MLS
// Basic credential: the protobuf MlsCredential{inbox_id}, i.e. 0x0A, the
// length, then the inbox id's hex characters (spec §6.2). It fails only for
// an inbox id that is not valid UTF-8.
func CredentialIdentity(inboxID InboxID) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&credential.MlsCredential{InboxId: string(inboxID)})
	if err != nil {
		return nil, fmt.Errorf("identity: encode credential identity: %w", err)
	}
	return b, nil
}

// credentialInboxField is MlsCredential's inbox_id (a string, field 1).
const credentialInboxField protowire.Number = 1

// ParseCredentialIdentity decodes Basic credential identity bytes as an
// MlsCredential and returns its inbox id. Like libxmtp's key-package check
// (spec §6.4 item 8) it requires only that the bytes decode; the inbox id
// is returned verbatim and may not be [InboxID.Valid]. An empty input is
// an MlsCredential with an empty inbox id, as in protobuf.
//
// The bytes are decoded with prost's rules ([mlsbridge/wire/prost]), as
// libxmtp's parse_credential decodes them, not with proto.Unmarshal: every
// member reads a leaf's inbox from its credential (the sender of its
// messages, the actor of its commits), so a credential one member decodes
// and another refuses forks the group. Where the two differ, Go's protobuf
// accepts what prost refuses: an inbox_id of another wire type than
// length-delimited (Go keeps it as an unknown field and reads an empty or
// earlier inbox id) and unknown groups nested deeper than
// [prost.RecursionLimit]. Both refuse a non-UTF-8 inbox id, truncated or
// malformed fields and keys, and field number 0; both skip unknown fields
// and take the last inbox_id when it repeats.
func ParseCredentialIdentity(b []byte) (InboxID, error) {
	var inbox string
	err := prost.Decode(b, func(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
		if num != credentialInboxField {
			return prost.Skip(num, typ, b, depth)
		}
		s, n, err := prost.String(typ, b)
		if err != nil {
			return 0, err
		}
		inbox = s
		return n, nil
	})
	if err != nil {
		return "", fmt.Errorf("%w: credential identity is not an MlsCredential: %w", ErrInvalidIdentifier, err)
	}
	return InboxID(inbox), nil
}
