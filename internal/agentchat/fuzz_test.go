package agentchat

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"testing"

	"github.com/streamdemo/streamdemo/internal/capture"
)

// FuzzRequest holds the mapping of a student's chat request: it never
// panics, and what it makes is one JSON object with a model or a preset
// and input, or a refusal with a field and a sentence.
func FuzzRequest(f *testing.F) {
	f.Add([]byte(`{"model":"sonar-pro","stream":true,` + seedMessages + `}`))
	f.Add([]byte(`{"model":"sonar",` + seedMessages + `,"search_domain_filter":["a"],"web_search_options":{"search_context_size":"low"},"n":1}`))
	f.Add([]byte(`{"model":"x","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}],"max_tokens":5}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, asked, err := Request(body)
		if err != nil {
			if re, ok := err.(*RequestError); !ok || re.Message == "" || out != nil {
				t.Fatalf("refusal %#v with %q", err, out)
			}
			return
		}
		var got struct {
			Model, Preset string
			Input         []inputItem
		}
		if err := json.Unmarshal(out, &got); err != nil || (got.Model == "" && got.Preset == "") || len(got.Input) == 0 || asked.Model == "" {
			t.Fatalf("%s became %s (%v)", body, out, err)
		}
	})
}

// FuzzReplyEvent holds the translation of what an upstream sends: it never
// panics, and what it writes is whole server-sent events, each one JSON
// value or [DONE].
func FuzzReplyEvent(f *testing.F) {
	b, _ := fs.ReadFile(capture.Perplexity, capture.RealStream+capture.Ext)
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		f.Add(line)
	}
	f.Add([]byte(`{"type":"response.failed","error":{"message":7}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		r := NewReply(Asked{Model: "m", Stream: true, IncludeUsage: true})
		out := append(r.Event(payload), r.Event(payload)...)
		for _, event := range bytes.SplitAfter(out, []byte("\n\n")) {
			if len(event) == 0 {
				continue
			}
			data, ok := bytes.CutPrefix(event, []byte("data: "))
			data, ended := bytes.CutSuffix(data, []byte("\n\n"))
			if !ok || !ended || bytes.Contains(data, []byte("\n")) || (!json.Valid(data) && string(data) != "[DONE]") {
				t.Fatalf("%q became the event %q", payload, event)
			}
		}
	})
}
