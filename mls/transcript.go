package mls

import "fmt"

// confirmedTranscriptHash returns the confirmed transcript hash of the
// epoch that commit ac creates (RFC 9420 §8.2): Hash(interimBefore ||
// ConfirmedTranscriptHashInput{wire_format, content, signature}).
// interimBefore is the interim transcript hash of the epoch the commit
// applies to. ac must carry a Commit; its confirmation tag is not used.
func confirmedTranscriptHash(cs CipherSuite, interimBefore []byte, ac *AuthenticatedContent) ([]byte, error) {
	if ac.Content.ContentType != ContentTypeCommit {
		return nil, fmt.Errorf("mls: confirmed transcript hash of %s content", ac.Content.ContentType)
	}
	w := Writer{buf: append(make([]byte, 0, 256), interimBefore...)}
	w.Uint16(uint16(ac.WireFormat))
	ac.Content.marshal(&w)
	w.Opaque(ac.Auth.Signature)
	if err := w.Err(); err != nil {
		return nil, fmt.Errorf("mls: confirmed transcript hash: %w", err)
	}
	return cs.Hash(w.Bytes()), nil
}

// interimTranscriptHash returns Hash(confirmed ||
// InterimTranscriptHashInput{confirmation_tag}) (RFC 9420 §8.2). At group
// creation (epoch 0) confirmed is empty and confirmationTag is the MAC of
// the empty confirmed hash under epoch 0's confirmation key.
func interimTranscriptHash(cs CipherSuite, confirmed, confirmationTag []byte) []byte {
	buf := append(make([]byte, 0, len(confirmed)+len(confirmationTag)+4), confirmed...)
	return cs.Hash(appendOpaque(buf, confirmationTag))
}

// transcriptHashes returns both transcript hashes of the epoch that commit
// ac creates, using the confirmation tag carried in ac (receivers; the
// tag itself is checked separately against the new epoch's
// confirmation key with epochSecrets.verifyConfirmationTag).
func transcriptHashes(cs CipherSuite, interimBefore []byte, ac *AuthenticatedContent) (confirmed, interim []byte, err error) {
	confirmed, err = confirmedTranscriptHash(cs, interimBefore, ac)
	if err != nil {
		return nil, nil, err
	}
	return confirmed, interimTranscriptHash(cs, confirmed, ac.Auth.ConfirmationTag), nil
}
