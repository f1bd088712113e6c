// Package policy evaluates XMTP group permission policies: policy sets,
// permission levels, metadata policies and presets. It is pure: no I/O, no
// context, no logging, no clock. It imports only identity and wire types.
package policy
