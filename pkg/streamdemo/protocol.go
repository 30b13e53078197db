package streamdemo

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	openai "github.com/sashabaranov/go-openai"
)

// protocol is one wire format: how to ask, and what each wire event means.
// A protocol knows nothing of Stream: it hands back events.
type protocol interface {
	open(ctx context.Context, c *openai.Client, s resolved, req Request) (events, error)
	decode(line []byte) (event, error)
}

// event is what one wire event means to the package: any of a text delta,
// sources, usage, the model's name, the finish, or a failure.
type event struct {
	text, reasoning string
	sources         []Source
	usage           *Usage
	model, finish   string
	done            bool   // the answer finished cleanly
	err             *Error // a failure reported inside the stream
}

// events yields an answer's events one by one, then io.EOF.
type events interface {
	next() (event, error)
	Close() error
}

// rawEvents is a go-openai stream: the JSON of each server-sent event.
type rawEvents interface {
	RecvRaw() ([]byte, error)
	Close() error
}

// wire returns the events of a stream that opened, or the error it met;
// s.onEvent (Config.OnEvent) sees each event as it arrives.
func wire(s resolved, raw rawEvents, err error, p protocol) (events, error) {
	if err != nil {
		return nil, err
	}
	return wireEvents{raw: raw, proto: p, onEvent: s.onEvent}, nil
}

// wireEvents decodes a server-sent event stream (go-openai's) as it arrives.
type wireEvents struct {
	raw     rawEvents
	proto   protocol
	onEvent func([]byte)
}

func (w wireEvents) next() (event, error) {
	line, err := w.raw.RecvRaw()
	if err != nil {
		return event{}, err
	}
	if w.onEvent != nil {
		w.onEvent(line)
	}
	ev, err := w.proto.decode(line)
	if err != nil {
		return event{}, &Error{Kind: ErrMalformed, Message: err.Error(), cause: err}
	}
	return ev, nil
}

func (w wireEvents) Close() error { return w.raw.Close() }

// eventList is a whole answer, asked for without streaming, as the events
// a stream would have brought: it goes through the same fold as a stream.
type eventList []event

func (l *eventList) next() (event, error) {
	if len(*l) == 0 {
		return event{}, io.EOF
	}
	ev := (*l)[0]
	*l = (*l)[1:]
	return ev, nil
}

func (l *eventList) Close() error { return nil }

// lenientUnmarshal decodes JSON, tolerating fields whose type differs from
// what we expect (servers vary); only invalid JSON is an error.
func lenientUnmarshal(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return nil
	}
	return err
}
