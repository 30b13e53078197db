package meter

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"testing"

	"github.com/streamdemo/streamdemo/internal/capture"
)

// bounds are the gateway's: caps up to 128,000 tokens, up to 128 answers.
var bounds = Bounds{Cap: 128000, Answers: 128}

const seedQuestion = "How many stars are in the universe?"

func chatBody(extra string) string {
	return `{"model":"sonar-pro","stream":true` + extra + `,"messages":[{"role":"user","content":"` + seedQuestion + `"}]}`
}

func agentBody(extra string) string {
	return `{"model":"perplexity/sonar","stream":true` + extra + `,"input":"` + seedQuestion + `"}`
}

// FuzzParse feeds request bodies to the accounting parser: it must not
// panic; what it accepts, encoding/json reads the same way, every cap lies
// in 1..bounds.Cap and n and best_of in 1..bounds.Answers, and the rewritten
// body is JSON with the cap it was given.
func FuzzParse(f *testing.F) {
	for _, s := range []string{chatBody(`,"max_tokens":100`), agentBody(`,"max_output_tokens":5`), `{"MAX_TOKENS":9223372036854775807}`,
		`{"max_tokens":1,"max_tokens":2}`, `{"max_toKens":3}`, `{"stream":true,"stream_options":{"include_usage":false}}`,
		`{"models":["a/b","c/d"],"preset":"pro-search"}`, `[]`, `{"max_tokens":-1}`, `{} {}`, `{"max_tokens":1e2}`,
		`{"n":64,"best_of":128}`, `{"n":0}`, `{"N":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := Parse(body, bounds)
		if err != nil {
			return
		}
		var plain struct {
			Model     string `json:"model"`
			MaxTokens *int64 `json:"max_tokens"`
		}
		if json.Unmarshal(body, &plain) == nil && plain.Model != a.Model {
			t.Fatalf("model %q, encoding/json reads %q", a.Model, plain.Model)
		}
		if plain.MaxTokens != nil && *plain.MaxTokens != a.caps["max_tokens"] {
			t.Fatalf("max_tokens %d, encoding/json reads %d", a.caps["max_tokens"], *plain.MaxTokens)
		}
		for name, v := range a.caps {
			if v < 1 || v > bounds.Cap {
				t.Fatalf("%s = %d accepted", name, v)
			}
		}
		if a.answers < 0 || a.answers > bounds.Answers {
			t.Fatalf("%d answers accepted", a.answers)
		}
		out, err := a.Rewrite(body, 77, "max_tokens", true)
		if err != nil {
			return // stream_options that is not an object: refused as a bad body
		}
		b, err := Parse(out, bounds)
		if err != nil || b.OutputCap() != 77 {
			t.Fatalf("rewritten body %s: cap %d, %v", out, b.OutputCap(), err)
		}
	})
}

// FuzzBearer reads any Authorization header without panicking, and never
// returns a token with surrounding space or a scheme left in it.
// captured is the real Agent API stream's events, in order.
func captured(t testing.TB) []string {
	t.Helper()
	f, err := capture.Perplexity.Open(capture.RealStream + capture.Ext)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// TestTheRealStreamIsCountedOnce: of the real capture, the counter takes
// the answer's text and the search call's arguments once each, and neither
// the search results (a tool's output, not the model's), nor the ".done"
// events and the final response that repeat the text.
func TestTheRealStreamIsCountedOnce(t *testing.T) {
	var text, args, results string
	c := &Tally{}
	for _, line := range captured(t) {
		var ev struct {
			Type string `json:"type"`
			Text string `json:"text"`
			Item struct {
				Arguments string `json:"arguments"`
			} `json:"item"`
			Results json.RawMessage `json:"results"`
		}
		json.Unmarshal([]byte(line), &ev)
		switch ev.Type {
		case "response.output_text.done":
			text = ev.Text
		case "response.output_item.added":
			args += ev.Item.Arguments
		case "response.reasoning.search_results":
			results = string(ev.Results)
		}
		if ev.Type != "response.completed" {
			c.Observe([]byte(line))
		}
	}
	if text == "" || args == "" || len(results) < 1000 {
		t.Fatalf("the capture lacks its text, arguments or results")
	}
	least := int64(len(text) + len(args))
	if c.Chars < least || c.Chars > least+100 {
		t.Errorf("counted %d bytes of output before response.completed; the text and the arguments are %d", c.Chars, least)
	}
	// The same answer not streamed, its usage removed: the text, not the results.
	b, err := fs.ReadFile(capture.Perplexity, capture.RealStream+".json")
	if err != nil {
		t.Fatal(err)
	}
	var whole map[string]any
	json.Unmarshal(b, &whole)
	delete(whole, "usage")
	var answer struct {
		Output []struct {
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"output"`
	}
	b, _ = json.Marshal(whole)
	json.Unmarshal(b, &answer)
	text = answer.Output[len(answer.Output)-1].Content[0].Text
	c = &Tally{}
	c.Observe(b)
	if c.Usage != nil || c.Chars != int64(len(text)) {
		t.Errorf("counted %d bytes of the whole answer; its text is %d", c.Chars, len(text))
	}
}

// BenchmarkCountOutput is the counter's cost per event of the real
// capture and per chat chunk: walked (as Observe reads most events) beside
// decoded (as it reads the rest, and read every event before):
// "go test -run='^$' -bench=CountOutput -benchmem ./internal/meter".
func BenchmarkCountOutput(b *testing.B) {
	agentEvents := captured(b)
	chatChunk := `{"id":"c","object":"chat.completion.chunk","model":"sonar-pro","choices":[{"index":0,"delta":{"content":"word 0001 of the answer "},"finish_reason":null}]}`
	for _, c := range []struct {
		name   string
		events []string
	}{{"agent", agentEvents}, {"chat", []string{chatChunk}}} {
		b.Run(c.name+"/decoded", func(b *testing.B) {
			cl := &Tally{}
			for i := 0; b.Loop(); i++ {
				cl.observeDecoded([]byte(c.events[i%len(c.events)]))
			}
		})
		b.Run(c.name+"/walked", func(b *testing.B) {
			cl := &Tally{}
			for i := 0; b.Loop(); i++ {
				cl.Observe([]byte(c.events[i%len(c.events)]))
			}
		})
	}
}
