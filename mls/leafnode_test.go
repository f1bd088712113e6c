package mls

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// roundTrip decodes b into v, checks that re-encoding gives b back, and
// returns the decode error.
func roundTrip(t *testing.T, b []byte, v interface {
	marshaler
	unmarshaler
}) error {
	t.Helper()
	if err := decode(b, v); err != nil {
		return err
	}
	again, err := encode(v)
	if err != nil {
		t.Fatalf("re-encode: %v", err)
	}
	if !bytes.Equal(again, b) {
		t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, b)
	}
	return nil
}

// equalValues reports whether a and b are deeply equal, treating nil and
// empty slices alike (decoding gives nil for an empty vector).
func equalValues(a, b any) bool {
	return equalReflect(reflect.ValueOf(a), reflect.ValueOf(b))
}

func equalReflect(a, b reflect.Value) bool {
	if a.Kind() != b.Kind() || a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !equalReflect(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equalReflect(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !equalReflect(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	default:
		return a.Equal(b)
	}
}

// wantValidation fails t unless err is a *ValidationError citing section.
func wantValidation(t *testing.T, err error, section string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v, want a *ValidationError (%s)", err, section)
	}
	if ve.Section != section {
		t.Fatalf("error = %v, want section %s", err, section)
	}
}

// TestTreeValidationLeavesPassLeafRules runs validateLeafNode over every
// leaf of tree-validation.json: leaves produced by other implementations
// must satisfy the §7.2/§7.3 rules this package enforces.
func TestTreeValidationLeavesPassLeafRules(t *testing.T) {
	type entry struct {
		CipherSuite uint16   `json:"cipher_suite"`
		Tree        hexBytes `json:"tree"`
		GroupID     hexBytes `json:"group_id"`
	}
	path := filepath.Join(vectorDir(), "tree-validation.json")
	for i, e := range loadVectors[entry](t, path) {
		t.Run(suiteName(e.CipherSuite, i), func(t *testing.T) {
			cs := CipherSuite(e.CipherSuite)
			tree, err := decodeRatchetTree(cs, e.Tree)
			if err != nil {
				t.Fatalf("decode tree: %v", err)
			}
			for l, ln := range tree.leaves {
				if ln == nil {
					continue
				}
				v := &leafValidation{Use: leafInTree, CipherSuite: cs, GroupID: e.GroupID, LeafIndex: LeafIndex(l)}
				if err := validateLeafNode(ln, v); err != nil {
					t.Errorf("leaf %d: %v", l, err)
				}
			}
		})
	}
}

func TestCredentialCodec(t *testing.T) {
	cases := map[string]Credential{
		"basic":       NewBasicCredential([]byte("alice")),
		"basic empty": NewBasicCredential([]byte{}),
		"x509":        {Type: CredentialTypeX509, Certificates: [][]byte{{1, 2, 3}, {4}}},
		"x509 empty":  {Type: CredentialTypeX509, Certificates: [][]byte{}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := encode(&c)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			var back Credential
			if err := roundTrip(t, b, &back); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !equalValues(back, c) {
				t.Fatalf("got %+v, want %+v", back, c)
			}
		})
	}
	if _, err := encode(&Credential{Type: 0x0a0a}); err == nil {
		t.Errorf("encoding a credential of unknown type succeeded")
	}
	for name, b := range map[string][]byte{
		"unknown type":        {0x0a, 0x0a, 0x01, 0x00},
		"type zero":           {0x00, 0x00, 0x00},
		"basic truncated":     {0x00, 0x01, 0x05, 'a'},
		"x509 bad inner cert": {0x00, 0x02, 0x02, 0x05, 'a'},
	} {
		t.Run(name, func(t *testing.T) {
			var c Credential
			if err := decode(b, &c); !errors.Is(err, ErrDecode) {
				t.Fatalf("decode = %v, want ErrDecode", err)
			}
		})
	}
}

// testLeaf returns a signed leaf node of the given source, its signature
// private key and encryption private key.
func testLeaf(t *testing.T, cs CipherSuite, source LeafNodeSource, groupID []byte, index LeafIndex) (*LeafNode, []byte) {
	t.Helper()
	sigPriv, sigPub, err := cs.GenerateSignatureKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, encPub, err := cs.GenerateHPKEKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	ln := &LeafNode{
		EncryptionKey: encPub,
		SignatureKey:  sigPub,
		Credential:    NewBasicCredential([]byte("bob")),
		Capabilities:  DefaultCapabilities(cs, CredentialTypeBasic),
		Source:        source,
		Extensions:    []Extension{},
	}
	switch source {
	case LeafNodeSourceKeyPackage:
		ln.Lifetime = &Lifetime{NotBefore: 1000, NotAfter: 2000}
	case LeafNodeSourceCommit:
		ln.ParentHash = []byte{7, 7, 7}
	}
	if err := ln.sign(nil, cs, sigPriv, groupID, uint32(index)); err != nil {
		t.Fatal(err)
	}
	return ln, sigPriv
}

func TestLeafNodeCodec(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	for _, src := range []LeafNodeSource{LeafNodeSourceKeyPackage, LeafNodeSourceUpdate, LeafNodeSourceCommit} {
		t.Run(src.String(), func(t *testing.T) {
			ln, _ := testLeaf(t, cs, src, []byte("g"), 3)
			b, err := encode(ln)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			var back LeafNode
			if err := roundTrip(t, b, &back); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !equalValues(&back, ln) {
				t.Fatalf("got %+v, want %+v", back, *ln)
			}
		})
	}
	ln, _ := testLeaf(t, cs, LeafNodeSourceUpdate, nil, 0)
	for _, bad := range []LeafNodeSource{0, 4, 255} {
		ln.Source = bad
		if _, err := encode(ln); err == nil {
			t.Errorf("encoding source %d succeeded", bad)
		}
	}
	ln.Source = LeafNodeSourceKeyPackage
	if _, err := encode(ln); err == nil {
		t.Errorf("encoding a key_package leaf without lifetime succeeded")
	}
}

func TestLeafNodeDecodeRejectsBadSource(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	ln, _ := testLeaf(t, cs, LeafNodeSourceUpdate, nil, 0)
	var w Writer
	ln.marshalContent(&w)
	content := w.Bytes()
	// Update has an empty body, so the source is the byte before the
	// (empty) extensions vector.
	i := len(content) - 2
	if content[i] != byte(LeafNodeSourceUpdate) {
		t.Fatalf("source byte not found at %d", i)
	}
	for _, bad := range []byte{0, 4, 255} {
		b := append(append([]byte{}, content...), 0)
		b[i] = bad
		var back LeafNode
		if err := decode(b, &back); !errors.Is(err, ErrDecode) {
			t.Errorf("source %d: decode = %v, want ErrDecode", bad, err)
		}
	}
}

func TestLeafNodeSignatureContext(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	for _, src := range []LeafNodeSource{LeafNodeSourceUpdate, LeafNodeSourceCommit} {
		ln, _ := testLeaf(t, cs, src, []byte("group"), 5)
		if !ln.verifySignature(cs, []byte("group"), 5) {
			t.Errorf("%v: signature does not verify in its own context", src)
		}
		if ln.verifySignature(cs, []byte("other"), 5) || ln.verifySignature(cs, []byte("group"), 4) {
			t.Errorf("%v: signature verifies with another group ID or leaf index", src)
		}
	}
	ln, _ := testLeaf(t, cs, LeafNodeSourceKeyPackage, nil, 0)
	if !ln.verifySignature(cs, []byte("any"), 9) {
		t.Errorf("key_package signature depends on group context")
	}
}

// keyFinder returns a FindEncryptionKey/FindSignatureKey callback over a
// fixed key → leaf map.
func keyFinder(keys map[string]LeafIndex) func([]byte) (LeafIndex, bool) {
	return func(k []byte) (LeafIndex, bool) {
		l, ok := keys[string(k)]
		return l, ok
	}
}

// TestValidateLeafNodeRules breaks each group-dependent rule of RFC 9420
// §7.3 in turn, for a leaf in an Update proposal from leaf 2.
func TestValidateLeafNodeRules(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	groupID := []byte("group")
	base := func(ln *LeafNode) *leafValidation {
		return &leafValidation{Use: leafInUpdate, CipherSuite: cs, GroupID: groupID, LeafIndex: 2,
			GroupExtensions: []ExtensionType{ExtensionTypeExternalSenders}, CredentialTypesInUse: []CredentialType{CredentialTypeBasic},
			MembersSupportCredential: func(CredentialType) bool { return true },
			FindEncryptionKey:        keyFinder(map[string]LeafIndex{"other-enc": 0}),
			FindSignatureKey:         keyFinder(map[string]LeafIndex{"other-sig": 0, string(ln.SignatureKey): 2}),
		}
	}
	cases := []struct {
		name    string
		section string
		edit    func(v *leafValidation, ln *LeafNode)
	}{
		{"wrong use", "§7.3", func(v *leafValidation, ln *LeafNode) { v.Use = leafInCommit }},
		{"key package use", "§7.3", func(v *leafValidation, ln *LeafNode) { v.Use = leafInKeyPackage }},
		{"group id", "§7.3", func(v *leafValidation, ln *LeafNode) { v.GroupID = []byte("other") }},
		{"leaf index", "§7.3", func(v *leafValidation, ln *LeafNode) { v.LeafIndex = 1 }},
		{"required extension", "§11.1", func(v *leafValidation, ln *LeafNode) {
			v.RequiredCapabilities = &RequiredCapabilities{ExtensionTypes: []ExtensionType{0xff01}}
		}},
		{"required proposal", "§11.1", func(v *leafValidation, ln *LeafNode) {
			v.RequiredCapabilities = &RequiredCapabilities{ProposalTypes: []ProposalType{0xff02}}
		}},
		{"required credential", "§11.1", func(v *leafValidation, ln *LeafNode) {
			v.RequiredCapabilities = &RequiredCapabilities{CredentialTypes: []CredentialType{CredentialTypeX509}}
		}},
		{"group extension", "§13.4", func(v *leafValidation, ln *LeafNode) { v.GroupExtensions = []ExtensionType{0xff03} }},
		{"credential type in use", "§7.3", func(v *leafValidation, ln *LeafNode) {
			v.CredentialTypesInUse = []CredentialType{CredentialTypeBasic, CredentialTypeX509}
		}},
		{"members lack credential type", "§7.3", func(v *leafValidation, ln *LeafNode) {
			v.MembersSupportCredential = func(CredentialType) bool { return false }
		}},
		{"encryption key of another leaf", "§7.3", func(v *leafValidation, ln *LeafNode) {
			v.FindEncryptionKey = keyFinder(map[string]LeafIndex{string(ln.EncryptionKey): 0})
		}},
		{"encryption key unchanged", "§7.3", func(v *leafValidation, ln *LeafNode) {
			v.FindEncryptionKey = keyFinder(map[string]LeafIndex{string(ln.EncryptionKey): 2})
		}},
		{"signature key of another leaf", "§7.3", func(v *leafValidation, ln *LeafNode) {
			v.FindSignatureKey = keyFinder(map[string]LeafIndex{string(ln.SignatureKey): 1})
		}},
	}
	t.Run("valid", func(t *testing.T) {
		ln, _ := testLeaf(t, cs, LeafNodeSourceUpdate, groupID, 2)
		v := base(ln)
		v.RequiredCapabilities = &RequiredCapabilities{
			ExtensionTypes:  []ExtensionType{ExtensionTypeLastResort, ExtensionTypeExternalSenders},
			ProposalTypes:   []ProposalType{ProposalTypeRemove},
			CredentialTypes: []CredentialType{CredentialTypeBasic},
		}
		if err := validateLeafNode(ln, v); err != nil {
			t.Fatalf("validateLeafNode: %v", err)
		}
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ln, _ := testLeaf(t, cs, LeafNodeSourceUpdate, groupID, 2)
			v := base(ln)
			c.edit(v, ln)
			wantValidation(t, validateLeafNode(ln, v), c.section)
		})
	}
}

func TestValidateLeafNodeKeyPackageUse(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	ln, _ := testLeaf(t, cs, LeafNodeSourceKeyPackage, nil, 0)
	v := &leafValidation{Use: leafInKeyPackage, CipherSuite: cs, LeafIndex: 3, Now: time.Unix(1500, 0)}
	if err := validateLeafNode(ln, v); err != nil {
		t.Fatalf("valid: %v", err)
	}
	v.FindSignatureKey = keyFinder(map[string]LeafIndex{string(ln.SignatureKey): 3})
	wantValidation(t, validateLeafNode(ln, v), "§7.3")
	v.FindSignatureKey = nil
	v.FindEncryptionKey = keyFinder(map[string]LeafIndex{string(ln.EncryptionKey): 3})
	wantValidation(t, validateLeafNode(ln, v), "§7.3")
	v.FindEncryptionKey = nil
	v.MaxLifetime = 999 * time.Second
	wantValidation(t, validateLeafNode(ln, v), "§7.2")
	v.MaxLifetime = 1000 * time.Second
	if err := validateLeafNode(ln, v); err != nil {
		t.Fatalf("lifetime equal to the maximum: %v", err)
	}
	v.Now = time.Unix(-5, 0)
	wantValidation(t, validateLeafNode(ln, v), "§7.3")
}

func TestValidateLeafNodeTreeUse(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	ln, _ := testLeaf(t, cs, LeafNodeSourceCommit, []byte("g"), 4)
	own := map[string]LeafIndex{string(ln.EncryptionKey): 4, string(ln.SignatureKey): 4}
	v := &leafValidation{Use: leafInTree, CipherSuite: cs, GroupID: []byte("g"), LeafIndex: 4,
		FindEncryptionKey: keyFinder(own), FindSignatureKey: keyFinder(own)}
	if err := validateLeafNode(ln, v); err != nil {
		t.Fatalf("a tree leaf finding its own keys: %v", err)
	}
	v.LeafIndex = 5
	wantValidation(t, validateLeafNode(ln, v), "§7.3")
}

func TestValidateLeafNodeCredentialCallback(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	ln, _ := testLeaf(t, cs, LeafNodeSourceUpdate, nil, 0)
	errRejected := errors.New("identity not allowed")
	var gotKey []byte
	v := &leafValidation{Use: leafInUpdate, CipherSuite: cs, ValidateCredential: func(c Credential, key []byte) error {
		gotKey = key
		return errRejected
	}}
	if err := validateLeafNode(ln, v); !errors.Is(err, errRejected) {
		t.Fatalf("validateLeafNode = %v, want the callback's error", err)
	}
	if !bytes.Equal(gotKey, ln.SignatureKey) {
		t.Errorf("callback got key %x, want the signature key", gotKey)
	}
}

func TestValidateLeafNodeIgnoresUnknownCapabilities(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	ln, sigPriv := testLeaf(t, cs, LeafNodeSourceUpdate, nil, 0)
	ln.Capabilities.CipherSuites = []CipherSuite{0x0a0a} // not even the group's suite, as OpenMLS does
	ln.Capabilities.Extensions = append(ln.Capabilities.Extensions, 0x1a1a, ExtensionTypeRatchetTree)
	ln.Capabilities.Proposals = append(ln.Capabilities.Proposals, 0x2a2a, ProposalTypeAdd)
	ln.Capabilities.Credentials = append(ln.Capabilities.Credentials, 0x3a3a)
	ln.Extensions = []Extension{ApplicationIDExtension([]byte("id")), {Type: 0x1a1a, Data: []byte{}}}
	if err := ln.sign(nil, cs, sigPriv, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := validateLeafNode(ln, &leafValidation{Use: leafInUpdate, CipherSuite: cs}); err != nil {
		t.Fatalf("validateLeafNode: %v", err)
	}
}

func TestExtensionHelpers(t *testing.T) {
	t.Run("application_id", func(t *testing.T) {
		e := ApplicationIDExtension([]byte("device-1"))
		if e.Type != ExtensionTypeApplicationID {
			t.Fatalf("type %v", e.Type)
		}
		id, err := ParseApplicationID(e.Data)
		if err != nil || string(id) != "device-1" {
			t.Fatalf("ParseApplicationID = %q, %v", id, err)
		}
	})
	t.Run("ratchet_tree", func(t *testing.T) {
		e := RatchetTreeExtension([]byte{1, 2, 3})
		if e.Type != ExtensionTypeRatchetTree || !bytes.Equal(e.Data, []byte{1, 2, 3}) {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("required_capabilities", func(t *testing.T) {
		rc := RequiredCapabilities{
			ExtensionTypes:  []ExtensionType{0xff00},
			ProposalTypes:   []ProposalType{0xff01, 0xff02},
			CredentialTypes: []CredentialType{CredentialTypeX509},
		}
		e := rc.Extension()
		if e.Type != ExtensionTypeRequiredCapabilities {
			t.Fatalf("type %v", e.Type)
		}
		want := []byte{2, 0xff, 0x00, 4, 0xff, 0x01, 0xff, 0x02, 2, 0x00, 0x02}
		if !bytes.Equal(e.Data, want) {
			t.Fatalf("body %x, want %x", e.Data, want)
		}
		back, err := ParseRequiredCapabilities(e.Data)
		if err != nil || !equalValues(back, rc) {
			t.Fatalf("ParseRequiredCapabilities = %+v, %v", back, err)
		}
	})
	t.Run("external_pub", func(t *testing.T) {
		e := ExternalPub{PublicKey: []byte{7, 8}}.Extension()
		back, err := ParseExternalPub(e.Data)
		if e.Type != ExtensionTypeExternalPub || err != nil || !bytes.Equal(back.PublicKey, []byte{7, 8}) {
			t.Fatalf("got %+v, %v", back, err)
		}
	})
	t.Run("external_senders", func(t *testing.T) {
		senders := []ExternalSender{
			{SignatureKey: []byte{1}, Credential: NewBasicCredential([]byte("server"))},
			{SignatureKey: []byte{2}, Credential: Credential{Type: CredentialTypeX509, Certificates: [][]byte{{3}}}},
		}
		e, err := ExternalSendersExtension(senders)
		if err != nil || e.Type != ExtensionTypeExternalSenders {
			t.Fatalf("ExternalSendersExtension = %+v, %v", e, err)
		}
		back, err := ParseExternalSenders(e.Data)
		if err != nil || !equalValues(back, senders) {
			t.Fatalf("ParseExternalSenders = %+v, %v", back, err)
		}
		if _, err := ExternalSendersExtension([]ExternalSender{{Credential: Credential{Type: 9}}}); err == nil {
			t.Errorf("unknown credential type encoded")
		}
		empty, _ := ExternalSendersExtension(nil)
		if got, err := ParseExternalSenders(empty.Data); err != nil || len(got) != 0 {
			t.Errorf("empty list: %v, %v", got, err)
		}
	})
	t.Run("last_resort", func(t *testing.T) {
		e := LastResortExtension()
		if e.Type != ExtensionTypeLastResort || len(e.Data) != 0 || ParseLastResort(e.Data) != nil {
			t.Fatalf("got %+v", e)
		}
	})
}

func TestExtensionParsersAreStrict(t *testing.T) {
	rc := RequiredCapabilities{ProposalTypes: []ProposalType{8}}.Extension().Data
	senders, _ := ExternalSendersExtension([]ExternalSender{{SignatureKey: []byte{1}, Credential: NewBasicCredential([]byte("s"))}})
	parsers := map[string]struct {
		good  []byte
		parse func([]byte) error
	}{
		"application_id":        {ApplicationIDExtension([]byte("x")).Data, func(b []byte) error { _, err := ParseApplicationID(b); return err }},
		"required_capabilities": {rc, func(b []byte) error { _, err := ParseRequiredCapabilities(b); return err }},
		"external_pub":          {ExternalPub{PublicKey: []byte{1}}.Extension().Data, func(b []byte) error { _, err := ParseExternalPub(b); return err }},
		"external_senders":      {senders.Data, func(b []byte) error { _, err := ParseExternalSenders(b); return err }},
		"last_resort":           {[]byte{}, ParseLastResort},
	}
	for name, p := range parsers {
		t.Run(name, func(t *testing.T) {
			if err := p.parse(p.good); err != nil {
				t.Fatalf("good body: %v", err)
			}
			if err := p.parse(append(append([]byte{}, p.good...), 0)); !errors.Is(err, ErrDecode) {
				t.Errorf("trailing byte: %v, want ErrDecode", err)
			}
			if len(p.good) > 0 {
				if err := p.parse(p.good[:len(p.good)-1]); !errors.Is(err, ErrDecode) {
					t.Errorf("truncated: %v, want ErrDecode", err)
				}
			}
		})
	}
	// An odd-length code point vector cannot be split into uint16s.
	if _, err := ParseRequiredCapabilities([]byte{1, 0xff, 0, 0}); !errors.Is(err, ErrDecode) {
		t.Errorf("odd-length vector: %v, want ErrDecode", err)
	}
}

func TestUpdatePathCodec(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	leaf, _ := testLeaf(t, cs, LeafNodeSourceCommit, []byte("g"), 1)
	p := &UpdatePath{LeafNode: *leaf, Nodes: []UpdatePathNode{
		{EncryptionKey: []byte{1}, EncryptedPathSecret: []HPKECiphertext{{KEMOutput: []byte{2}, Ciphertext: []byte{3}}, {KEMOutput: []byte{}, Ciphertext: []byte{}}}},
		{EncryptionKey: []byte{4}, EncryptedPathSecret: []HPKECiphertext{}},
	}}
	b, err := encode(p)
	if err != nil {
		t.Fatal(err)
	}
	var back UpdatePath
	if err := roundTrip(t, b, &back); err != nil {
		t.Fatal(err)
	}
	if !equalValues(&back, p) {
		t.Fatalf("got %+v, want %+v", back, *p)
	}
	for n := range len(b) {
		var short UpdatePath
		if err := decode(b[:n], &short); !errors.Is(err, ErrDecode) {
			t.Fatalf("prefix of %d bytes: %v, want ErrDecode", n, err)
		}
	}
}

func TestUnmarshalExtensionsDuplicates(t *testing.T) {
	for _, n := range []int{2, 8, 9, 40} {
		exts := make([]Extension, n)
		for i := range exts {
			exts[i] = Extension{Type: ExtensionType(0x100 + i), Data: []byte{byte(i)}}
		}
		var w Writer
		marshalExtensions(&w, exts)
		r := NewReader(w.Bytes())
		if got := unmarshalExtensions(r); r.Finish() != nil || len(got) != n {
			t.Fatalf("%d distinct extensions: %d decoded, err %v", n, len(got), r.Finish())
		}
		exts[n-1].Type = exts[(n-1)/2].Type
		w = Writer{}
		marshalExtensions(&w, exts)
		r = NewReader(w.Bytes())
		unmarshalExtensions(r)
		if err := r.Finish(); !errors.Is(err, ErrDecode) {
			t.Errorf("%d extensions with a duplicate: %v, want ErrDecode", n, err)
		}
	}
}

// TestValidateLeafNodeLongListsStayLinear checks that hostile leaves with
// long capability and extension lists are validated quickly.
func TestValidateLeafNodeLongListsStayLinear(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	ln, sigPriv := testLeaf(t, cs, LeafNodeSourceUpdate, nil, 0)
	const n = 50000
	for i := range n {
		ln.Capabilities.Extensions = append(ln.Capabilities.Extensions, ExtensionType(0x1000+i))
		ln.Capabilities.Credentials = append(ln.Capabilities.Credentials, CredentialType(0x1000+i))
		ln.Extensions = append(ln.Extensions, Extension{Type: ExtensionType(0x1000 + i), Data: []byte{}})
	}
	if err := ln.sign(nil, cs, sigPriv, nil, 0); err != nil {
		t.Fatal(err)
	}
	b, err := encode(ln)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var back LeafNode
	if err := decode(b, &back); err != nil {
		t.Fatal(err)
	}
	rc := &RequiredCapabilities{ExtensionTypes: ln.Capabilities.Extensions[:n], CredentialTypes: ln.Capabilities.Credentials[:n]}
	v := &leafValidation{Use: leafInUpdate, CipherSuite: cs, RequiredCapabilities: rc, CredentialTypesInUse: rc.CredentialTypes}
	if err := validateLeafNode(&back, v); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("decode and validation took %v", d)
	}
}
