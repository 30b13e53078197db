package streamdemo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/streamdemo/streamdemo/internal/elapsed"
)

// Stream is one streamed answer. Range over Chunks once; afterwards (or at any
// point, even after an error) Text, Sources, Usage, Model, FinishReason and
// Timing tell what arrived, and Err why it ended early. Provider and BaseURL
// say where it asks.
type Stream struct {
	tries             *retrier           // the HTTP side: attempts, retries, failures
	stop              context.CancelFunc // cancels the caller's context for this stream
	asked             string             // the model asked for, until the server names one
	provider, baseURL string             // where the requests go (the client's)
	started           bool

	text, reasoning strings.Builder
	sources         []Source
	usage           *Usage
	model, finish   string
	done            bool
	timing          Timing
	err             error
}

// newStream prepares the answer to req with s; a request that names no
// model, where s has none either, fails when it is read.
func newStream(ctx context.Context, set resolved, req Request) *Stream {
	set.Model = first(req.Model, set.Model)
	req.Model = set.Model
	var proto protocol = chatProtocol{}
	if set.Protocol == ProtocolResponses || set.Protocol == ProtocolAgent {
		proto = responsesProtocol{}
	}
	parent, stop := context.WithCancel(ctx)
	s := &Stream{tries: newRetrier(parent, set, req, proto), stop: stop, asked: set.Model, provider: set.Provider, baseURL: set.BaseURL}
	if req.Model == "" {
		s.err = &Error{Kind: ErrConfig, Provider: set.Provider, Message: "no model chosen", facts: facts{baseURL: set.BaseURL, noModel: true}}
	}
	return s
}

// Chunks returns an iterator over the answer, chunk by chunk, as it arrives:
//
//	for chunk := range stream.Chunks() {
//		fmt.Print(chunk.Text)
//	}
//	if err := stream.Err(); err != nil {
//		fmt.Println(streamdemo.Hint(err))
//	}
//
// A failure ends the loop; Err says what it was. Leaving the loop early,
// cancelling the context or calling Stop closes the connection at once. A
// stream is read once: ranging again yields nothing, and Err keeps the first
// reading's error, or says the stream was already read.
func (s *Stream) Chunks() iter.Seq[Chunk] {
	return func(yield func(Chunk) bool) {
		if s.started {
			if s.err == nil {
				s.err = &Error{Kind: ErrConfig, Message: "this stream was already read: start a new one to ask again"}
			}
			return
		}
		s.started = true
		if err := s.run(yield); err != nil {
			s.err = err
		}
	}
}

// Stop ends the stream at once, keeping what arrived; Err then reports
// ErrCancelled. It is safe to call from another goroutine, such as a signal
// handler.
func (s *Stream) Stop() { s.stop() }

// run sends the request and yields chunks until the stream ends.
func (s *Stream) run(yield func(Chunk) bool) error {
	s.timing.Start = time.Now()
	defer func() { s.timing.Total = time.Since(s.timing.Start) }()
	defer s.stop()
	if s.err != nil { // no model chosen
		return s.err
	}
	events, err := s.tries.connect()
	defer s.tries.hangUp()
	if err != nil {
		return s.fail(err)
	}
	defer events.Close()
	for {
		ev, err := events.next()
		if errors.Is(err, io.EOF) && !s.tries.over() {
			if !s.done {
				return s.fail(&Error{Kind: ErrBroken, Message: "the server closed the stream without finishing"})
			}
			return nil
		}
		if err != nil {
			return s.fail(err)
		}
		if ev.err != nil {
			s.apply(ev) // a terminal failure still carries usage, sources and model
			return s.fail(ev.err)
		}
		if chunk, ok := s.apply(ev); ok && !yield(chunk) {
			return nil
		}
	}
}

// fail is err as an *Error that says how far the stream had come.
func (s *Stream) fail(err error) *Error { return s.tries.fail(err, s.timing.Chunks) }

// apply records an event and returns the chunk to show, if it carries text.
func (s *Stream) apply(ev event) (Chunk, bool) {
	for _, src := range ev.sources {
		s.addSource(src)
	}
	if ev.usage != nil {
		s.usage = ev.usage
	}
	s.model = first(ev.model, s.model)
	s.finish = first(ev.finish, s.finish)
	s.done = s.done || ev.done
	if ev.text == "" && ev.reasoning == "" {
		return Chunk{}, false
	}
	ev.text, ev.reasoning = strings.ToValidUTF8(ev.text, "\uFFFD"), strings.ToValidUTF8(ev.reasoning, "\uFFFD")
	s.text.WriteString(ev.text)
	s.reasoning.WriteString(ev.reasoning)
	at := time.Since(s.timing.Start)
	s.timing.Chunks++
	if s.timing.Chunks == 1 {
		s.timing.FirstChunk = at
	}
	s.timing.Arrivals = append(s.timing.Arrivals, Arrival{At: at, Chars: s.text.Len()})
	return Chunk{Text: ev.text, Reasoning: ev.reasoning, Index: s.timing.Chunks, Elapsed: at}, true
}

func (s *Stream) addSource(src Source) {
	same := func(o Source) bool { return o.Number == src.Number }
	if src.Number <= 0 { // no id (a fetched page): the same URL is the same source
		src.Number = len(s.sources) + 1
		same = func(o Source) bool { return o.URL == src.URL }
	}
	i := slices.IndexFunc(s.sources, same)
	if i >= 0 { // a later event may repeat a source with less detail
		old := &s.sources[i]
		if src.Title != "" && src.Title != src.URL {
			old.Title = src.Title
		}
		old.URL = first(src.URL, old.URL)
		old.Snippet = first(src.Snippet, old.Snippet)
		old.Date = first(src.Date, old.Date)
		return
	}
	s.sources = append(s.sources, src)
	slices.SortFunc(s.sources, func(a, b Source) int { return a.Number - b.Number })
}

// Text returns the answer received so far: all of it after a clean end, the
// part that arrived before a failure otherwise.
func (s *Stream) Text() string { return s.text.String() }

// Reasoning returns the thinking text, for models that stream it separately.
func (s *Stream) Reasoning() string { return s.reasoning.String() }

// Sources returns the cited web pages, ordered by their [n] number.
func (s *Stream) Sources() []Source { return slices.Clone(s.sources) }

// Usage returns the token counts and cost, or nil if the server sent none.
func (s *Stream) Usage() *Usage { return s.usage }

// Model returns the model that actually answered, as the server named it.
func (s *Stream) Model() string { return s.model }

// FinishReason says why the answer ended ("stop", "length", ...), if known.
func (s *Stream) FinishReason() string { return s.finish }

// Timing returns when the chunks arrived.
func (s *Stream) Timing() Timing { return s.timing }

// Err returns the error that ended the stream, or nil: check it after the
// loop over Chunks. Hint(err) is the sentence to show a learner.
func (s *Stream) Err() error { return s.err }

// Provider returns the name of the provider the stream asks, e.g.
// "perplexity": the client's, whatever the server answering calls itself.
func (s *Stream) Provider() string { return s.provider }

// BaseURL returns the base URL the stream's requests go to, e.g.
// "https://api.perplexity.ai/v1".
func (s *Stream) BaseURL() string { return s.baseURL }

// Summary is one line for after the answer: model, time to first chunk,
// total time, chunks, tokens per second, tokens and cost when known.
func (s *Stream) Summary() string {
	t := s.timing
	parts := []string{
		"model " + first(s.model, s.asked, "unknown"),
		"first chunk " + elapsed.String(t.FirstChunk),
		"total " + elapsed.String(t.Total),
		fmt.Sprintf("%d chunks", t.Chunks),
	}
	if u := s.usage; u != nil {
		gen := t.Total - t.FirstChunk // generation time after the first chunk
		if t.Chunks < 2 {
			gen = t.Total // one chunk: all of it was waiting
		}
		if u.OutputTokens > 0 && gen > 0 {
			parts = append(parts, fmt.Sprintf("%.1f tokens/s", float64(u.OutputTokens)/gen.Seconds()))
		}
		parts = append(parts, fmt.Sprintf("%d tokens (%d in, %d out)", u.TotalTokens, u.InputTokens, u.OutputTokens))
		if u.Currency != "" {
			parts = append(parts, fmt.Sprintf("cost %.5f %s", u.Cost, u.Currency))
		}
	}
	return strings.Join(parts, " · ")
}
