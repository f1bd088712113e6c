package identity

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"mlsbridge/wire/credential"
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

// ParseCredentialIdentity decodes Basic credential identity bytes as an
// MlsCredential and returns its inbox id. Like libxmtp's key-package check
// (spec §6.4 item 8) it requires only that the bytes decode; the inbox id
// is returned verbatim and may not be [InboxID.Valid].
func ParseCredentialIdentity(b []byte) (InboxID, error) {
	var c credential.MlsCredential
	if err := proto.Unmarshal(b, &c); err != nil {
		return "", fmt.Errorf("%w: credential identity is not an MlsCredential: %w", ErrInvalidIdentifier, err)
	}
	return InboxID(c.GetInboxId()), nil
}
