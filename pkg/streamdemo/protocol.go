package streamdemo

import (
	"context"

	openai "github.com/sashabaranov/go-openai"
)

// protocol is one wire format: how to open a stream and how to read its events.
type protocol interface {
	open(ctx context.Context, c *openai.Client, s settings, req Request) (eventReader, error)
	decode(line []byte) (event, error)
}

// eventReader yields the JSON of each server-sent event (go-openai's streams).
type eventReader interface {
	RecvRaw() ([]byte, error)
	Close() error
}

// event is what one wire event means to the package.
type event struct {
	text, reasoning string
	sources         []Source
	usage           *Usage
	model, finish   string
	done            bool   // the answer finished cleanly
	err             *Error // a failure reported inside the stream
}
