package streamdemo_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// The client says in one line where answers come from and where its key
// does: a class's key is the class's, never a .env the student lacks.
func TestTheClientSaysWhereItsKeyComesFrom(t *testing.T) {
	t.Parallel()
	const class = "https://class.example/services/llm/v1"
	for _, c := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"a key set in the environment", map[string]string{"PERPLEXITY_API_KEY": testKey},
			"perplexity (Agent API) at https://api.perplexity.ai/v1, model sonar-pro; key PERPLEXITY_API_KEY from the environment"},
		{"the token JupyterHub gave the server", map[string]string{"PERPLEXITY_API_KEY": "hub-token-1", "JUPYTERHUB_API_TOKEN": "hub-token-1",
			"STREAMDEMO_PROVIDER": "perplexity", "STREAMDEMO_BASE_URL": class},
			"perplexity (Agent API) at " + class + ", model sonar-pro; your class provides the key"},
		{"a student's own key in a hub", map[string]string{"PERPLEXITY_API_KEY": testKey, "JUPYTERHUB_API_TOKEN": "hub-token-1"},
			"perplexity (Agent API) at https://api.perplexity.ai/v1, model sonar-pro; key PERPLEXITY_API_KEY from the environment"},
	} {
		client := newClient(t, streamdemo.WithEnv(streamdemo.Config{}, c.env))
		if got := client.String(); got != c.want {
			t.Errorf("%s:\n got  %q\n want %q", c.name, got, c.want)
		}
		if strings.Contains(client.String(), "hub-token") || strings.Contains(client.String(), testKey[:8]) {
			t.Errorf("%s: the key shows: %q", c.name, client.String())
		}
	}
}

// Not parallel: LoadEnv sets the process's environment.
func TestTheClientNamesTheEnvFileOfItsKey(t *testing.T) {
	t.Setenv("PERPLEXITY_API_KEY", "")
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644)
	os.WriteFile(filepath.Join(root, ".env"), []byte("PERPLEXITY_API_KEY="+testKey+"\n"), 0o600)
	os.MkdirAll(filepath.Join(root, "notebooks"), 0o755)
	t.Chdir(filepath.Join(root, "notebooks"))
	env, err := streamdemo.LoadEnv()
	if err != nil {
		t.Fatal(err)
	}
	client := newClient(t, streamdemo.WithEnv(streamdemo.Config{Env: env}, map[string]string{"PERPLEXITY_API_KEY": os.Getenv("PERPLEXITY_API_KEY")}))
	want := "perplexity (Agent API) at https://api.perplexity.ai/v1, model sonar-pro; key PERPLEXITY_API_KEY from ../.env"
	if got := client.String(); got != want || client.Settings().KeyFile != "../.env" {
		t.Errorf("got %q (KeyFile %q), want %q", got, client.Settings().KeyFile, want)
	}
}

// unknownHost fails every request as a name that does not resolve does.
type unknownHost struct{}

func (unknownHost) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: r.URL.Hostname(), IsNotFound: true}}
}

// A connection that fails says to check the network first where the
// network is the likely cause (Perplexity, OpenAI, a class, any other
// host), and to start the server where it runs on this machine.
func TestAConnectionFailureSaysWhatToCheckFirst(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name      string
		cfg       streamdemo.Config
		env       map[string]string
		want      string
		transport bool
	}{
		{"Perplexity", streamdemo.Config{Provider: "perplexity", APIKey: testKey}, nil,
			"Could not connect to Perplexity at https://api.perplexity.ai/v1 (unknown host api.perplexity.ai): check your network connection, then run it again.", true},
		{"OpenAI", streamdemo.Config{Provider: "openai", APIKey: "sk-x"}, nil,
			"Could not connect to OpenAI at https://api.openai.com/v1 (unknown host api.openai.com): check your network connection, then run it again.", true},
		{"the class", streamdemo.Config{}, map[string]string{"STREAMDEMO_PROVIDER": "perplexity", "STREAMDEMO_BASE_URL": "https://class.example/services/llm/v1",
			"PERPLEXITY_API_KEY": "hub-token-1", "JUPYTERHUB_API_TOKEN": "hub-token-1"},
			"Could not connect to the class at https://class.example/services/llm/v1 (unknown host class.example): check your network connection; if other sites open, tell your teacher.", true},
		{"another host", streamdemo.Config{Provider: "compatible", BaseURL: "http://gpu.example:8000/v1", Model: "m"}, nil,
			"Could not connect to http://gpu.example:8000/v1 (unknown host gpu.example): check your network connection, then the base URL (STREAMDEMO_BASE_URL) and that the server runs.", true},
		{"a server on this machine", streamdemo.Config{Provider: "compatible", BaseURL: "http://127.0.0.1:1/v1", Model: "m"}, nil,
			"Could not connect to http://127.0.0.1:1/v1 (nothing is listening there): start the server, or check the base URL (STREAMDEMO_BASE_URL).", false},
	} {
		cfg := streamdemo.WithEnv(c.cfg, c.env)
		cfg.Retries = -1
		if c.transport {
			cfg.Transport = unknownHost{}
		}
		stream := newClient(t, cfg).ChatStream(context.Background(), seedMessages)
		for range stream.Chunks() {
		}
		if got := streamdemo.Hint(stream.Err()); !errors.Is(stream.Err(), streamdemo.ErrUnreachable) || got != c.want {
			t.Errorf("%s: %v\n got  %q\n want %q", c.name, stream.Err(), got, c.want)
		}
	}
}

// What NewClient returns with an error is a nil client: asking it says so,
// it does not panic in the learner's cell.
func TestANilClientSaysToMakeTheClientAgain(t *testing.T) {
	t.Parallel()
	client, err := streamdemo.NewClient(streamdemo.Isolated(streamdemo.Config{Provider: "perplexity"}))
	if err == nil || client != nil {
		t.Fatalf("NewClient without a key: %v, %v", client, err)
	}
	stream := client.ChatStream(context.Background(), seedMessages)
	for range stream.Chunks() {
		t.Fatal("a nil client streamed a chunk")
	}
	want := "There is no client to ask: NewClient returned an error instead; fix what it says, then make the client again."
	if got := streamdemo.Hint(stream.Err()); !errors.Is(stream.Err(), streamdemo.ErrConfig) || got != want {
		t.Errorf("got %v (%q), want %q", stream.Err(), got, want)
	}
	if got := client.String(); got != "no client" {
		t.Errorf("String() = %q", got)
	}
}
