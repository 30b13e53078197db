package streamdemo

import (
	"context"
	"io"

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

// lines replays event lines made up by the package: a whole answer, asked
// for without streaming, read as a stream of one.
type lines [][]byte

func (l *lines) RecvRaw() ([]byte, error) {
	if len(*l) == 0 {
		return nil, io.EOF
	}
	line := (*l)[0]
	*l = (*l)[1:]
	return line, nil
}

func (l *lines) Close() error { return nil }
