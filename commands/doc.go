// Package commands parses and dispatches "!command" chat commands through a
// declarative command tree. Permission checks go through policy; actions go
// through an interface this package defines.
package commands
