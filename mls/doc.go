// Package mls implements the Messaging Layer Security protocol of RFC 9420
// for all seven cipher suites of its registry: the TLS presentation-language
// codec, cipher suites, the ratchet tree and TreeKEM, the key schedule, the
// secret tree, message framing, proposals, commits, Welcome messages and key
// packages.
//
// It knows nothing of XMTP, protobuf, storage, logging or contexts, and it
// imports none of this module's packages. Randomness is always passed in as
// an io.Reader (nil means crypto/rand) and time as a value, so every
// operation can be reproduced.
//
// Remote input is untrusted until verified: decoding never panics, and a
// message that breaks a rule of the RFC is rejected with a *ValidationError
// naming the section. Processing a commit stages it; the caller inspects the
// staged commit (sender, proposals, added and removed leaves, new group
// context extensions) and then merges or discards it.
package mls
