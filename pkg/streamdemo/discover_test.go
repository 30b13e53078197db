package streamdemo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/streamdemo/streamdemo/internal/practice"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// upstream is a teacher's own server as discovery meets it.
type upstream struct {
	models  []string // what GET /v1/models lists; nil: 404
	agentAt []string // where the Agent API answers: "responses", "agent"
	key     string   // the key it wants, if any

	mu    sync.Mutex
	asked []string // "GET /v1/models", in order
	auth  []string // the Authorization header of each request
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.asked = append(u.asked, r.Method+" "+r.URL.Path)
	u.auth = append(u.auth, r.Header.Get("Authorization"))
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if u.key != "" && r.Header.Get("Authorization") != "Bearer "+u.key {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"message":"Invalid API key","type":"invalid_request_error"}}`)
		return
	}
	path, _ := strings.CutPrefix(r.URL.Path, "/v1/")
	switch {
	case r.Method == http.MethodGet && path == "models" && u.models != nil:
		list := map[string]any{"object": "list", "data": []map[string]string{}}
		for _, m := range u.models {
			list["data"] = append(list["data"].([]map[string]string), map[string]string{"id": m, "object": "model"})
		}
		json.NewEncoder(w).Encode(list)
	case r.Method == http.MethodPost && slices.Contains(u.agentAt, path):
		w.WriteHeader(http.StatusBadRequest) // an empty request: input is required
		fmt.Fprint(w, `{"error":{"message":"input is required","type":"invalid_request"}}`)
	default:
		http.NotFound(w, r)
	}
}

// seen returns what the server was asked, and the Authorization header of each.
func (u *upstream) seen() (asked, auth []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.asked), slices.Clone(u.auth)
}

// serve runs u on loopback until the test ends and returns its base URL.
func (u *upstream) serve(t *testing.T) string {
	ts := httptest.NewServer(u)
	t.Cleanup(ts.Close)
	return ts.URL + "/v1"
}

// Discovery of a teacher's own server, one kind of server per row: what
// the client then asks (protocol and model), or the one sentence it refuses
// with, and what it asked the server.
func TestDiscoverAsksACompatibleServerWhatItSpeaks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		up       *upstream
		cfg      streamdemo.Config
		protocol string // what the client then speaks, or
		model    string
		refusal  string // the start of the hint it refuses with
		asked    []string
	}{
		{"the Agent API at /responses, one model", &upstream{models: []string{"agent-1"}, agentAt: []string{"responses", "agent"}}, streamdemo.Config{},
			"responses", "agent-1", "", []string{"GET /v1/models", "POST /v1/responses"}},
		{"the Agent API only at /agent", &upstream{models: []string{"agent-1"}, agentAt: []string{"agent"}}, streamdemo.Config{},
			"agent", "agent-1", "", []string{"GET /v1/models", "POST /v1/responses", "POST /v1/agent"}},
		{"chat completions only, one model", &upstream{models: []string{"uni-7b"}}, streamdemo.Config{},
			"chat", "uni-7b", "", []string{"GET /v1/models", "POST /v1/responses", "POST /v1/agent"}},
		{"chat completions, two models", &upstream{models: []string{"alpha", "beta"}}, streamdemo.Config{},
			"", "", "The server at URL lists 2 models (alpha, beta): choose one with STREAMDEMO_MODEL=", []string{"GET /v1/models"}},
		{"two models, one named", &upstream{models: []string{"alpha", "beta"}}, streamdemo.Config{Model: "beta"},
			"chat", "beta", "", []string{"GET /v1/models", "POST /v1/responses", "POST /v1/agent"}},
		{"a named model it does not list", &upstream{models: []string{"alpha", "beta"}}, streamdemo.Config{Model: "delta"},
			"", "", "The server at URL lists no model delta; it lists 2 (alpha, beta)", []string{"GET /v1/models"}},
		{"no model list, one named", &upstream{agentAt: []string{"responses"}}, streamdemo.Config{Model: "uni-7b"},
			"responses", "uni-7b", "", []string{"GET /v1/models", "POST /v1/responses"}},
		{"no model list, none named", &upstream{}, streamdemo.Config{},
			"", "", "The server at URL did not list its models (GET /models: HTTP 404): put STREAMDEMO_MODEL=", []string{"GET /v1/models"}},
		{"no model listed", &upstream{models: []string{}}, streamdemo.Config{},
			"", "", "The server at URL lists no model: load one in it", []string{"GET /v1/models"}},
		{"a named protocol is not asked", &upstream{models: []string{"uni-7b"}, agentAt: []string{"responses"}}, streamdemo.Config{Protocol: "chat"},
			"chat", "uni-7b", "", []string{"GET /v1/models"}},
		{"it refuses the key", &upstream{models: []string{"uni-7b"}, key: "the-right-key"}, streamdemo.Config{Provider: "compatible", APIKey: testKey},
			"", "", "The server at URL refused the API key (HTTP 401): check the key given in Config.APIKey.", []string{"GET /v1/models"}},
		{"it wants a key and has none", &upstream{models: []string{"uni-7b"}, key: "the-right-key"}, streamdemo.Config{},
			"", "", "The server at URL asks for an API key (HTTP 401): put STREAMDEMO_API_KEY=its-key in your .env file.", []string{"GET /v1/models"}},
		{"it takes the key", &upstream{models: []string{"uni-7b"}, key: testKey}, streamdemo.Config{Provider: "compatible", APIKey: testKey},
			"chat", "uni-7b", "", []string{"GET /v1/models", "POST /v1/responses", "POST /v1/agent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.BaseURL = tc.up.serve(t)
			client, err := streamdemo.Discover(context.Background(), streamdemo.Isolated(cfg))
			if tc.refusal != "" {
				want := strings.ReplaceAll(tc.refusal, "URL", cfg.BaseURL)
				if err == nil || !strings.HasPrefix(streamdemo.Hint(err), want) {
					t.Errorf("got %v, hint %q\nwant %q...", err, streamdemo.Hint(err), want)
				}
			} else if err != nil {
				t.Fatalf("Discover: %v (%s)", err, streamdemo.Hint(err))
			} else if s := client.Settings(); s.Provider != "compatible" || s.Protocol != tc.protocol || s.Model != tc.model || s.BaseURL != cfg.BaseURL {
				t.Errorf("got %+v, want protocol %s and model %s", s, tc.protocol, tc.model)
			}
			asked, auth := tc.up.seen()
			if !slices.Equal(asked, tc.asked) {
				t.Errorf("asked %v, want %v", asked, tc.asked)
			}
			for i, a := range auth {
				if a != "" && a != "Bearer "+tc.cfg.APIKey || a == "" && tc.cfg.APIKey != "" {
					t.Errorf("%s carried Authorization %q", asked[i], a)
				}
			}
			if said := fmt.Sprintf("%v %s %+v", err, streamdemo.Hint(err), client); strings.Contains(said, testKey[:12]) {
				t.Errorf("the key shows: %s", said)
			}
		})
	}
}

// A client that Discover found the Agent API at /agent for streams there.
func TestAClientOfAnAgentOnlyServerStreamsFromAgent(t *testing.T) {
	t.Parallel()
	srv := practice.New(practice.Options{})
	mux := http.NewServeMux()
	mux.Handle("POST /v1/responses", http.NotFoundHandler())
	mux.Handle("/", srv)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	cfg := streamdemo.Isolated(streamdemo.Config{BaseURL: ts.URL + "/v1", Model: "perplexity/sonar"})
	client, err := streamdemo.Discover(context.Background(), cfg)
	if err != nil || client.Settings().Protocol != streamdemo.ProtocolAgent {
		t.Fatalf("Discover: %v, %+v", err, client)
	}
	stream := client.ChatStream(context.Background(), seedMessages)
	for range stream.Chunks() {
	}
	if err := stream.Err(); err != nil || stream.Text() == "" {
		t.Fatalf("stream: %v, text %q", err, stream.Text())
	}
	waitForRecord(t, srv, func(r practice.Record) bool { return r.Path == "/v1/agent" && r.Status == 200 })
}

// For a provider whose protocol and model the package knows, Discover asks
// nothing: it is NewClient.
func TestDiscoverAsksOnlyACompatibleServer(t *testing.T) {
	t.Parallel()
	up := &upstream{models: []string{"uni-7b"}, agentAt: []string{"responses"}}
	base := up.serve(t)
	for _, cfg := range []streamdemo.Config{
		{BaseURL: base, APIKey: testKey},        // a key given in code: Perplexity's Agent API there
		{BaseURL: base, Provider: "openai"},     // named
		{BaseURL: base, Provider: "ollama"},     // named
		{BaseURL: base, Provider: "practice"},   // named
		{BaseURL: base, Provider: "perplexity"}, // named
	} {
		client, err := streamdemo.Discover(context.Background(), streamdemo.Isolated(cfg))
		if err != nil {
			t.Fatalf("%+v: %v", cfg.Provider, err)
		}
		if s := client.Settings(); s.Provider == "compatible" {
			t.Errorf("%+v resolved to %+v", cfg.Provider, s)
		}
	}
	if asked, _ := up.seen(); len(asked) > 0 {
		t.Errorf("asked %v of a server whose provider is known", asked)
	}
}

// A server that cannot be reached is said in one sentence, before any
// stream: the client is not made.
func TestDiscoverSaysAServerCannotBeReached(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.NotFoundHandler())
	base := ts.URL + "/v1"
	ts.Close()
	_, err := streamdemo.Discover(context.Background(), streamdemo.Isolated(streamdemo.Config{BaseURL: base}))
	if !errors.Is(err, streamdemo.ErrUnreachable) || !strings.HasPrefix(streamdemo.Hint(err), "Could not connect to "+base) {
		t.Errorf("got %v, hint %q", err, streamdemo.Hint(err))
	}
}

// A compatible server that wants a key says so in the stream's sentence:
// that none was sent, or that the one sent was refused.
func TestACompatibleServerThatWantsAKeySaysWhatWasWrong(t *testing.T) {
	t.Parallel()
	base := startServer(t, practice.New(practice.Options{Token: "the-right-key"}))
	for key, want := range map[string]string{
		"":      "The server at " + base + " asks for an API key (HTTP 401): put STREAMDEMO_API_KEY=its-key in your .env file.",
		testKey: "The server at " + base + " refused the API key (HTTP 401): check STREAMDEMO_API_KEY in your .env file.",
	} {
		env := map[string]string{"STREAMDEMO_API_KEY": key}
		r := collect(t, context.Background(), streamdemo.WithEnv(streamdemo.Config{BaseURL: base, Model: "perplexity/sonar"}, env), streamdemo.Request{Messages: seedMessages})
		if got := streamdemo.Hint(r.err); !errors.Is(r.err, streamdemo.ErrKeyRejected) || got != want {
			t.Errorf("with a key %v: got %v, %q\nwant %q", key != "", r.err, got, want)
		}
	}
}
