package gateway

import (
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/practice"
)

// A class's own upstream (the practice server, the local model) listens on a
// Unix socket only the gateway's account may open: the gateway reaches it
// there, and never dials the host its URL names, which any account could hold.
func TestTheUpstreamIsReachedThroughItsSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "upstream.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	up := practice.New(practice.Options{Token: testKey})
	srv := &http.Server{Handler: up}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	var squatted atomic.Int32
	squatter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		squatted.Add(1)
		http.Error(w, "a student's listener", http.StatusTeapot)
	}))
	t.Cleanup(squatter.Close)

	tg := startGateway(t, squatter.URL+"/v1", func(c *Config) { c.UpstreamSocket = sock })
	tok := tg.student(t, "ana", ledger.Limits{})
	a := tg.post(t, "v1/chat/completions", tok, openAIChatBody(""))
	if want := practice.Choose("", seedQuestion).Text; a.Status != 200 || streamedText(a.Body) != want {
		t.Fatalf("HTTP %d, text %q, want %q", a.Status, streamedText(a.Body), want)
	}
	if n := len(up.Records()); n != 1 {
		t.Errorf("the upstream on the socket saw %d requests, want 1", n)
	}
	if n := squatted.Load(); n != 0 {
		t.Errorf("the host the upstream URL names was asked %d times", n)
	}
}

// JupyterHub names a service's Unix socket as http+unix://%2Fpath%2Fto.sock:
// the gateway listens there.
func TestAServiceURLOnASocketIsListenedOnThere(t *testing.T) {
	for url, want := range map[string]string{
		"http://127.0.0.1:8090":                                 "127.0.0.1:8090",
		"http+unix://%2Fvar%2Flib%2Fclass%2Fgateway%2Fllm.sock": "unix:/var/lib/class/gateway/llm.sock",
	} {
		got, err := (&Hub{ServiceURL: url}).ListenAddr()
		if err != nil || got != want {
			t.Errorf("ListenAddr of %s: %q, %v; want %q", url, got, err, want)
		}
	}
	if _, err := (&Hub{ServiceURL: "http+unix://"}).ListenAddr(); err == nil {
		t.Error("a socket URL without a path was taken")
	}
}
