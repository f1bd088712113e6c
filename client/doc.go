// Package client is the group API of LibXMTP in Go: an installation's
// identity, key packages, groups, DMs, members, metadata, messages, sync
// and streams, sharing groups with the official libxmtp (1.9.1) through an
// XMTP v3 node. It reaches the node only through the wire stubs and imports
// mls, wire, identity, policy and storage; it must not import node or
// anything above it (STYLE.md §1).
//
// Facts come from shared/spec/xmtp-wire-identity-and-api.md ("spec §N")
// and shared/spec/xmtp-groups.md; every byte on the wire matches what
// libxmtp produces: key packages (suite 3, MlsCredential, application_id,
// libxmtp's capabilities without X-Wing, last resort, openmls lifetimes),
// HPKE welcome wrapping with WelcomeMetadata, the GroupContext extensions
// of a new group or DM, membership commits (Add + Remove + the new
// GroupMembership), PlaintextEnvelope V1 with EncodedContent, message ids,
// and sender HMACs.
//
// # Life of a client
//
// [New] opens (or creates) one installation's SQLite database and
// [Client.Register] puts it on the network. [Client.CreateGroup],
// [Client.FindOrCreateDM], [Group.AddMembers], [Group.RemoveMembers] and
// [Group.UpdateInstallations] change groups; [Group.Send] and
// [Group.SendMessageOptimistic] send; [Client.SyncWelcomes], [Group.Sync]
// and [Client.SyncAllWelcomesAndGroups] fetch; [Group.Stream],
// [Client.StreamAllMessages] and [Client.StreamConversations] follow the
// node live; [Group.FindMessages], [Client.FindGroups] and
// [Client.ListConversations] read what is stored.
//
// # Intents
//
// Everything we publish is first stored as an intent, in the same
// transaction as the MLS state it needs: a message (unpublished until it
// comes back from the node, then published, or failed), or a commit with
// the welcomes it owes. Our commits are merged only once they come back in
// a sync; their welcomes are sent after that, carrying the commit's cursor.
// A client that dies anywhere on the way picks up where it stopped:
// reopen it and call [Client.PublishPending] (any send or sync of the group
// does it too).
//
// # Concurrency and storage
//
// Each group's MLS state is owned by one goroutine of the client, fed by a
// bounded queue; a group's new MLS state, its cursor, the messages that
// produced it and its intent changes are written in one transaction.
// Streams own their goroutines (Close stops them). Private keys and epoch
// secrets live in the database in the clear.
//
// # What libxmtp accepts we accept
//
// A commit one member applies and another refuses forks the group, so a
// received commit is applied exactly when libxmtp 1.9.1 applies it, even
// where that lets a rule be broken. Two such commits are known (see
// checkCommitIdentity and commitContextExtensions; the hostile tests apply
// them on both sides):
//
//   - An added leaf whose MlsCredential names another inbox than the one
//     whose identity change brought its installation: libxmtp checks an
//     Add's installation id only. Both sides then attribute that leaf's
//     messages to the inbox its credential names (libxmtp's
//     extract_message_sender), and refuse its commits (its installation is
//     not in that inbox's association state, xmtp-groups.md §4 step 13).
//     Such a leaf is logged as a warning.
//   - A change of the immutable metadata (0xF000), which libxmtp's commit
//     validation never reads. Both sides then read the new extension where
//     libxmtp reads the group context: [GroupInfo.ConversationType] and
//     [GroupInfo.CreatorInboxID] (libxmtp's group_metadata), the
//     sender-side DM rules, and the DM members of later commits' add
//     exception. What was stored at join or creation stays, as libxmtp's
//     stored group does: the conversation type [GroupQuery] filters on,
//     and the DM id behind [GroupInfo.DMMembers], [GroupInfo.DMPeer] and
//     DM stitching (libxmtp's dm_id and dm_peer_inbox_id).
//
// Credentials, like the group context extensions, are decoded with prost's
// rules ([mlsbridge/identity.ParseCredentialIdentity]).
//
// # Validation and governance
//
// Received commits are checked as libxmtp checks them (xmtp-groups.md §4):
// the group context extensions decoded with prost's rules, the permission
// rules, and the identity rules (the installations added and removed must
// be the diff of the association states between the old and new sequence
// ids of the GroupMembership, credentials must belong to their inbox's
// state), and the minimum-version pause (see version.go). Governance is
// in governance.go and metadata.go (metadata, admins, permissions,
// disappearing settings), leave.go, deletion.go, enriched.go (reactions,
// replies, the enriched view), consent.go, disappearing.go (the expiry
// sweep and workers) and fork.go (commit logs, ReaddInstallations).
//
// # Not yet
//
// Device-sync consent, X-Wing, welcome pointers, libxmtp's key-update
// commit before a new member's first message, and ReaddRequest groups.
package client
