package node

import (
	"fmt"
	"slices"
	"time"

	"mlsbridge/identity"
	"mlsbridge/mls"
)

// groupMessageInfo is what the node derives from a group message's MLS
// framing (spec §4.1).
type groupMessageInfo struct {
	groupID  []byte
	isCommit bool
}

// parseGroupMessage parses data as an MLSMessage holding a PublicMessage
// or PrivateMessage and returns its group id and whether it is a commit.
// Nothing is decrypted or verified: the node only reads the framing.
func parseGroupMessage(data []byte) (groupMessageInfo, error) {
	if len(data) == 0 {
		return groupMessageInfo{}, fmt.Errorf("data is empty; it must be a TLS-serialized MLSMessage")
	}
	m, err := mls.ParseMLSMessage(data)
	if err != nil {
		return groupMessageInfo{}, fmt.Errorf("data is not an MLS message: %w", err)
	}
	var info groupMessageInfo
	switch m.WireFormat {
	case mls.WireFormatPrivateMessage:
		info = groupMessageInfo{groupID: m.PrivateMessage.GroupID, isCommit: m.PrivateMessage.ContentType == mls.ContentTypeCommit}
	case mls.WireFormatPublicMessage:
		c := &m.PublicMessage.Content
		info = groupMessageInfo{groupID: c.GroupID, isCommit: c.ContentType == mls.ContentTypeCommit}
	default:
		return groupMessageInfo{}, fmt.Errorf("data has wire format %s, which is not a protocol message (want a public or private message)", m.WireFormat)
	}
	if len(info.groupID) == 0 {
		return groupMessageInfo{}, fmt.Errorf("data names an empty MLS group id")
	}
	return info, nil
}

// keyPackageInfo is what the node keeps from a validated key package.
type keyPackageInfo struct {
	// installationKey is the leaf signature key (spec §4.3).
	installationKey []byte
	inboxID         identity.InboxID
}

// mlsMessageKeyPackagePrefix turns a bare KeyPackage into an MLSMessage of
// wire format mls_key_package: version mls10 (0x0001), wire format 5.
var mlsMessageKeyPackagePrefix = []byte{0x00, 0x01, 0x00, 0x05}

// defaultExtensionTypes are the RFC 9420 §7.2 extensions a leaf need not
// list in its capabilities.
var defaultExtensionTypes = []mls.ExtensionType{
	mls.ExtensionTypeApplicationID, mls.ExtensionTypeRatchetTree, mls.ExtensionTypeRequiredCapabilities,
	mls.ExtensionTypeExternalPub, mls.ExtensionTypeExternalSenders,
}

// validateKeyPackage checks a TLS-serialized KeyPackage as libxmtp's
// validation service does (spec §6.4): it decodes with no trailing bytes,
// has version mls10 and a supported suite, a key_package leaf whose
// signature and lifetime (at now) are valid, init_key distinct from the
// leaf encryption key, a valid key package signature, every key-package
// extension listed in the leaf capabilities, and a Basic credential whose
// identity is an MlsCredential naming a well-formed inbox id (spec §6.2).
func validateKeyPackage(b []byte, now time.Time) (keyPackageInfo, error) {
	if len(b) == 0 {
		return keyPackageInfo{}, fmt.Errorf("key_package_tls_serialized is empty")
	}
	m, err := mls.ParseMLSMessage(append(slices.Clip(mlsMessageKeyPackagePrefix), b...))
	if err != nil {
		return keyPackageInfo{}, fmt.Errorf("not a TLS-serialized KeyPackage: %w", err)
	}
	kp := m.KeyPackage
	if err := mls.ValidateKeyPackage(kp, kp.CipherSuite, now); err != nil {
		return keyPackageInfo{}, err
	}
	ln := &kp.LeafNode
	for _, e := range kp.Extensions {
		if !slices.Contains(defaultExtensionTypes, e.Type) && !slices.Contains(ln.Capabilities.Extensions, e.Type) {
			return keyPackageInfo{}, fmt.Errorf("key package extension 0x%04x is not listed in the leaf node's capabilities", uint16(e.Type))
		}
	}
	if ln.Credential.Type != mls.CredentialTypeBasic {
		return keyPackageInfo{}, fmt.Errorf("credential type 0x%04x, want basic (0x0001) carrying an MlsCredential (spec §6.2)", uint16(ln.Credential.Type))
	}
	inbox, err := identity.ParseCredentialIdentity(ln.Credential.Identity)
	if err != nil {
		return keyPackageInfo{}, fmt.Errorf("credential identity: %w", err)
	}
	if !inbox.Valid() {
		return keyPackageInfo{}, fmt.Errorf("credential inbox id %q is not 64 lowercase hex digits (spec §6.2)", truncate(string(inbox), 80))
	}
	if len(ln.SignatureKey) != 32 {
		return keyPackageInfo{}, fmt.Errorf("leaf signature key is %d bytes, want a 32-byte Ed25519 installation key", len(ln.SignatureKey))
	}
	return keyPackageInfo{installationKey: slices.Clone(ln.SignatureKey), inboxID: inbox}, nil
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
