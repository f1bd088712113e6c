// Package plugins is the compile-time plugin registry, the narrow host API
// that plugins receive, and (in subfolders) the built-in moderation plugins.
package plugins
