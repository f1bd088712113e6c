package plugins

import "context"

// callerKey is the context key of the plugin acting through [Actions].
type callerKey struct{}

// withCaller returns ctx marked as the ctx of an action plugin id asked
// for, so that [Actions] can tell who acts ([Caller]).
func withCaller(ctx context.Context, id ID) context.Context {
	return context.WithValue(ctx, callerKey{}, id)
}

// Caller returns the plugin on whose behalf an [Actions] method was
// called: the [Host] marks the ctx it passes to Actions. It returns false
// for a ctx no Host marked (a command's actions, say).
func Caller(ctx context.Context) (ID, bool) {
	id, ok := ctx.Value(callerKey{}).(ID)
	return id, ok
}
