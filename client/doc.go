// Package client is the group API of LibXMTP in Go: an installation's
// identity, key packages, groups, members, metadata, messages and sync,
// sharing groups with the official libxmtp (1.9.1) through an XMTP v3 node.
// It reaches the node only through the wire stubs and imports mls, wire,
// identity, policy and storage; it must not import node or anything above
// it (STYLE.md §1).
//
// Facts come from shared/spec/xmtp-wire-identity-and-api.md ("spec §N")
// and shared/spec/xmtp-groups.md; every byte on the wire matches what
// libxmtp produces: key packages (suite 3, MlsCredential, application_id,
// libxmtp's capabilities without X-Wing, last resort, openmls lifetimes),
// HPKE welcome wrapping with WelcomeMetadata, the GroupContext extensions
// of a new group, PlaintextEnvelope V1 with EncodedContent, message ids,
// and sender HMACs.
//
// # Life of a client
//
// [New] opens (or creates) one installation's SQLite database and
// [Client.Register] puts it on the network. [Client.CreateGroup],
// [Group.AddMembers], [Client.SyncWelcomes], [Group.SendText] and
// [Group.Sync] are the group API. Our own commits are merged only after
// the node accepted them and they came back in a sync; welcomes are sent
// after that, carrying the commit's cursor.
//
// # Concurrency and storage
//
// Each group's MLS state is owned by one goroutine of the client, fed by a
// bounded queue; a group's new MLS state, its cursor and the messages that
// produced it are written in one transaction. Private keys and epoch
// secrets live in the database in the clear.
//
// # Not yet
//
// Not yet implemented (issue 4): policy and identity validation of received
// commits, RemoveMembers and UpdateInstallations, DMs, streams, the intent
// queue for commits, transcript (GroupUpdated) messages, X-Wing and
// welcome pointers.
package client
