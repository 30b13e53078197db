package streamdemo_test

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/practice"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

func TestSeedAnswerStreamsOverBothProtocols(t *testing.T) {
	t.Parallel()
	_, base := startPractice(t)
	want := practice.Choose(practice.SeedSystemPrompt, "How many stars are in the universe?")
	tokens := practice.Tokens(want.Text)
	for _, tc := range []struct {
		name, provider, key, model, wantModel string
		wantSources                           bool
		wantCost                              bool
	}{
		{"perplexity agent API with the seed's sonar-pro", streamdemo.Perplexity, testKey, "sonar-pro", "openai/gpt-5.4", true, true},
		{"openai chat completions", streamdemo.OpenAI, testKey, "gpt-4o-mini", "gpt-4o-mini", false, false},
		{"compatible server by base URL alone", "", "", "llama3", "llama3", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := streamdemo.Config{Provider: tc.provider, BaseURL: base, APIKey: tc.key}
			r := collect(t, context.Background(), cfg, streamdemo.Request{Model: tc.model, Messages: seedMessages})
			if r.err != nil {
				t.Fatalf("stream failed: %v", r.err)
			}
			if r.text() != want.Text || r.stream.Text() != want.Text {
				t.Errorf("text differs from the script:\n%q", r.text())
			}
			if len(r.chunks) != len(tokens) || r.stream.Timing().Chunks != len(tokens) {
				t.Errorf("got %d chunks, want one per token (%d)", len(r.chunks), len(tokens))
			}
			if got := r.stream.Model(); got != tc.wantModel {
				t.Errorf("model %q, want %q", got, tc.wantModel)
			}
			if got := r.stream.FinishReason(); got != "stop" {
				t.Errorf("finish reason %q, want stop", got)
			}
			u := r.stream.Usage()
			if u == nil || u.OutputTokens != len(tokens) || u.TotalTokens != u.InputTokens+u.OutputTokens || u.InputTokens == 0 {
				t.Errorf("usage %+v, want %d output tokens and a consistent total", u, len(tokens))
			}
			if tc.wantCost != (u != nil && u.Currency == "USD" && u.Cost > 0) {
				t.Errorf("usage %+v: cost reported %v, want %v", u, u != nil && u.Currency != "", tc.wantCost)
			}
			sources := r.stream.Sources()
			if tc.wantSources {
				if len(sources) != 5 {
					t.Fatalf("got %d sources, want 5", len(sources))
				}
				for i, s := range sources {
					if s.Number != i+1 || !strings.HasPrefix(s.URL, "https://") || s.Title == "" {
						t.Errorf("source %d = %+v", i+1, s)
					}
				}
			} else if len(sources) != 0 {
				t.Errorf("chat completions carry no sources, got %v", sources)
			}
			tm := r.stream.Timing()
			if tm.FirstChunk <= 0 || tm.Total < tm.FirstChunk || len(tm.Arrivals) != len(tokens) ||
				tm.Arrivals[len(tm.Arrivals)-1].Chars != len(want.Text) {
				t.Errorf("timing %+v does not describe the stream", tm)
			}
			if !strings.Contains(r.stream.Summary(), tc.wantModel) {
				t.Errorf("summary %q does not name the model", r.stream.Summary())
			}
		})
	}
}

func TestExercisesGetTheirScripts(t *testing.T) {
	t.Parallel()
	_, base := startPractice(t)
	for _, tc := range []struct{ system, question, wantStart string }{
		{practice.SeedSystemPrompt, "What is the population of the world?", "The world's population is about 8.2 billion"},
		{"You are an AI assistant that responds in haikus", "How many stars are in the universe?", "Countless distant suns,\n"},
		{practice.SeedSystemPrompt, "Why is the sky blue?", "This is the practice server, and it has no language model"},
	} {
		r := collect(t, context.Background(), streamdemo.Config{Provider: streamdemo.Practice, BaseURL: base},
			streamdemo.Request{Messages: []streamdemo.Message{{Role: "system", Content: tc.system}, {Role: "user", Content: tc.question}}})
		if r.err != nil || !strings.HasPrefix(r.text(), tc.wantStart) {
			t.Errorf("%q: got %q, %v; want it to start with %q", tc.question, r.text(), r.err, tc.wantStart)
		}
	}
}

func TestFaultsGiveTypedErrorsAndKeepPartialText(t *testing.T) {
	t.Parallel()
	srv, base := startPractice(t)
	script := practice.Choose(practice.SeedSystemPrompt, "How many stars are in the universe?")
	partial := strings.Join(practice.Tokens(script.Text)[:practice.FaultAfter], "")
	for _, provider := range []string{streamdemo.Perplexity, streamdemo.OpenAI} {
		for _, tc := range []struct {
			fault   string
			kind    streamdemo.Kind
			status  int
			partial bool
			says    string
		}{
			{"401", streamdemo.ErrKeyRejected, 401, false, "rejected the API key"},
			{"403", streamdemo.ErrKeyRejected, 403, false, "rejected the API key"},
			{"404", streamdemo.ErrUnknownModel, 404, false, "does not know this model"},
			{"429", streamdemo.ErrRateLimited, 429, false, "wait 2s"},
			{"500", streamdemo.ErrServer, 500, false, "try again"},
			{"drop", streamdemo.ErrBroken, 0, true, "cut mid-answer"},
			{"malformed", streamdemo.ErrMalformed, 0, true, "not valid JSON"},
			{"stall", streamdemo.ErrStalled, 0, true, "nothing arrived for 300ms"},
			{"failed", streamdemo.ErrFailed, 0, true, "answer failed"},
			{"cancelled", streamdemo.ErrServerCancelled, 0, true, "cancelled the answer before it finished"},
			{"error", streamdemo.ErrFailed, 0, true, "upstream connection lost"},
		} {
			switch {
			case provider == streamdemo.Perplexity && tc.fault == "404":
				tc.status = 400 // the Agent API answers an unknown model with 400 invalid_model
			case provider == streamdemo.OpenAI && (tc.fault == "cancelled" || tc.fault == "error"):
				tc.kind, tc.says = streamdemo.ErrFailed, "answer failed" // chat streams have one error object
			}
			t.Run(provider+" stream meets fault/"+tc.fault, func(t *testing.T) {
				cfg := streamdemo.Config{Provider: provider, BaseURL: base, APIKey: testKey, IdleTimeout: 300 * time.Millisecond, Retries: -1}
				r := collect(t, context.Background(), cfg, streamdemo.Request{Model: "fault/" + tc.fault, Messages: seedMessages})
				var e *streamdemo.Error
				if !errors.As(r.err, &e) || !errors.Is(r.err, tc.kind) || e.Kind != tc.kind {
					t.Fatalf("error %v (%T), want kind %q", r.err, r.err, tc.kind)
				}
				if e.StatusCode != tc.status {
					t.Errorf("status %d, want %d", e.StatusCode, tc.status)
				}
				msg := streamdemo.Hint(r.err)
				if !strings.Contains(msg, tc.says) || strings.Count(msg, "\n") > 0 || !strings.HasSuffix(msg, ".") {
					t.Errorf("hint %q should be one sentence saying %q", msg, tc.says)
				}
				if fact := r.err.Error(); !strings.HasPrefix(fact, provider+": "+string(tc.kind)) || fact == msg {
					t.Errorf("error %q should be Go style: the facts, starting %q, no advice", fact, provider+": "+string(tc.kind))
				}
				if strings.Contains(msg+r.err.Error(), testKey[:12]) {
					t.Errorf("message leaks the key: %q", msg)
				}
				wantText := ""
				if tc.partial {
					wantText = partial
				}
				if r.text() != wantText || r.stream.Text() != wantText || r.stream.Timing().Chunks != len(r.chunks) {
					t.Errorf("kept %q (%d chunks), want %q", r.stream.Text(), r.stream.Timing().Chunks, wantText)
				}
			})
		}
	}
	for deadline := time.Now().Add(time.Second); len(srv.Records()) < 22 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond) // the server records a request when its handler returns
	}
	if recs := srv.Records(); len(recs) != 22 {
		t.Errorf("server saw %d requests, want 22 (11 faults, 2 providers, no retries)", len(recs))
	}
}

func TestRetiredSonarEndpointExplainsTheAgentAPI(t *testing.T) {
	t.Parallel()
	_, base := startPractice(t)
	// The seed's base URL had no /v1, so chat completions landed on /chat/completions.
	cfg := streamdemo.Config{Provider: streamdemo.OpenAI, BaseURL: strings.TrimSuffix(base, "/v1"), APIKey: testKey}
	r := collect(t, context.Background(), cfg, streamdemo.Request{Model: "sonar-pro", Messages: seedMessages})
	if !errors.Is(r.err, streamdemo.ErrSonarRetired) || !strings.Contains(streamdemo.Hint(r.err), "Agent API") {
		t.Fatalf("got %v, want ErrSonarRetired naming the Agent API", r.err)
	}
}

// TestStoppingClosesTheConnection ends a stream after 3 chunks by cancelling
// its context, or by Stop from another goroutine (what the notebook's stop
// button does from a signal handler): the text is kept, the hint says so,
// and the server sees the client hang up.
func TestStoppingClosesTheConnection(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"cancel the context", "call Stop"} {
		srv := practice.New(practice.Options{TokensPerSecond: 100})
		ts := startServer(t, srv)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stream := newClient(t, streamdemo.Config{Provider: streamdemo.Practice, BaseURL: ts}).ChatStream(ctx, seedMessages)
		stop := cancel
		if how == "call Stop" {
			stop = func() { go stream.Stop() }
		}
		n := 0
		for range stream.Chunks() {
			if n++; n == 3 {
				stop()
			}
		}
		if err := stream.Err(); !errors.Is(err, streamdemo.ErrCancelled) || !strings.Contains(streamdemo.Hint(err), "Stopped after") || stream.Text() == "" {
			t.Fatalf("%s: got %v with %q, want ErrCancelled and the text kept", how, err, stream.Text())
		}
		waitForRecord(t, srv, func(r practice.Record) bool { return r.Disconnected && r.Chunks < 10 })
	}
}

func TestBreakingOutOfTheLoopClosesTheConnection(t *testing.T) {
	t.Parallel()
	srv := practice.New(practice.Options{TokensPerSecond: 100})
	ts := startServer(t, srv)
	stream := newClient(t, streamdemo.Config{Provider: streamdemo.Practice, BaseURL: ts}).ChatStream(context.Background(), seedMessages)
	for range stream.Chunks() {
		break
	}
	waitForRecord(t, srv, func(r practice.Record) bool { return r.Disconnected && r.Chunks < 10 })
	if stream.Timing().Chunks != 1 {
		t.Errorf("got %d chunks, want 1", stream.Timing().Chunks)
	}
}

func TestAStreamIsReadOnce(t *testing.T) {
	t.Parallel()
	_, base := startPractice(t)
	stream := newClient(t, streamdemo.Config{Provider: streamdemo.Practice, BaseURL: base}).ChatStream(context.Background(), seedMessages)
	for range stream.Chunks() {
	}
	if stream.Err() != nil {
		t.Fatalf("first read: %v", stream.Err())
	}
	for range stream.Chunks() {
		t.Fatal("a second range yielded a chunk")
	}
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "already read") {
		t.Fatalf("second range gave %v, want an error saying it was already read", err)
	}
	if stream.Text() == "" {
		t.Fatal("the first read's text is lost")
	}
}

func TestRangingAgainKeepsTheFirstError(t *testing.T) {
	t.Parallel()
	_, base := startPractice(t)
	cfg := streamdemo.Config{Provider: streamdemo.Practice, BaseURL: base, Retries: -1}
	stream := newClient(t, cfg).Stream(context.Background(), streamdemo.Request{Model: "fault/drop", Messages: seedMessages})
	for range stream.Chunks() {
	}
	for range stream.Chunks() {
		t.Fatal("a second range yielded a chunk")
	}
	if err := stream.Err(); !errors.Is(err, streamdemo.ErrBroken) {
		t.Fatalf("after a second range Err is %v, want the first reading's %s", err, streamdemo.ErrBroken)
	}
}

func TestASlowButSteadyStreamIsNotStalled(t *testing.T) {
	t.Parallel()
	base := startServer(t, practice.New(practice.Options{FirstToken: 200 * time.Millisecond, TokensPerSecond: 20}))
	// The haiku takes about 0.75s in all, with no gap longer than 0.2s.
	cfg := streamdemo.Config{Provider: streamdemo.Practice, BaseURL: base, IdleTimeout: 300 * time.Millisecond}
	r := collect(t, context.Background(), cfg, streamdemo.Request{Messages: []streamdemo.Message{
		{Role: "system", Content: "Answer in haiku"}, {Role: "user", Content: "How many stars are in the universe?"}}})
	if r.err != nil || r.stream.Timing().Total < 2*cfg.IdleTimeout {
		t.Fatalf("got %v after %v; a stream that keeps sending must not stall", r.err, r.stream.Timing().Total)
	}
}

func TestWholeAnswerArrivesAsOneChunk(t *testing.T) {
	t.Parallel()
	base := startServer(t, practice.New(practice.Options{FirstToken: 100 * time.Millisecond, TokensPerSecond: 400}))
	want := practice.Choose(practice.SeedSystemPrompt, "How many stars are in the universe?").Text
	// Perplexity's model on the Agent API, OpenAI's on chat completions (Perplexity's retired).
	for provider, model := range map[string]string{streamdemo.Perplexity: "sonar-pro", streamdemo.OpenAI: "gpt-4o-mini"} {
		cfg := streamdemo.Config{Provider: provider, BaseURL: base, APIKey: testKey}
		r := collect(t, context.Background(), cfg, streamdemo.Request{Model: model, Messages: seedMessages, Whole: true})
		tm := r.stream.Timing()
		if r.err != nil || len(r.chunks) != 1 || r.text() != want {
			t.Fatalf("%s: %d chunks, %v", provider, len(r.chunks), r.err)
		}
		// The whole answer takes as long as generating every token.
		if min := 100*time.Millisecond + time.Duration(len(practice.Tokens(want))-1)*time.Second/400; tm.FirstChunk < min {
			t.Errorf("%s: the whole answer came after %v, sooner than the %v it takes to generate", provider, tm.FirstChunk, min)
		}
		if u := r.stream.Usage(); u == nil || u.OutputTokens != len(practice.Tokens(want)) {
			t.Errorf("%s: usage %+v", provider, u)
		}
	}
}

func TestRetriesWhatIsSafeBeforeAnyText(t *testing.T) {
	t.Parallel()
	srv, base := startPractice(t)
	for _, tc := range []struct {
		model    string
		requests int
		wantErr  streamdemo.Kind
		notice   string
	}{
		{"fault/flaky-500", 2, "", "HTTP 500, server error: retrying in 500ms (retry 1 of 2)"},
		{"fault/flaky-429", 2, "", "HTTP 429, rate limited: retrying in 2s (retry 1 of 2)"}, // honours Retry-After: 2
		{"fault/500", 3, streamdemo.ErrServer, "retrying in 1s (retry 2 of 2)"},
		{"fault/drop", 1, streamdemo.ErrBroken, ""}, // text had arrived: never retried
		{"fault/404", 1, streamdemo.ErrUnknownModel, ""},
	} {
		var notices []string
		before := len(srv.Records())
		start := time.Now()
		cfg := streamdemo.Config{Provider: streamdemo.Perplexity, BaseURL: base, APIKey: testKey,
			Notify: func(m string) { notices = append(notices, m) }}
		r := collect(t, context.Background(), cfg, streamdemo.Request{Model: tc.model, Messages: seedMessages})
		if got := len(srv.Records()) - before; got != tc.requests {
			t.Errorf("%s: %d requests, want %d", tc.model, got, tc.requests)
		}
		if tc.wantErr == "" && (r.err != nil || r.stream.Text() == "") {
			t.Errorf("%s: want the answer after a retry, got %v", tc.model, r.err)
		}
		if tc.wantErr != "" && !errors.Is(r.err, tc.wantErr) {
			t.Errorf("%s: got %v, want %s", tc.model, r.err, tc.wantErr)
		}
		if tc.notice != "" && !strings.Contains(strings.Join(notices, "\n"), tc.notice) {
			t.Errorf("%s: notices %q, want one saying %q", tc.model, notices, tc.notice)
		}
		if tc.notice == "" && len(notices) > 0 {
			t.Errorf("%s: retried: %q", tc.model, notices)
		}
		if tc.model == "fault/flaky-429" && time.Since(start) < 2*time.Second {
			t.Errorf("retried after %v, before the server's Retry-After of 2s", time.Since(start))
		}
		if tc.model == "fault/500" && !strings.Contains(streamdemo.Hint(r.err), "3 attempts") {
			t.Errorf("the message should say how often it tried: %v", r.err)
		}
	}
}

func TestRefusedConnectionIsRetriedThenExplained(t *testing.T) {
	t.Parallel()
	var notices []string
	cfg := streamdemo.Config{Provider: streamdemo.Compatible, BaseURL: "http://127.0.0.1:1/v1", Retries: 1,
		Notify: func(m string) { notices = append(notices, m) }}
	r := collect(t, context.Background(), cfg, streamdemo.Request{Model: "m", Messages: seedMessages})
	if !errors.Is(r.err, streamdemo.ErrUnreachable) || len(notices) != 1 || !strings.Contains(streamdemo.Hint(r.err), "2 attempts") {
		t.Fatalf("got %v after notices %q", r.err, notices)
	}
}

// A library writes nothing of its own: without Config.Notify a retry is
// silent, and only the error counts the attempts.
func TestRetriesAreSilentWithoutNotify(t *testing.T) { // not parallel: it takes os.Stderr
	read, write, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = write
	cfg := streamdemo.Config{Provider: streamdemo.Compatible, BaseURL: "http://127.0.0.1:1/v1", Retries: 1}
	r := collect(t, context.Background(), cfg, streamdemo.Request{Model: "m", Messages: seedMessages})
	os.Stderr = stderr
	write.Close()
	written, _ := io.ReadAll(read)
	if len(written) > 0 {
		t.Errorf("the stream wrote to stderr: %q", written)
	}
	if !strings.Contains(streamdemo.Hint(r.err), "2 attempts") {
		t.Errorf("got %v, want the refused connection retried once", r.err)
	}
}
