// Package streamtap lets the module's own programs look inside a streamdemo
// stream where the public API stays closed: the server-sent events as they
// arrive (what `streamdemo record` saves) and where a stream goes (for the
// notebook's waiting line).
package streamtap

import (
	"context"
	"sync"
)

type eventsKey struct{}

// WithEvents returns a context whose streams give f each server-sent
// event's JSON as it arrives, before it is read. The slice is only valid
// during the call.
func WithEvents(ctx context.Context, f func(event []byte)) context.Context {
	return context.WithValue(ctx, eventsKey{}, f)
}

// Events returns the function WithEvents put in ctx, or nil.
func Events(ctx context.Context) func(event []byte) {
	f, _ := ctx.Value(eventsKey{}).(func([]byte))
	return f
}

var (
	whereOnce sync.Once
	where     func(stream any) (provider, baseURL string)
)

// SetWhere is called once, by package streamdemo as it loads, with the
// function that tells where one of its streams goes; later calls do nothing.
func SetWhere(f func(stream any) (provider, baseURL string)) {
	whereOnce.Do(func() { where = f })
}

// Where returns the provider and base URL of a *streamdemo.Stream.
func Where(stream any) (provider, baseURL string) {
	if where == nil {
		return "", ""
	}
	return where(stream)
}
