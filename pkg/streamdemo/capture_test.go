package streamdemo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/streamdemo/streamdemo/internal/capture"
	"github.com/streamdemo/streamdemo/internal/practice"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// captureServer answers every Agent API request with a recorded capture:
// the stream event for event, or, for stream: false, the recorded JSON.
func captureServer(t *testing.T, name string) string {
	t.Helper()
	whole, _ := fs.ReadFile(capture.Perplexity, name+".json")
	return captureServerWith(t, name, whole)
}

// captureServerWith serves the capture's stream, and whole for stream: false.
func captureServerWith(t *testing.T, name string, whole []byte) string {
	t.Helper()
	events, err := fs.ReadFile(capture.Perplexity, name+capture.Ext)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !bytes.Contains(body, []byte(`"stream":true`)) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(whole)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, line := range bytes.Split(events, []byte("\n")) {
			w.Write(append(append([]byte("data: "), line...), "\n\n"...))
		}
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/v1"
}

// realAnswer is what the capture files say, read straight from them.
type realAnswer struct {
	text    string
	sources []streamdemo.Source
	usage   streamdemo.Usage
	model   string
}

func readRealResponse(t *testing.T, raw []byte) realAnswer {
	t.Helper()
	var r struct {
		Model  string `json:"model"`
		Output []struct {
			Type    string `json:"type"`
			Results []struct {
				ID                  int
				URL, Title, Snippet string
				Date                string
			} `json:"results"`
			Content []struct{ Text string } `json:"content"`
		} `json:"output"`
		Usage struct {
			InputTokens  int `json:"input_tokens"`
			OutputTokens int `json:"output_tokens"`
			TotalTokens  int `json:"total_tokens"`
			Cost         struct {
				TotalCost float64 `json:"total_cost"`
				Currency  string  `json:"currency"`
			} `json:"cost"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	a := realAnswer{model: r.Model, usage: streamdemo.Usage{InputTokens: r.Usage.InputTokens, OutputTokens: r.Usage.OutputTokens,
		TotalTokens: r.Usage.TotalTokens, Cost: r.Usage.Cost.TotalCost, Currency: r.Usage.Cost.Currency}}
	for _, item := range r.Output {
		for _, res := range item.Results {
			a.sources = append(a.sources, streamdemo.Source{Number: res.ID, Title: res.Title, URL: res.URL, Snippet: res.Snippet, Date: res.Date})
		}
		for _, c := range item.Content {
			a.text += c.Text
		}
	}
	return a
}

// realStreamAnswer reads the capture's last event, response.completed.
func realStreamAnswer(t *testing.T) realAnswer {
	b, _ := fs.ReadFile(capture.Perplexity, capture.RealStream+capture.Ext)
	lines := bytes.Split(b, []byte("\n"))
	var last struct{ Response json.RawMessage }
	json.Unmarshal(lines[len(lines)-1], &last)
	return readRealResponse(t, last.Response)
}

func checkAnswer(t *testing.T, how string, r result, want realAnswer) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%s: %v", how, r.err)
	}
	if r.stream.Text() != want.text || r.stream.Model() != want.model {
		t.Errorf("%s: text %q model %q, want %q %q", how, r.stream.Text(), r.stream.Model(), want.text, want.model)
	}
	if got := r.stream.Sources(); len(got) != 10 || !reflect.DeepEqual(got, want.sources) {
		t.Errorf("%s: %d sources %+v, want the 10 of the capture", how, len(got), got)
	}
	if u := r.stream.Usage(); u == nil || *u != want.usage {
		t.Errorf("%s: usage %+v, want %+v", how, u, want.usage)
	}
}

// TestRealCaptureStreamed reads Perplexity's real recorded stream: the text,
// all 10 sources, usage, cost and the resolved model come out as recorded.
func TestRealCaptureStreamed(t *testing.T) {
	t.Parallel()
	base := captureServer(t, capture.RealStream)
	want := realStreamAnswer(t)
	if want.text == "" || want.usage.Cost != 0.00105 || want.model != "openai/gpt-6-luna" {
		t.Fatalf("the capture reads as %+v", want)
	}
	cfg := streamdemo.Config{Provider: streamdemo.Perplexity, BaseURL: base, APIKey: testKey}
	r := collect(t, context.Background(), cfg, streamdemo.Request{Model: "fast", Messages: seedMessages})
	checkAnswer(t, "streamed", r, want)
	if len(r.chunks) != 33 || r.stream.FinishReason() != "stop" {
		t.Errorf("%d chunks, finish %q; the capture has 33 deltas and completes", len(r.chunks), r.stream.FinishReason())
	}
}

// TestRealAnswerWhole reads the same request answered without streaming: the
// sources (the search_results output item) and the cost are not lost.
func TestRealAnswerWhole(t *testing.T) {
	t.Parallel()
	base := captureServer(t, capture.RealStream)
	raw, _ := fs.ReadFile(capture.Perplexity, capture.RealStream+".json")
	want := readRealResponse(t, raw)
	if want.usage.Cost != 0.00119 || len(want.sources) != 10 {
		t.Fatalf("the JSON reads as %+v", want)
	}
	cfg := streamdemo.Config{Provider: streamdemo.Perplexity, BaseURL: base, APIKey: testKey}
	r := collect(t, context.Background(), cfg, streamdemo.Request{Model: "fast", Messages: seedMessages, Whole: true})
	checkAnswer(t, "whole", r, want)
	if len(r.chunks) != 1 {
		t.Errorf("a whole answer should come as 1 chunk, got %d", len(r.chunks))
	}
}

// TestConstructedCaptures reads the shapes the real capture does not show.
func TestConstructedCaptures(t *testing.T) {
	t.Parallel()
	for name, want := range map[string][]string{
		"constructed-two-searches": {"https://go.dev/doc/go1.23", "https://go.dev/blog/range-functions", "https://pkg.go.dev/iter"},
		"constructed-reasoning":    {"https://en.wikipedia.org/wiki/Rayleigh_scattering"},
		"constructed-fetch-url":    {"https://www.typescriptlang.org/"},
	} {
		cfg := streamdemo.Config{Provider: streamdemo.Perplexity, BaseURL: captureServer(t, name), APIKey: testKey}
		r := collect(t, context.Background(), cfg, streamdemo.Request{Model: "fast", Messages: seedMessages})
		var urls []string
		for i, s := range r.stream.Sources() {
			urls = append(urls, s.URL)
			if s.Number != i+1 {
				t.Errorf("%s: source %d numbered %d", name, i+1, s.Number)
			}
		}
		if r.err != nil || !reflect.DeepEqual(urls, want) || r.stream.Usage() == nil || r.stream.Usage().Cost == 0 {
			t.Errorf("%s: err %v, sources %v (want %v), usage %+v", name, r.err, urls, want, r.stream.Usage())
		}
	}
}

// TestWholeAndStreamedFoldAlike asks every scripted answer of the practice
// server, through both protocols, and the real recorded stream, once
// streamed and once whole: both go through the same fold, so text, sources,
// usage, cost, model and finish must agree.
func TestWholeAndStreamedFoldAlike(t *testing.T) {
	t.Parallel()
	_, practiceURL := startPractice(t)
	type asked struct {
		name string
		cfg  streamdemo.Config
		req  streamdemo.Request
	}
	var cases []asked
	for _, system := range []string{practice.SeedSystemPrompt, "You are an AI assistant that responds in haikus."} {
		for _, question := range []string{"How many stars are in the universe?", "What is the population of the world?", "Why is the sky blue?"} {
			messages := []streamdemo.Message{{Role: "system", Content: system}, {Role: "user", Content: question}}
			script := practice.Choose(system, question).Name
			// Perplexity's models on the Agent API, OpenAI's on chat completions (Perplexity's retired).
			for provider, models := range map[string][]string{streamdemo.Practice: {"sonar-pro", "sonar"}, streamdemo.OpenAI: {"gpt-4o-mini", "gpt-4o"}} {
				for _, model := range models {
					cases = append(cases, asked{script + " from " + provider + " " + model,
						streamdemo.Config{Provider: provider, BaseURL: practiceURL, APIKey: testKey},
						streamdemo.Request{Model: model, Messages: messages}})
				}
			}
		}
	}
	// The real stream's last event holds the response object a whole answer
	// would have been.
	events, _ := fs.ReadFile(capture.Perplexity, capture.RealStream+capture.Ext)
	lines := bytes.Split(bytes.TrimSpace(events), []byte("\n"))
	var last struct{ Response json.RawMessage }
	if err := json.Unmarshal(lines[len(lines)-1], &last); err != nil || last.Response == nil {
		t.Fatalf("the capture's last event: %v", err)
	}
	cases = append(cases, asked{"the real capture", streamdemo.Config{Provider: streamdemo.Perplexity,
		BaseURL: captureServerWith(t, capture.RealStream, last.Response), APIKey: testKey},
		streamdemo.Request{Model: "fast", Messages: seedMessages}})
	for _, c := range cases {
		streamed := collect(t, context.Background(), c.cfg, c.req)
		c.req.Whole = true
		whole := collect(t, context.Background(), c.cfg, c.req)
		s, w := streamed.stream, whole.stream
		if streamed.err != nil || whole.err != nil || s.Text() == "" {
			t.Fatalf("%s: %v / %v", c.name, streamed.err, whole.err)
		}
		if s.Text() != w.Text() || !reflect.DeepEqual(s.Sources(), w.Sources()) || !reflect.DeepEqual(s.Usage(), w.Usage()) ||
			s.Model() != w.Model() || s.FinishReason() != w.FinishReason() {
			t.Errorf("%s: streamed %d sources, %+v, %s, %s; whole %d sources, %+v, %s, %s", c.name,
				len(s.Sources()), s.Usage(), s.Model(), s.FinishReason(), len(w.Sources()), w.Usage(), w.Model(), w.FinishReason())
		}
		if c.cfg.Provider != streamdemo.OpenAI && (len(s.Sources()) == 0 && !strings.Contains(c.name, "other") && !strings.Contains(c.name, "no-model") || s.Usage() == nil || s.Usage().Cost == 0) {
			t.Errorf("%s: %d sources, usage %+v: the comparison needs them", c.name, len(s.Sources()), s.Usage())
		}
	}
}

// TestOutputLimitEndsIncomplete: max_output_tokens below what the answer
// needs ends with response.incomplete, said in one sentence, text and usage kept.
func TestOutputLimitEndsIncomplete(t *testing.T) {
	t.Parallel()
	_, base := startPractice(t)
	cfg := streamdemo.Config{Provider: streamdemo.Practice, BaseURL: base}
	r := collect(t, context.Background(), cfg, streamdemo.Request{Messages: seedMessages, MaxTokens: 20})
	var e *streamdemo.Error
	if !errors.As(r.err, &e) || e.Kind != streamdemo.ErrIncomplete || len(r.chunks) != 20 {
		t.Fatalf("got %v after %d chunks, want answer cut short after 20", r.err, len(r.chunks))
	}
	if msg := streamdemo.Hint(r.err); !strings.Contains(msg, "max_output_tokens") || !strings.Contains(msg, "Request.MaxTokens") || strings.Contains(msg, "\n") {
		t.Errorf("sentence %q", msg)
	}
	if u := r.stream.Usage(); u == nil || u.OutputTokens != 20 || len(r.stream.Sources()) != 5 {
		t.Errorf("usage %+v and %d sources should be kept", u, len(r.stream.Sources()))
	}
}

// TestSonarModelIsMadeToSearch: offered alone, web search is the model's
// choice; the Sonar mapping demands it, so the answer keeps its sources.
func TestSonarModelIsMadeToSearch(t *testing.T) {
	t.Parallel()
	var body []byte
	_, base := startPractice(t)
	spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		resp, err := http.Post(strings.TrimSuffix(base, "/v1")+r.URL.Path, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer spy.Close()
	cfg := streamdemo.Config{Provider: streamdemo.Practice, BaseURL: spy.URL + "/v1"}
	temp := float32(0.2)
	r := collect(t, context.Background(), cfg, streamdemo.Request{Model: "sonar", Messages: seedMessages, Temperature: &temp, Whole: true})
	if !bytes.Contains(body, []byte(`"tool_choice":{"type":"web_search"}`)) || !bytes.Contains(body, []byte(`"model":"perplexity/sonar"`)) {
		t.Errorf("request %s should ask perplexity/sonar to search", body)
	}
	if r.err != nil || len(r.stream.Sources()) != 5 {
		t.Errorf("got %v with %d sources", r.err, len(r.stream.Sources()))
	}
}
