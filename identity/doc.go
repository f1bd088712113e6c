// Package identity owns XMTP inbox and installation identities: inbox ids,
// identity updates, signature texts, ERC-191 and installation-key
// signatures, and association state. It imports only wire from this module.
package identity
