// Package policy evaluates XMTP group permission policies exactly as
// libxmtp does, so that every member of a group shared with libxmtp reaches
// the same verdict on every commit (xmtp-groups §3 and §4).
//
// It owns:
//   - permission levels ([Role]) and base policies ([BasePolicy]);
//   - policy trees for the three policy kinds ([MembershipPolicy],
//     [MetadataPolicy], [PermissionsPolicy]) with the [And] and [Any]
//     combinators;
//   - the [PolicySet] stored in GroupContext extension 0xFF02, its presets
//     ([Default], [AdminsOnly], [DM]) and preset recognition, and the
//     [UpdatePermissionPolicy] operation;
//   - the protobuf encoding of that extension ([Marshal], [Unmarshal]), byte
//     for byte as libxmtp's prost code reads and writes it;
//   - evaluation of a proposed change against a group's state ([Evaluate],
//     [EvaluateIntent], [CheckLeave], [CheckDMWelcome], [CheckMinVersion]),
//     returning a [Decision] whose [Rule] says in words which rule decided.
//
// It is pure: no I/O, no context, no logging, no clock. All values are
// immutable once built (a [PolicySet]'s map excepted: see [PolicySet.Clone])
// and every function is safe for concurrent use.
//
// It imports only identity (for [mlsbridge/identity.InboxID]), wire/prost
// (prost's decoding rules) and protobuf's protowire; no wire type appears
// in its API (the tests cross-check the
// encoding against mlsbridge/wire/content). It must not import mls, storage,
// node, client or anything above them (STYLE.md §1).
//
// Spec references ("xmtp-groups §N") are to shared/spec/xmtp-groups.md.
package policy
