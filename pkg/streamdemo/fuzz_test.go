package streamdemo

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/streamdemo/streamdemo/internal/capture"
)

// addRecordedEvents seeds a fuzz corpus with every event line in testdata.
func addRecordedEvents(f *testing.F, prefix string) {
	files, _ := filepath.Glob(filepath.Join("testdata", "streams", prefix+"*.sse"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
				f.Add(data)
			}
		}
	}
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"content":null}}],"usage":null}`))
	f.Add([]byte(`{"type":"response.reasoning.search_results","results":[{"id":"x"},null]}`))
	f.Add([]byte(`{"type":"response.failed","response":null,"error":null}`))
}

// checkEvent asserts what holds for any input: decoding is lenient (only
// invalid JSON is an error) and an in-stream failure is always one of the
// three kinds a terminal event can mean.
func checkEvent(t *testing.T, line []byte, ev event, err error) {
	if (err == nil) != json.Valid(line) {
		t.Errorf("decode(%q) error %v, but json.Valid = %v", line, err, json.Valid(line))
	}
	if ev.err != nil && ev.err.Kind != ErrFailed && ev.err.Kind != ErrIncomplete && ev.err.Kind != ErrServerCancelled {
		t.Errorf("an in-stream failure must be failed, incomplete or cancelled, got %v", ev.err.Kind)
	}
}

func FuzzDecodeChat(f *testing.F) {
	addRecordedEvents(f, "chat-")
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := chatProtocol{}.decode(line)
		checkEvent(t, line, ev, err)
	})
}

func FuzzDecodeAgent(f *testing.F) {
	addRecordedEvents(f, "agent-")
	captures, _ := fs.Glob(capture.Perplexity, "*"+capture.Ext)
	for _, name := range captures { // the real and constructed captures' events
		b, _ := fs.ReadFile(capture.Perplexity, name)
		for _, line := range bytes.Split(b, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := responsesProtocol{}.decode(line)
		checkEvent(t, line, ev, err)
	})
}
