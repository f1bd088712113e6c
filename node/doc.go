// Package node is an XMTP v3-compatible node: the xmtp.mls.api.v1.MlsApi
// and xmtp.identity.api.v1.IdentityApi gRPC services that an unmodified
// libxmtp 1.9.1 client (npm @xmtp/node-bindings) uses as its host, with
// their streams and their persistence. Facts and section numbers come from
// shared/spec/xmtp-wire-identity-and-api.md ("spec §N").
//
// # Serving
//
// [Start] opens a database (storage.Open: SQLite file or PostgreSQL DSN),
// listens and serves cleartext HTTP/2 gRPC; [Node.Stop] shuts down
// gracefully. [NewServer] gives the services alone, for callers with their
// own database and listener. The server permits libxmtp's keepalive pings
// (every 16 s, also while idle), reads requests up to 50 MiB and stores
// single payloads up to 25 MiB.
//
// # Semantics
//
// Every RPC libxmtp calls behaves as spec §2.11 and §3.2 describe:
// global, increasing ids that never change; descending 100-row pages by
// default with exclusive cursors and id_cursor set only on full pages;
// subscriptions that send headers at once, replay from the cursor, then
// go live with neither gap nor duplicate (writes of one kind are
// serialized so ids are committed and published in order; a subscriber
// that falls behind catches up from the database); one key package per
// installation, replaced on upload. Validation uses mls (key packages,
// group-message framing) and identity (every association rule). Invalid
// input, including malformed protobuf, gets InvalidArgument with a message
// naming the field and the rule, and nothing is stored.
//
// # Logging
//
// An injected *slog.Logger gets Info for lifecycle and accepted identity
// updates and Debug for each call; payload bytes and keys are never
// logged.
//
// # Imports
//
// node imports mls, wire, identity and storage, plus grpc and protobuf;
// nothing above it (STYLE.md §1).
package node
