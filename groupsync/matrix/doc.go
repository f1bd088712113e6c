// Package matrix implements the groupsync connector for Matrix with mautrix.
// No mautrix type leaves this package.
package matrix
