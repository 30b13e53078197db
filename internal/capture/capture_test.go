package capture

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// Events reads a capture as decoded events (test helper for this package).
func events(t *testing.T, name string) []map[string]any {
	t.Helper()
	b, err := fs.ReadFile(Perplexity, name+Ext)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for i, line := range bytes.Split(b, []byte("\n")) {
		var ev map[string]any
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatalf("%s line %d is not JSON: %v", name, i+1, err)
		}
		out = append(out, ev)
	}
	return out
}

// TestRealCaptureIsThePublishedOne pins the files to what was published: the
// length the source reported and a checksum, so no edit goes unnoticed.
func TestRealCaptureIsThePublishedOne(t *testing.T) {
	for name, want := range map[string]struct {
		runes int
		sum   string
	}{
		RealStream + Ext:     {27127, "284bdeb57a88fdc34620af7c4acbca9af6e7e8b6fd88068c06a0bd4149a28ba6"},
		RealStream + ".json": {8691, "b4cc1678d92745386d0e3b3d2787c0b5de533cf74e1b7744a58068bd654e7335"},
	} {
		b, err := fs.ReadFile(Perplexity, name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if n := utf8.RuneCount(b); n != want.runes || hex.EncodeToString(sum[:]) != want.sum {
			t.Errorf("%s: %d characters, sha256 %x; the published file has %d and %s", name, n, sum, want.runes, want.sum)
		}
	}
}

// TestRealCaptureIsConsistent checks the capture against itself and the
// non-streamed answer: what the documentation and the issue say it shows.
func TestRealCaptureIsConsistent(t *testing.T) {
	evs := events(t, RealStream)
	var seqs []int
	var deltas strings.Builder
	var textDone, messageText string
	var results [][]any
	for _, ev := range evs {
		seqs = append(seqs, int(ev["sequence_number"].(float64)))
		switch ev["type"] {
		case "response.output_text.delta":
			deltas.WriteString(ev["delta"].(string))
		case "response.output_text.done":
			textDone = ev["text"].(string)
		case "response.reasoning.search_results":
			results = append(results, ev["results"].([]any))
		case "response.output_item.done":
			item := ev["item"].(map[string]any)
			if item["type"] == "search_results" {
				results = append(results, item["results"].([]any))
			} else {
				messageText = item["content"].([]any)[0].(map[string]any)["text"].(string)
			}
		}
	}
	want := []int{0, 1}
	for n := 3; n <= 40; n++ {
		want = append(want, n)
	}
	want = append(want, 42, 43, 44)
	if !slices.Equal(seqs, want) {
		t.Errorf("sequence numbers %v, want 0, 1, 3..40, 42, 43, 44", seqs)
	}
	if deltas.String() != textDone || textDone != messageText {
		t.Errorf("deltas %q, output_text.done %q, message %q differ", deltas.String(), textDone, messageText)
	}
	completed := evs[len(evs)-1]["response"].(map[string]any)
	output := completed["output"].([]any)
	results = append(results, output[0].(map[string]any)["results"].([]any))
	var whole map[string]any
	b, _ := fs.ReadFile(Perplexity, RealStream+".json")
	if err := json.Unmarshal(b, &whole); err != nil {
		t.Fatal(err)
	}
	results = append(results, whole["output"].([]any)[0].(map[string]any)["results"].([]any))
	for i, r := range results {
		if len(r) != 10 || !reflect.DeepEqual(r, results[0]) {
			t.Errorf("search results %d (of event, item, completed, json) differ from the first or are not 10", i)
		}
	}
	if len(completed) != 32 || len(whole) != 32 {
		t.Errorf("response objects have %d and %d keys, want 32", len(completed), len(whole))
	}
}

// TestConstructedCapturesAreWellFormed checks the constructed captures the
// same way: JSON lines, increasing sequence numbers, deltas equal the text.
func TestConstructedCapturesAreWellFormed(t *testing.T) {
	names, _ := fs.Glob(Perplexity, "constructed-*"+Ext)
	if len(names) != 3 {
		t.Fatalf("constructed captures: %v", names)
	}
	for _, name := range names {
		evs := events(t, strings.TrimSuffix(name, Ext))
		last, text, done := -1, "", ""
		for _, ev := range evs {
			seq := int(ev["sequence_number"].(float64))
			if seq <= last {
				t.Errorf("%s: sequence %d after %d", name, seq, last)
			}
			last = seq
			if d, ok := ev["delta"].(string); ok {
				text += d
			}
			if d, ok := ev["text"].(string); ok {
				done = d
			}
		}
		if text == "" || text != done || evs[len(evs)-1]["type"] != "response.completed" {
			t.Errorf("%s: deltas %q, done %q, last %v", name, text, done, evs[len(evs)-1]["type"])
		}
	}
}
