package mls

import (
	"bytes"
	"testing"
)

func init() {
	vectorRunners["transcript-hashes.json"] = runTranscriptHashVectors
}

type transcriptHashVector struct {
	CipherSuite                  uint16   `json:"cipher_suite"`
	ConfirmationKey              hexBytes `json:"confirmation_key"`
	AuthenticatedContent         hexBytes `json:"authenticated_content"`
	InterimTranscriptHashBefore  hexBytes `json:"interim_transcript_hash_before"`
	ConfirmedTranscriptHashAfter hexBytes `json:"confirmed_transcript_hash_after"`
	InterimTranscriptHashAfter   hexBytes `json:"interim_transcript_hash_after"`
}

func runTranscriptHashVectors(t *testing.T, path string) {
	for i, v := range loadVectors[transcriptHashVector](t, path) {
		t.Run(suiteName(v.CipherSuite, i), func(t *testing.T) {
			cs := CipherSuite(v.CipherSuite)
			var ac AuthenticatedContent
			if err := decode(v.AuthenticatedContent, &ac); err != nil {
				t.Fatalf("decode AuthenticatedContent: %v", err)
			}
			confirmed, interim, err := transcriptHashes(cs, v.InterimTranscriptHashBefore, &ac)
			if err != nil {
				t.Fatalf("transcriptHashes: %v", err)
			}
			if !bytes.Equal(confirmed, v.ConfirmedTranscriptHashAfter) {
				t.Errorf("confirmed = %x, want %x", confirmed, v.ConfirmedTranscriptHashAfter)
			}
			if !bytes.Equal(interim, v.InterimTranscriptHashAfter) {
				t.Errorf("interim = %x, want %x", interim, v.InterimTranscriptHashAfter)
			}
			e := &epochSecrets{suite: cs, confirmationKey: v.ConfirmationKey}
			if !e.verifyConfirmationTag(confirmed, ac.Auth.ConfirmationTag) {
				t.Errorf("confirmation tag is not MAC(confirmation_key, confirmed_transcript_hash)")
			}
			if !bytes.Equal(e.confirmationTag(confirmed), ac.Auth.ConfirmationTag) {
				t.Errorf("confirmationTag differs from the vector's")
			}
		})
	}
}
