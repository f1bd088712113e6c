package client

import (
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"

	"mlsbridge/mls"
	"mlsbridge/wire/mlsapi"
)

// welcomeHPKEInfo is the HPKE info of welcome wrapping (spec §7.2): the
// TLS encoding of EncryptContext{label = "MLS 1.0 MLS_WELCOME", context =
// empty}, 21 bytes.
var welcomeHPKEInfo = func() []byte {
	var w mls.Writer
	w.Opaque([]byte("MLS 1.0 MLS_WELCOME"))
	w.Opaque(nil)
	return w.Bytes()
}()

// ErrInvalidWelcome is wrapped by [*WelcomeError].
var ErrInvalidWelcome = errors.New("client: invalid welcome")

// WelcomeError reports a welcome message that cannot be used: it does not
// decrypt with any of our key packages, or its contents are invalid. Only
// that welcome is dropped.
type WelcomeError struct {
	ID     uint64
	Reason string
}

func (e *WelcomeError) Error() string {
	return fmt.Sprintf("client: welcome %d: %s", e.ID, e.Reason)
}

func (e *WelcomeError) Unwrap() error { return ErrInvalidWelcome }

// wrapWelcome HPKE-wraps a welcome for one recipient (spec §7.2):
// Curve25519 to the recipient's key package init key, one sender context
// sealing first welcomeMsg (the TLS MLSMessage carrying the Welcome), then
// the protobuf WelcomeMetadata. It returns the TLS HPKECiphertext
// {enc, seal #0} and the raw seal #1.
func wrapWelcome(rand io.Reader, initKey, welcomeMsg []byte, md *mlsapi.WelcomeMetadata) (data, metadata []byte, err error) {
	mdBytes, err := proto.Marshal(md)
	if err != nil {
		return nil, nil, fmt.Errorf("encode welcome metadata: %w", err)
	}
	enc, sealer, err := Suite.HPKESetupSender(rand, initKey, welcomeHPKEInfo)
	if err != nil {
		return nil, nil, fmt.Errorf("wrap welcome: %w", err)
	}
	ct, err := sealer.Seal(nil, welcomeMsg)
	if err != nil {
		return nil, nil, fmt.Errorf("seal welcome: %w", err)
	}
	mdCT, err := sealer.Seal(nil, mdBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("seal welcome metadata: %w", err)
	}
	var w mls.Writer
	w.Opaque(enc)
	w.Opaque(ct)
	if err := w.Err(); err != nil {
		return nil, nil, fmt.Errorf("encode hpke ciphertext: %w", err)
	}
	return w.Bytes(), mdCT, nil
}

// unwrapWelcome opens a Curve25519-wrapped welcome with the init private
// key of the key package it was wrapped to: the MLSMessage bytes, and the
// WelcomeMetadata (empty when the sender sent none). One receiver context
// opens both, in the order they were sealed. A payload that does not
// decrypt gives a *mls.ValidationError.
func unwrapWelcome(initPriv, data, metadata []byte) ([]byte, *mlsapi.WelcomeMetadata, error) {
	r := mls.NewReader(data)
	enc := r.Opaque()
	ct := r.Opaque()
	if err := r.Finish(); err != nil {
		return nil, nil, fmt.Errorf("hpke ciphertext: %w", err)
	}
	opener, err := Suite.HPKESetupReceiver(initPriv, enc, welcomeHPKEInfo)
	if err != nil {
		return nil, nil, err
	}
	welcome, err := opener.Open(nil, ct)
	if err != nil {
		return nil, nil, err
	}
	md := new(mlsapi.WelcomeMetadata)
	if len(metadata) == 0 {
		return welcome, md, nil
	}
	mdBytes, err := opener.Open(nil, metadata)
	if err != nil {
		return nil, nil, fmt.Errorf("welcome metadata: %w", err)
	}
	if err := proto.Unmarshal(mdBytes, md); err != nil {
		return nil, nil, fmt.Errorf("welcome metadata: %w", err)
	}
	return welcome, md, nil
}
