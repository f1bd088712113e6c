// Package plugintest is what plugin tests need to run a plugin through the
// real [plugins.Manager] without a bot: a [Recorder] of the actions
// plugins ask for, a manual [Clock], an in-memory [Store] of settings and
// data, a [LogHandler] that keeps every record, and a [Harness] wiring them
// together for one group.
//
// It is for tests only; the bot backs the stores with storage.
package plugintest
