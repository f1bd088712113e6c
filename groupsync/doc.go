// Package groupsync maps XMTP groups to chat rooms and translates changes
// both ways. It declares the connector interfaces; the adapters in its
// subfolders implement them, and this package never imports them.
package groupsync
