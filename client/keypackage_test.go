package client

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"mlsbridge/identity"
	"mlsbridge/mls"
	"mlsbridge/wire/content"
)

// testRand is a deterministic randomness source for one test.
func testRand(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	return rand.NewChaCha8(s)
}

const testInbox = identity.InboxID("fcd18d86276d7a99fe522dba9660c420f03c8648785ada7c5daae232a3df77a9")

func testKeyPackage(t *testing.T, now time.Time) (*KeyPackageBundle, ed25519.PrivateKey) {
	t.Helper()
	r := testRand(1)
	_, sk, err := ed25519.GenerateKey(r)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := newKeyPackage(r, now, sk.Seed(), testInbox)
	if err != nil {
		t.Fatalf("newKeyPackage: %v", err)
	}
	return kp, sk
}

// TestKeyPackageAsLibxmtp checks every field spec §6.3 fixes.
func TestKeyPackageAsLibxmtp(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	b, sk := testKeyPackage(t, now)
	kp := b.KeyPackage
	if kp.Version != mls.ProtocolVersionMLS10 || kp.CipherSuite != 3 {
		t.Errorf("version %d suite %d, want 1 and 3", kp.Version, kp.CipherSuite)
	}
	ln := kp.LeafNode
	if !bytes.Equal(ln.SignatureKey, sk.Public().(ed25519.PublicKey)) {
		t.Error("leaf signature key is not the installation key")
	}
	wantCred := append([]byte{0x0a, 64}, testInbox...)
	if ln.Credential.Type != mls.CredentialTypeBasic || !bytes.Equal(ln.Credential.Identity, wantCred) {
		t.Errorf("credential = %d %x, want basic %x", ln.Credential.Type, ln.Credential.Identity, wantCred)
	}
	wantExt := []mls.ExtensionType{0x000a, 0x0001, 0xff02, 0xff00, 0xff01, 0xf000}
	if got := ln.Capabilities.Extensions; !equalSlices(got, wantExt) {
		t.Errorf("capability extensions = %04x, want %04x", got, wantExt)
	}
	if got := ln.Capabilities.Proposals; !equalSlices(got, []mls.ProposalType{7}) {
		t.Errorf("capability proposals = %v, want [7]", got)
	}
	if got := ln.Capabilities.CipherSuites; !equalSlices(got, []mls.CipherSuite{3}) {
		t.Errorf("capability suites = %v", got)
	}
	if got := ln.Capabilities.Credentials; !equalSlices(got, []mls.CredentialType{1}) {
		t.Errorf("capability credentials = %v", got)
	}
	if lt := ln.Lifetime; lt == nil || lt.NotBefore != 1_800_000_000-3600 || lt.NotAfter != 1_800_000_000+7_257_600 {
		t.Errorf("lifetime = %+v", ln.Lifetime)
	}
	if len(ln.Extensions) != 1 || ln.Extensions[0].Type != mls.ExtensionTypeApplicationID {
		t.Fatalf("leaf extensions = %+v, want application_id only", ln.Extensions)
	}
	wantApp := append([]byte{0x40, 64}, testInbox...) // <V> with a 2-byte varint prefix
	if !bytes.Equal(ln.Extensions[0].Data, wantApp) {
		t.Errorf("application_id data = %x, want %x", ln.Extensions[0].Data, wantApp)
	}
	if len(kp.Extensions) != 1 || kp.Extensions[0].Type != mls.ExtensionTypeLastResort || len(kp.Extensions[0].Data) != 0 {
		t.Errorf("key package extensions = %+v, want last_resort only", kp.Extensions)
	}
	if bytes.Equal(kp.InitKey, ln.EncryptionKey) {
		t.Error("init key equals encryption key")
	}
	// The uploaded bytes decode back and pass the node's and a peer's checks.
	v, err := verifyKeyPackage(b.Encoded, identity.InstallationID{}, now)
	if err != nil {
		t.Fatalf("verifyKeyPackage: %v", err)
	}
	if v.InboxID != testInbox || !bytes.Equal(v.Installation[:], ln.SignatureKey) {
		t.Errorf("verified = %s %s", v.InboxID, v.Installation)
	}
	again, err := v.KeyPackage.MarshalBinary()
	if err != nil || !bytes.Equal(again, b.Encoded) {
		t.Errorf("re-encoding differs: %v", err)
	}
}

func equalSlices[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestVerifyKeyPackageRejects(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	b, _ := testKeyPackage(t, now)
	cases := map[string]struct {
		data []byte
		now  time.Time
		want identity.InstallationID
	}{
		"empty":              {data: nil, now: now},
		"trailing bytes":     {data: append(append([]byte(nil), b.Encoded...), 0), now: now},
		"expired":            {data: b.Encoded, now: now.Add(85 * 24 * time.Hour)},
		"not yet valid":      {data: b.Encoded, now: now.Add(-2 * time.Hour)},
		"wrong installation": {data: b.Encoded, now: now, want: identity.InstallationID{1}},
		"truncated":          {data: b.Encoded[:len(b.Encoded)-1], now: now},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := verifyKeyPackage(c.data, c.want, c.now)
			var kpe *KeyPackageError
			if !errors.As(err, &kpe) || !errors.Is(err, ErrInvalidKeyPackage) {
				t.Fatalf("err = %v, want a *KeyPackageError", err)
			}
		})
	}
}

// TestNewGroupExtensions checks the GroupContext of a new group against
// xmtp-groups.md §1.3 and §2.
func TestNewGroupExtensions(t *testing.T) {
	exts, err := newGroupExtensions(testRand(2), testInbox, &GroupOptions{Name: "g"})
	if err != nil {
		t.Fatal(err)
	}
	var types []mls.ExtensionType
	for _, e := range exts {
		types = append(types, e.Type)
	}
	if want := []mls.ExtensionType{0xf000, 0xff00, 0xff01, 0xff02, 0x0003}; !equalSlices(types, want) {
		t.Fatalf("extension order = %04x, want %04x", types, want)
	}
	// 0xF000 carries two length prefixes.
	imm := mls.NewReader(exts[0].Data)
	inner := imm.Opaque()
	var md content.GroupMetadataV1
	if imm.Finish() != nil || proto.Unmarshal(inner, &md) != nil {
		t.Fatalf("immutable metadata %x is not a byte vector of GroupMetadataV1", exts[0].Data)
	}
	g, err := parseGroupExtensions(exts)
	if err != nil {
		t.Fatalf("parseGroupExtensions: %v", err)
	}
	if g.Metadata.GetCreatorInboxId() != string(testInbox) || g.Metadata.GetConversationType() != content.ConversationType_CONVERSATION_TYPE_GROUP {
		t.Errorf("metadata = %v", g.Metadata)
	}
	attrs := g.Mutable.GetAttributes()
	if attrs[AttrGroupName] != "g" || len(attrs[AttrCommitLogSigner]) != 64 {
		t.Errorf("attributes = %v", attrs)
	}
	if _, err := hex.DecodeString(attrs[AttrCommitLogSigner]); err != nil {
		t.Errorf("commit log signer is not hex")
	}
	if sa := g.Mutable.GetSuperAdminList().GetInboxIds(); len(sa) != 1 || sa[0] != string(testInbox) {
		t.Errorf("super admins = %v", sa)
	}
	if m := g.Membership.GetMembers(); len(m) != 1 || m[string(testInbox)] != 0 {
		t.Errorf("membership = %v", m)
	}
	rc, err := mls.ParseRequiredCapabilities(exts[4].Data)
	if err != nil {
		t.Fatal(err)
	}
	if want := []mls.ExtensionType{0xff01, 0xff00, 0xff02, 0xf000, 0x000a, 0x0001}; !equalSlices(rc.ExtensionTypes, want) {
		t.Errorf("required extensions = %04x", rc.ExtensionTypes)
	}
	if !equalSlices(rc.ProposalTypes, []mls.ProposalType{7}) || !equalSlices(rc.CredentialTypes, []mls.CredentialType{1}) {
		t.Errorf("required capabilities = %+v", rc)
	}
	// Our own key package satisfies the group's requirements: a group
	// created with them accepts it as an Add.
	now := time.Unix(1_800_000_000, 0)
	b, sk := testKeyPackage(t, now)
	cred, _ := credentialFor(testInbox)
	grp, err := mls.NewGroup(mls.Config{Rand: testRand(3)}, Suite, []byte("0123456789abcdef"), sk.Seed(), cred, leafOptions(testInbox, now), exts)
	if err != nil {
		t.Fatalf("NewGroup: %v", err)
	}
	r := testRand(4)
	_, sk2, _ := ed25519.GenerateKey(r)
	other, err := newKeyPackage(r, now, sk2.Seed(), testInbox)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := grp.Commit(mls.CommitOptions{Adds: []mls.KeyPackage{other.KeyPackage}, RatchetTreeInWelcome: true}); err != nil {
		t.Fatalf("commit adding our key package: %v", err)
	}
	_ = b
}

func TestParseGroupExtensionsRejects(t *testing.T) {
	good, err := newGroupExtensions(testRand(2), testInbox, &GroupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	noAdmins, _ := protoExtension(ExtensionMutableMetadata, &content.GroupMutableMetadataV1{})
	unspecified, _ := immutableMetadataExtension(&content.GroupMetadataV1{CreatorInboxId: string(testInbox)})
	dm, _ := immutableMetadataExtension(&content.GroupMetadataV1{ConversationType: content.ConversationType_CONVERSATION_TYPE_DM})
	noPolicy, _ := protoExtension(ExtensionGroupPermissions, &content.GroupMutablePermissionsV1{})
	cases := map[string][]mls.Extension{
		"no immutable metadata": good[1:],
		"missing admin lists":   withExtension(good, noAdmins),
		"unspecified type":      withExtension(good, unspecified),
		"dm without members":    withExtension(good, dm),
		"no policy set":         withExtension(good, noPolicy),
		"raw protobuf metadata": withExtension(good, mls.Extension{Type: ExtensionImmutableMetadata, Data: []byte{0x08, 0x01}}),
	}
	for name, exts := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := parseGroupExtensions(exts); !errors.Is(err, ErrInvalidGroup) {
				t.Fatalf("err = %v, want ErrInvalidGroup", err)
			}
		})
	}
}
