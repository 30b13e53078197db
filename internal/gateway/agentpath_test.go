package gateway

import (
	"net/http"
	"sync"
	"testing"

	"github.com/streamdemo/streamdemo/internal/ledger"
)

// An upstream whose Agent API answers at /v1/agent only (Perplexity's own
// path): with AgentPath set, what students send to v1/responses (the path
// OpenAI clients use) reaches it there; chat completions keep their path.
func TestAgentPathSendsTheAgentAPIToTheUpstreamsOwnPath(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	done := make(chan struct{})
	close(done) // each answer completes at once
	agent, chat := agentStream(2, done), chatStream(2, done, `{"prompt_tokens":3,"completion_tokens":2}`)
	_, up := startScripted(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/v1/agent":
			agent(w, r)
		case "/v1/chat/completions":
			chat(w, r)
		default:
			http.NotFound(w, r)
		}
	})
	tg := startGateway(t, up, func(c *Config) { c.AgentPath = "v1/agent" })
	token := tg.student(t, "ada", ledger.Limits{})
	for _, path := range []string{"v1/responses", "v1/agent", "v1/chat/completions"} {
		body := agentBody("")
		if path == "v1/chat/completions" {
			body = chatBody("")
		}
		if a := tg.post(t, path, token, body); a.Status != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s", path, a.Status, a.Body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"/v1/agent", "/v1/agent", "/v1/chat/completions"}
	if len(paths) != len(want) || paths[0] != want[0] || paths[1] != want[1] || paths[2] != want[2] {
		t.Fatalf("the upstream was asked at %v, want %v", paths, want)
	}
}
