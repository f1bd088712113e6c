// Package commands parses and dispatches "!command" chat commands through a
// declarative command tree.
//
// It owns:
//   - the command-line grammar: words, quoting and escapes ([Tokenize],
//     [Quote]), and typed arguments: members by inbox id, address or mention
//     ([ParseMember]), durations ([ParseDuration]), choices and free text;
//   - the command tree, declared as data ([Command], [ArgSpec], [Check]),
//     with help generated from it ([Dispatcher.Help]);
//   - dispatch ([Dispatcher.Dispatch]): a composable pre-check decides what
//     is a command ([Prefix], [AnyOf], [AllOf]); then the command's role
//     and its check (typically a group policy, through mlsbridge/policy) are
//     tested before the handler runs; failures are replied in words a person
//     understands, and panics are recovered;
//   - the [Actions] interface handlers act through (a required core plus
//     optional capabilities found by type assertion), which the bot
//     implements;
//   - the built-in commands ([Builtins]).
//
// It is pure apart from what its Actions do: no I/O, no logging, no clock,
// no goroutines. Replies never show internal errors: only the UserMessage
// of an error that has one ([UserMessager]).
//
// It imports only policy of this module (STYLE.md §1). In particular it
// cannot import identity, so member arguments are a [Member] whose String
// is the canonical inbox id or address, which the caller converts at its
// edge.
package commands
