// Package client is the group API of LibXMTP in Go: groups, DMs, members,
// metadata, messages, sync and streams. It reaches the node only through the
// wire stubs and imports mls, wire, identity, policy and storage.
package client
