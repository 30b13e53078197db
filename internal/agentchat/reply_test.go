package agentchat

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamdemo/streamdemo/internal/capture"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("the translation differs from %s:\n%s", path, got)
	}
}

// captured is what a recorded Agent API stream says: its text, sources,
// usage and the events themselves.
type captured struct {
	events     [][]byte
	text       string
	results    map[float64]string // id -> URL
	in, out    int
	cost       float64
	incomplete bool
}

func readCapture(t testing.TB, name string) captured {
	t.Helper()
	b, err := fs.ReadFile(capture.Perplexity, name)
	if err != nil {
		t.Fatal(err)
	}
	c := captured{results: map[float64]string{}}
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		c.events = append(c.events, line)
		var ev struct {
			Type    string
			Delta   string
			Results []struct {
				ID  float64
				URL string
			}
			Response *struct {
				Status string
				Usage  *struct {
					InputTokens  int `json:"input_tokens"`
					OutputTokens int `json:"output_tokens"`
					Cost         struct {
						TotalCost float64 `json:"total_cost"`
					}
				}
			}
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatal(err)
		}
		switch ev.Type {
		case "response.output_text.delta":
			c.text += ev.Delta
		case "response.reasoning.search_results":
			for _, r := range ev.Results {
				c.results[r.ID] = r.URL
			}
		case "response.completed", "response.incomplete":
			c.incomplete = ev.Type == "response.incomplete"
			if u := ev.Response.Usage; u != nil {
				c.in, c.out, c.cost = u.InputTokens, u.OutputTokens, u.Cost.TotalCost
			}
		}
	}
	return c
}

// chatChunk is what a chat client reads of one chunk.
type chatChunk struct {
	ID      string
	Object  string
	Model   string
	Choices []struct {
		Index int
		Delta struct {
			Role    *string
			Content *string
		}
		FinishReason *string `json:"finish_reason"`
	}
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		Cost             struct {
			TotalCost float64 `json:"total_cost"`
		}
	}
	Citations     []string
	SearchResults []struct{ Title, URL string } `json:"search_results"`
}

// payloads are the data of a chat stream's events, failing on anything
// that is not an SSE data line or the blank line after one.
func payloads(t *testing.T, stream []byte) []string {
	t.Helper()
	if !bytes.HasSuffix(stream, []byte("\n\n")) {
		t.Errorf("the stream does not end with a blank line")
	}
	var out []string
	for _, event := range strings.Split(strings.TrimSuffix(string(stream), "\n\n"), "\n\n") {
		p, ok := strings.CutPrefix(event, "data: ")
		if !ok || strings.Contains(p, "\n") {
			t.Fatalf("not one data line: %q", event)
		}
		out = append(out, p)
	}
	return out
}

func TestEveryCaptureTranslatesToAChatStream(t *testing.T) {
	names, _ := fs.Glob(capture.Perplexity, "*"+capture.Ext)
	if len(names) < 4 {
		t.Fatalf("%d captures, want the real one and the constructed ones", len(names))
	}
	for _, name := range names {
		t.Run(strings.TrimSuffix(name, capture.Ext), func(t *testing.T) {
			c := readCapture(t, name)
			r := NewReply(Asked{Model: "sonar-pro", Stream: true, IncludeUsage: true})
			var stream []byte
			for _, ev := range c.events {
				stream = append(stream, r.Event(ev)...)
			}
			golden(t, strings.TrimSuffix(name, capture.Ext)+".chat.txt", stream)

			evs := payloads(t, stream)
			if evs[len(evs)-1] != "[DONE]" {
				t.Fatalf("the stream ends with %q, not [DONE]", evs[len(evs)-1])
			}
			var text strings.Builder
			var chunks []chatChunk
			for i, p := range evs[:len(evs)-1] {
				var ch chatChunk
				if err := json.Unmarshal([]byte(p), &ch); err != nil {
					t.Fatalf("chunk %d: %v", i, err)
				}
				if ch.Object != "chat.completion.chunk" || ch.Model != "sonar-pro" || ch.ID == "" || ch.ID != chunks0(chunks, ch).ID {
					t.Errorf("chunk %d: object %q, model %q, id %q", i, ch.Object, ch.Model, ch.ID)
				}
				for _, choice := range ch.Choices {
					if choice.Delta.Content != nil {
						text.WriteString(*choice.Delta.Content)
					}
				}
				chunks = append(chunks, ch)
			}
			if text.String() != c.text {
				t.Errorf("text %q, want the capture's %q", text.String(), c.text)
			}
			if role := chunks[0].Choices[0].Delta.Role; role == nil || *role != "assistant" {
				t.Errorf("the first chunk names no assistant role: %s", evs[0])
			}
			finish, usage := chunks[len(chunks)-2], chunks[len(chunks)-1]
			want := "stop"
			if c.incomplete {
				want = "length"
			}
			if len(finish.Choices) != 1 || finish.Choices[0].FinishReason == nil || *finish.Choices[0].FinishReason != want {
				t.Errorf("the last chunk with a choice: %s, want finish_reason %q", evs[len(evs)-3], want)
			}
			if len(usage.Choices) != 0 || usage.Usage == nil || usage.Usage.PromptTokens != c.in || usage.Usage.CompletionTokens != c.out || usage.Usage.Cost.TotalCost != c.cost {
				t.Errorf("usage chunk %s, want %d+%d tokens at %g USD", evs[len(evs)-2], c.in, c.out, c.cost)
			}
			// Citations where Perplexity's legacy chat had them: marker [n] is citations[n-1].
			if len(finish.Citations) != len(c.results) || len(finish.SearchResults) != len(c.results) {
				t.Fatalf("%d citations and %d search results, want %d", len(finish.Citations), len(finish.SearchResults), len(c.results))
			}
			for id, url := range c.results {
				if finish.Citations[int(id)-1] != url || finish.SearchResults[int(id)-1].URL != url {
					t.Errorf("citation %v is %q, want %q", id, finish.Citations[int(id)-1], url)
				}
			}
		})
	}
}

// chunks0 is the first chunk read, or ch itself.
func chunks0(chunks []chatChunk, ch chatChunk) chatChunk {
	if len(chunks) > 0 {
		return chunks[0]
	}
	return ch
}

func TestUsageIsSentOnlyWhenAsked(t *testing.T) {
	c := readCapture(t, capture.RealStream+capture.Ext)
	r := NewReply(Asked{Model: "sonar-pro", Stream: true})
	var stream []byte
	for _, ev := range c.events {
		stream = append(stream, r.Event(ev)...)
	}
	evs := payloads(t, stream)
	if strings.Contains(string(stream), `"usage"`) || !strings.Contains(evs[len(evs)-2], `"finish_reason":"stop"`) {
		t.Errorf("a client that did not ask for usage got:\n%s", strings.Join(evs[len(evs)-3:], "\n"))
	}
}

func TestTheWholeCaptureTranslatesToAChatCompletion(t *testing.T) {
	b, err := fs.ReadFile(capture.Perplexity, capture.RealStream+".json")
	if err != nil {
		t.Fatal(err)
	}
	got, ok := NewReply(Asked{Model: "sonar-pro"}).Whole(b)
	if !ok {
		t.Fatalf("a completed answer translated as a failure: %s", got)
	}
	golden(t, capture.RealStream+".chat.json", append(got, '\n'))
	var whole struct {
		Object  string
		Choices []struct {
			Message      struct{ Role, Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage     struct{ PromptTokens, CompletionTokens int }
		Citations []string
	}
	if err := json.Unmarshal(got, &whole); err != nil {
		t.Fatal(err)
	}
	var real struct {
		Output []struct {
			Type    string
			Content []struct{ Text string }
		}
	}
	if err := json.Unmarshal(b, &real); err != nil || len(real.Output) != 2 || real.Output[1].Type != "message" {
		t.Fatalf("the capture's whole answer: %v", err)
	}
	if whole.Object != "chat.completion" || len(whole.Choices) != 1 || whole.Choices[0].Message.Content != real.Output[1].Content[0].Text ||
		whole.Choices[0].Message.Role != "assistant" || whole.Choices[0].FinishReason != "stop" || len(whole.Citations) != 10 {
		t.Errorf("whole answer %s", got)
	}
}

func TestFailedAnswersEndWithAChatError(t *testing.T) {
	for _, tc := range []struct{ name, event, want string }{
		{"response.failed", `{"type":"response.failed","response":{"status":"failed","error":{"message":"The model is overloaded.","type":"internal_error"}}}`,
			`{"error":{"code":"internal_error","message":"The model is overloaded.","param":null,"type":"internal_error"}}`},
		{"response.cancelled", `{"type":"response.cancelled","response":{"status":"cancelled"}}`,
			`{"error":{"code":"upstream_error","message":"The model server cancelled the answer.","param":null,"type":"upstream_error"}}`},
		{"bare error", `{"type":"error","message":"stream reset","code":"server_error"}`,
			`{"error":{"code":"upstream_error","message":"stream reset","param":null,"type":"upstream_error"}}`},
	} {
		r := NewReply(Asked{Model: "sonar-pro", Stream: true, IncludeUsage: true})
		r.Event([]byte(`{"type":"response.created","response":{"id":"resp_1","created_at":1,"model":"low"}}`))
		r.Event([]byte(`{"type":"response.output_text.delta","delta":"Half an ans"}`))
		if got := string(r.Event([]byte(tc.event))); got != "data: "+tc.want+"\n\n" {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestAgentErrorsTakeChatsShape(t *testing.T) {
	got := Error([]byte(`{"error":{"message":"invalid model \"x\"","type":"invalid_model","code":400}}`))
	if want := `{"error":{"code":"invalid_model","message":"invalid model \"x\"","param":null,"type":"invalid_model"}}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := Error([]byte("<html>bad gateway</html>")); string(got) != "<html>bad gateway</html>" {
		t.Errorf("a body that is no Agent API error was changed: %s", got)
	}
}
