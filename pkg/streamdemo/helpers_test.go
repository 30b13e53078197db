package streamdemo_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/practice"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// testKey is a recognisable fake key; no output may ever contain it.
const testKey = "pplx-TESTKEY-0123456789abcdefghijklmnopqrstuv"

var seedMessages = []streamdemo.Message{
	{Role: "system", Content: practice.SeedSystemPrompt},
	{Role: "user", Content: "How many stars are in the universe?"},
}

// startPractice runs a fast practice server on loopback.
func startPractice(t *testing.T) (*practice.Server, string) {
	t.Helper()
	srv := practice.New(practice.Options{})
	return srv, startServer(t, srv)
}

// result is everything a stream produced, for comparing.
type result struct {
	chunks []string
	err    error
	stream *streamdemo.Stream
}

func (r result) text() string { return strings.Join(r.chunks, "") }

// newClient makes a client from cfg, failing the test if cfg is rejected.
// It reads no variable of the process's environment, only cfg's own (set
// with streamdemo.WithEnv).
func newClient(t testing.TB, cfg streamdemo.Config) *streamdemo.Client {
	t.Helper()
	client, err := streamdemo.NewClient(streamdemo.Isolated(cfg))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return client
}

func collect(t testing.TB, ctx context.Context, cfg streamdemo.Config, req streamdemo.Request) result {
	t.Helper()
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 2 * time.Second
	}
	stream := newClient(t, cfg).Stream(ctx, req)
	var r result
	for chunk := range stream.Chunks() {
		r.chunks = append(r.chunks, chunk.Text)
	}
	r.stream, r.err = stream, stream.Err()
	return r
}

// startServer serves srv on loopback until the test ends; it returns the base URL.
func startServer(t *testing.T, srv *practice.Server) string {
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL + "/v1"
}

// waitForRecord waits up to 2s for the server to record a matching request.
func waitForRecord(t *testing.T, srv *practice.Server, match func(practice.Record) bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range srv.Records() {
			if match(r) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the server recorded no matching request: %+v", srv.Records())
}
