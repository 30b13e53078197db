package streamdemo_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden is what a recorded stream should come out as.
type golden struct {
	Chunks    []string
	Reasoning string
	Sources   []streamdemo.Source
	Usage     *streamdemo.Usage
	Model     string
	Finish    string
	ErrorKind string `json:",omitempty"`
}

// TestRecordedStreams replays what real servers send (testdata/streams/*.sse)
// and compares the outcome with its golden file.
func TestRecordedStreams(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/streams/*.sse")
	if len(files) == 0 {
		t.Fatal("no recorded streams in testdata/streams")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".sse")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.Write(body)
			}))
			defer ts.Close()
			cfg := streamdemo.Config{Provider: streamdemo.Compatible, BaseURL: ts.URL + "/v1", Protocol: streamdemo.ProtocolChat}
			if strings.HasPrefix(name, "agent-") {
				cfg.Protocol = streamdemo.ProtocolResponses
			}
			r := collect(t, context.Background(), cfg, streamdemo.Request{Model: "m", Messages: seedMessages})
			got := golden{Chunks: r.chunks, Reasoning: r.stream.Reasoning(), Sources: r.stream.Sources(), Usage: r.stream.Usage(),
				Model: r.stream.Model(), Finish: r.stream.FinishReason()}
			var e *streamdemo.Error
			if errors.As(r.err, &e) {
				got.ErrorKind = string(e.Kind)
			}
			gotJSON, _ := json.MarshalIndent(got, "", "  ")
			path := filepath.Join("testdata", "streams", name+".golden.json")
			if *update {
				os.WriteFile(path, append(gotJSON, '\n'), 0o644)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if strings.TrimSpace(string(want)) != string(gotJSON) {
				t.Errorf("outcome differs from %s:\n%s", path, gotJSON)
			}
		})
	}
}
