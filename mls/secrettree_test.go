package mls

import (
	"bytes"
	"errors"
	"testing"
)

func init() {
	vectorRunners["secret-tree.json"] = runSecretTreeVectors
}

type secretTreeGeneration struct {
	Generation       uint32   `json:"generation"`
	HandshakeKey     hexBytes `json:"handshake_key"`
	HandshakeNonce   hexBytes `json:"handshake_nonce"`
	ApplicationKey   hexBytes `json:"application_key"`
	ApplicationNonce hexBytes `json:"application_nonce"`
}

type secretTreeVector struct {
	CipherSuite      uint16   `json:"cipher_suite"`
	EncryptionSecret hexBytes `json:"encryption_secret"`
	SenderData       struct {
		SenderDataSecret hexBytes `json:"sender_data_secret"`
		Ciphertext       hexBytes `json:"ciphertext"`
		Key              hexBytes `json:"key"`
		Nonce            hexBytes `json:"nonce"`
	} `json:"sender_data"`
	Leaves [][]secretTreeGeneration `json:"leaves"`
}

func runSecretTreeVectors(t *testing.T, path string) {
	for i, v := range loadVectors[secretTreeVector](t, path) {
		t.Run(suiteName(v.CipherSuite, i), func(t *testing.T) {
			cs := CipherSuite(v.CipherSuite)
			sd := v.SenderData
			key, nonce := senderDataKeyNonce(cs, sd.SenderDataSecret, sd.Ciphertext)
			if !bytes.Equal(key, sd.Key) || !bytes.Equal(nonce, sd.Nonce) {
				t.Errorf("sender data key/nonce = %x/%x, want %x/%x", key, nonce, sd.Key, sd.Nonce)
			}
			st := newSecretTree(cs, v.EncryptionSecret, uint32(len(v.Leaves)))
			// Visit leaves from last to first to exercise lazy derivation
			// in an order other than the natural one.
			for leaf := len(v.Leaves) - 1; leaf >= 0; leaf-- {
				for _, g := range v.Leaves[leaf] {
					checkSecretTreeGeneration(t, st, uint32(leaf), g)
				}
			}
		})
	}
}

func checkSecretTreeGeneration(t *testing.T, st *secretTree, leaf uint32, g secretTreeGeneration) {
	t.Helper()
	for _, hs := range []bool{true, false} {
		wantKey, wantNonce := g.ApplicationKey, g.ApplicationNonce
		if hs {
			wantKey, wantNonce = g.HandshakeKey, g.HandshakeNonce
		}
		key, nonce, err := st.keyAt(leaf, hs, g.Generation)
		if err != nil {
			t.Fatalf("leaf %d handshake=%v generation %d: %v", leaf, hs, g.Generation, err)
		}
		if !bytes.Equal(key, wantKey) || !bytes.Equal(nonce, wantNonce) {
			t.Errorf("leaf %d handshake=%v generation %d: key/nonce = %x/%x, want %x/%x",
				leaf, hs, g.Generation, key, nonce, wantKey, wantNonce)
		}
	}
}

func isValidationError(err error) bool {
	var ve *ValidationError
	return errors.As(err, &ve)
}

// TestSecretTreeOutOfOrder checks the receiving window: late messages
// within the window decrypt once, replays and messages beyond either edge
// of the window are rejected with a *ValidationError.
func TestSecretTreeOutOfOrder(t *testing.T) {
	cs := MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519
	secret := bytes.Repeat([]byte{7}, cs.Nh())
	sender := newSecretTree(cs, secret, 4)
	want := map[uint32][]byte{}
	for i := 0; i < 20; i++ {
		g, key, _, err := sender.nextKey(2, false)
		if err != nil || g != uint32(i) {
			t.Fatalf("nextKey = %d, %v; want generation %d", g, err, i)
		}
		want[g] = key
	}
	cfg := secretTreeConfig{MaxForwardDistance: 10, OutOfOrderTolerance: 3}
	recv := newSecretTreeConfig(cs, secret, 4, cfg)
	get := func(g uint32) error {
		key, _, err := recv.keyAt(2, false, g)
		if err == nil && !bytes.Equal(key, want[g]) {
			t.Errorf("generation %d: wrong key", g)
		}
		return err
	}
	mustOK := func(g uint32) {
		if err := get(g); err != nil {
			t.Fatalf("generation %d: %v", g, err)
		}
	}
	mustReject := func(g uint32) {
		if err := get(g); !isValidationError(err) {
			t.Fatalf("generation %d: got %v, want *ValidationError", g, err)
		}
	}
	mustOK(5)      // skips 0..4, keeps 2, 3, 4
	mustOK(3)      // late, within the window
	mustReject(3)  // replay
	mustReject(5)  // replay of the newest
	mustReject(1)  // below the window
	mustOK(4)      // still kept
	mustOK(2)      // still kept
	mustReject(17) // 11 ahead of next expected 6
	mustOK(16)     // exactly 10 ahead
	mustReject(12) // 12 < 16-3: dropped from the window
	mustOK(13)
	mustOK(15)
	mustOK(14)
	if err := get(14); !isValidationError(err) {
		t.Errorf("replayed 14: %v", err)
	}
	if _, _, err := recv.keyAt(4, false, 0); !isValidationError(err) {
		t.Errorf("leaf outside the tree: %v", err)
	}
	// The handshake ratchet of the same leaf is independent.
	if _, _, err := recv.keyAt(2, true, 0); err != nil {
		t.Errorf("handshake generation 0: %v", err)
	}
}

// TestSecretTreeLazy checks that a large tree is not expanded: reaching one
// leaf stores O(log n) node secrets.
func TestSecretTreeLazy(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	st := newSecretTree(cs, make([]byte, cs.Nh()), 2500)
	if _, _, _, err := st.nextKey(1234, false); err != nil {
		t.Fatal(err)
	}
	if len(st.nodes) > 13 || len(st.leaves) != 1 {
		t.Errorf("after one leaf: %d node secrets, %d leaves", len(st.nodes), len(st.leaves))
	}
	if _, _, _, err := st.nextKey(2499, true); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := st.nextKey(2500, true); err == nil {
		t.Errorf("leaf 2500 of 2500 accepted")
	}
}

// TestSecretTreeCodec checks that a used tree survives marshal/unmarshal
// exactly: same encoding, and the restored tree continues identically.
func TestSecretTreeCodec(t *testing.T) {
	cs := MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448
	secret := bytes.Repeat([]byte{3}, cs.Nh())
	st := newSecretTreeConfig(cs, secret, 8, secretTreeConfig{MaxForwardDistance: 50, OutOfOrderTolerance: 4})
	st.nextKey(0, true)
	st.nextKey(0, false)
	st.keyAt(5, false, 9)
	st.keyAt(5, false, 7)
	st.keyAt(6, true, 2)
	b, err := encode(st)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	var got secretTree
	if err := decode(b, &got); err != nil {
		t.Fatalf("decode: %v", err)
	}
	b2, _ := encode(&got)
	if !bytes.Equal(b, b2) {
		t.Fatalf("re-encoding differs")
	}
	if got.config != st.config || got.leafCount != 8 {
		t.Errorf("config or leaf count changed: %+v %d", got.config, got.leafCount)
	}
	steps := []func(*secretTree) ([]byte, error){
		func(s *secretTree) ([]byte, error) { k, _, e := s.keyAt(5, false, 8); return k, e },
		func(s *secretTree) ([]byte, error) { k, _, e := s.keyAt(5, false, 7); return k, e },
		func(s *secretTree) ([]byte, error) { k, _, e := s.keyAt(3, false, 1); return k, e },
		func(s *secretTree) ([]byte, error) { _, k, _, e := s.nextKey(0, true); return k, e },
	}
	for i, step := range steps {
		k1, e1 := step(st)
		k2, e2 := step(&got)
		if !bytes.Equal(k1, k2) || (e1 == nil) != (e2 == nil) {
			t.Errorf("step %d: original %x/%v, restored %x/%v", i, k1, e1, k2, e2)
		}
	}
	for _, cut := range []int{1, 10, len(b) - 1} {
		if err := decode(b[:cut], &got); err == nil {
			t.Errorf("truncated to %d bytes: decoded", cut)
		}
	}
}
