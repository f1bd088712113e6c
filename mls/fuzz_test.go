package mls

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Fuzz targets for every decoder of untrusted bytes. Property: decoding
// never panics, and when it succeeds, encoding gives back exactly the input
// (the codec is strict and canonical), and decoding that encoding again
// gives the same bytes once more.
//
// Run one at a time, e.g.
//
//	go test ./mls -run '^$' -fuzz '^FuzzKeyPackage$' -fuzztime 5m

// codecValue is a wire struct of this package.
type codecValue interface {
	marshaler
	unmarshaler
}

// checkRoundTrip decodes data with a fresh value from newValue and, if that
// succeeds, checks that encode → decode → encode is stable and gives data.
func checkRoundTrip(t *testing.T, data []byte, newValue func() codecValue) {
	v := newValue()
	if decode(data, v) != nil {
		return
	}
	first, err := encode(v)
	if err != nil {
		t.Fatalf("decoded value does not encode: %v", err)
	}
	if !bytes.Equal(first, data) {
		t.Fatalf("re-encoding differs from the input:\n got %x\nwant %x", first, data)
	}
	again := newValue()
	if err := decode(first, again); err != nil {
		t.Fatalf("re-encoding does not decode: %v", err)
	}
	second, err := encode(again)
	if err != nil || !bytes.Equal(first, second) {
		t.Fatalf("second encoding differs (err %v):\n got %x\nwant %x", err, second, first)
	}
}

// vectorHexFields collects every hex string stored under one of keys,
// anywhere in the JSON of the vector file, as strings or arrays of
// strings. A missing or unreadable file gives nothing: seeds are optional.
func vectorHexFields(file string, keys ...string) [][]byte {
	data, err := os.ReadFile(filepath.Join(vectorDir(), file))
	if err != nil {
		return nil
	}
	var doc any
	if json.Unmarshal(data, &doc) != nil {
		return nil
	}
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	var out [][]byte
	var walk func(v any, match bool)
	walk = func(v any, match bool) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(x, want[k])
			}
		case []any:
			for _, x := range v {
				walk(x, match)
			}
		case string:
			if b, err := hex.DecodeString(v); match && err == nil {
				out = append(out, b)
			}
		}
	}
	walk(doc, false)
	return out
}

// mlsMessageSeeds returns every MLSMessage of the vector files.
func mlsMessageSeeds() [][]byte {
	var out [][]byte
	out = append(out, vectorHexFields("welcome.json", "key_package", "welcome")...)
	out = append(out, vectorHexFields("message-protection.json",
		"proposal_pub", "proposal_priv", "commit_pub", "commit_priv", "application_priv")...)
	for _, f := range []string{"passive-client-welcome.json", "passive-client-handling-commit.json", "passive-client-random.json"} {
		out = append(out, vectorHexFields(f, "key_package", "welcome", "proposals", "commit")...)
	}
	return out
}

// mlsMessageBodies returns the encoded bodies of the seed MLSMessages of
// wire format wf.
func mlsMessageBodies(wf WireFormat) [][]byte {
	var out [][]byte
	for _, b := range mlsMessageSeeds() {
		var m MLSMessage
		if decode(b, &m) == nil && m.WireFormat == wf && len(b) > 4 {
			out = append(out, b[4:])
		}
	}
	return out
}

// ratchetTreeSeeds returns every serialized ratchet tree of the vectors.
func ratchetTreeSeeds() [][]byte {
	out := vectorHexFields("tree-validation.json", "tree")
	out = append(out, vectorHexFields("tree-operations.json", "tree_before", "tree_after")...)
	out = append(out, vectorHexFields("treekem.json", "ratchet_tree")...)
	out = append(out, vectorHexFields("passive-client-welcome.json", "ratchet_tree")...)
	return out
}

func addSeeds(f *testing.F, seeds [][]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add([]byte{})
}

func FuzzMLSMessage(f *testing.F) {
	addSeeds(f, mlsMessageSeeds())
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRoundTrip(t, data, func() codecValue { return new(MLSMessage) })
	})
}

func FuzzWelcome(f *testing.F) {
	addSeeds(f, mlsMessageBodies(WireFormatWelcome))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRoundTrip(t, data, func() codecValue { return new(Welcome) })
	})
}

func FuzzGroupInfo(f *testing.F) {
	addSeeds(f, groupInfoSeeds(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRoundTrip(t, data, func() codecValue { return new(GroupInfo) })
	})
}

// groupInfoSeeds builds GroupInfos: the vectors hold them only encrypted.
// Each carries a vector ratchet tree and an external_pub extension.
func groupInfoSeeds(f *testing.F) [][]byte {
	trees := ratchetTreeSeeds()
	if len(trees) > 4 {
		trees = trees[:4]
	}
	trees = append(trees, []byte{0})
	var out [][]byte
	for i, tree := range trees {
		gi := GroupInfo{
			GroupContext: GroupContext{
				Version: ProtocolVersionMLS10, CipherSuite: MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519,
				GroupID: []byte("group"), Epoch: uint64(i), TreeHash: bytes.Repeat([]byte{1}, 32),
				ConfirmedTranscriptHash: bytes.Repeat([]byte{2}, 32),
				Extensions:              []Extension{RequiredCapabilities{ProposalTypes: []ProposalType{9}}.Extension()},
			},
			Extensions:      []Extension{RatchetTreeExtension(tree), ExternalPub{PublicKey: bytes.Repeat([]byte{3}, 32)}.Extension()},
			ConfirmationTag: bytes.Repeat([]byte{4}, 32),
			Signer:          LeafIndex(i),
			Signature:       bytes.Repeat([]byte{5}, 64),
		}
		b, err := encode(&gi)
		if err != nil {
			f.Fatalf("encode group info seed: %v", err)
		}
		out = append(out, b)
	}
	return out
}

func FuzzKeyPackage(f *testing.F) {
	addSeeds(f, mlsMessageBodies(WireFormatKeyPackage))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRoundTrip(t, data, func() codecValue { return new(KeyPackage) })
	})
}

func FuzzRatchetTree(f *testing.F) {
	addSeeds(f, ratchetTreeSeeds())
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, err := decodeRatchetTree(MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, data)
		if err != nil {
			return
		}
		first, err := tree.encode()
		if err != nil {
			t.Fatalf("decoded tree does not encode: %v", err)
		}
		if !bytes.Equal(first, data) {
			t.Fatalf("re-encoding differs from the input:\n got %x\nwant %x", first, data)
		}
		again, err := decodeRatchetTree(MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, first)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		second, err := again.encode()
		if err != nil || !bytes.Equal(first, second) {
			t.Fatalf("second encoding differs (err %v)", err)
		}
	})
}

// FuzzGroupSecrets decodes GroupSecrets, which a Welcome's sender chooses
// freely (HPKE only hides them).
func FuzzGroupSecrets(f *testing.F) {
	for _, gs := range []GroupSecrets{
		{JoinerSecret: bytes.Repeat([]byte{1}, 32), PSKs: []PreSharedKeyID{}},
		{JoinerSecret: bytes.Repeat([]byte{1}, 32), PathSecret: &PathSecret{PathSecret: []byte{2}}, PSKs: []PreSharedKeyID{
			{Type: PSKTypeExternal, PSKID: []byte("id"), Nonce: []byte{3}},
			{Type: PSKTypeResumption, Usage: ResumptionPSKUsageApplication, PSKGroupID: []byte("g"), PSKEpoch: 9, Nonce: []byte{4}},
		}},
	} {
		b, err := encode(&gs)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRoundTrip(t, data, func() codecValue { return new(GroupSecrets) })
	})
}

// FuzzExtensionBodies parses data as the body of each typed extension.
func FuzzExtensionBodies(f *testing.F) {
	for _, e := range []Extension{
		ApplicationIDExtension([]byte("app")),
		RequiredCapabilities{ExtensionTypes: []ExtensionType{0xff00}, ProposalTypes: []ProposalType{8}, CredentialTypes: []CredentialType{1, 2}}.Extension(),
		ExternalPub{PublicKey: []byte{1, 2, 3}}.Extension(),
	} {
		f.Add(e.Data)
	}
	senders, err := ExternalSendersExtension([]ExternalSender{
		{SignatureKey: []byte{1}, Credential: NewBasicCredential([]byte("x"))},
		{SignatureKey: []byte{2}, Credential: Credential{Type: CredentialTypeX509, Certificates: [][]byte{{3}, {4, 5}}}},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(senders.Data)
	f.Fuzz(func(t *testing.T, data []byte) {
		if id, err := ParseApplicationID(data); err == nil && !bytes.Equal(ApplicationIDExtension(id).Data, data) {
			t.Fatalf("application_id round trip differs")
		}
		if rc, err := ParseRequiredCapabilities(data); err == nil && !bytes.Equal(rc.Extension().Data, data) {
			t.Fatalf("required_capabilities round trip differs")
		}
		if ep, err := ParseExternalPub(data); err == nil && !bytes.Equal(ep.Extension().Data, data) {
			t.Fatalf("external_pub round trip differs")
		}
		if s, err := ParseExternalSenders(data); err == nil {
			e, err := ExternalSendersExtension(s)
			if err != nil || !bytes.Equal(e.Data, data) {
				t.Fatalf("external_senders round trip differs (err %v)", err)
			}
		}
		if ParseLastResort(data) == nil && len(data) != 0 {
			t.Fatalf("last_resort accepted a non-empty body")
		}
	})
}

// TestFuzzSeedsDecode checks the seed corpus: every seed taken from the
// vectors is a valid encoding (so the fuzzers start from deep inputs).
func TestFuzzSeedsDecode(t *testing.T) {
	sets := map[string]struct {
		seeds    [][]byte
		newValue func() codecValue
	}{
		"MLSMessage": {mlsMessageSeeds(), func() codecValue { return new(MLSMessage) }},
		"Welcome":    {mlsMessageBodies(WireFormatWelcome), func() codecValue { return new(Welcome) }},
		"KeyPackage": {mlsMessageBodies(WireFormatKeyPackage), func() codecValue { return new(KeyPackage) }},
	}
	for name, s := range sets {
		if len(s.seeds) == 0 {
			t.Errorf("%s: no seeds found in %s", name, vectorDir())
		}
		for i, b := range s.seeds {
			if err := decode(b, s.newValue()); err != nil {
				t.Errorf("%s seed %d: %v", name, i, err)
			}
		}
	}
	for i, b := range ratchetTreeSeeds() {
		if _, err := decodeRatchetTree(MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, b); err != nil {
			t.Errorf("ratchet tree seed %d: %v", i, err)
		}
	}
	t.Logf("seeds: %d messages, %d trees", len(mlsMessageSeeds()), len(ratchetTreeSeeds()))
}
