package agentchat

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/streamdemo/streamdemo/internal/practice"
)

const seedMessages = `"messages":[{"role":"system","content":"Be precise."},{"role":"user","content":"How many stars are in the universe?"}]`

func TestChatRequestsBecomeAgentRequests(t *testing.T) {
	for _, tc := range []struct {
		name, chat, agent string
		asked             Asked
	}{
		{"the seed's call: sonar-pro is preset low",
			`{"model":"sonar-pro","stream":true,` + seedMessages + `}`,
			`{"preset":"low","instructions":"Be precise.","input":[{"type":"message","role":"user","content":"How many stars are in the universe?"}],"stream":true}`,
			Asked{Model: "sonar-pro", Stream: true}},
		{"sonar searches the web, as it always did",
			`{"model":"sonar",` + seedMessages + `,"max_tokens":100,"temperature":0.2,"top_p":null,"stream_options":null}`,
			`{"model":"perplexity/sonar","instructions":"Be precise.","input":[{"type":"message","role":"user","content":"How many stars are in the universe?"}],"max_output_tokens":100,"temperature":0.2,"tools":[{"type":"web_search"}],"tool_choice":{"type":"web_search"}}`,
			Asked{Model: "sonar"}},
		{"an Agent API model as it is, no search added; usage asked for",
			`{"model":"openai/gpt-5.4","stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":50,` +
				`"messages":[{"role":"user","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]},{"role":"assistant","content":"Hello."},{"role":"user","content":"Again"}]}`,
			`{"model":"openai/gpt-5.4","input":[{"type":"message","role":"user","content":"Hi there"},{"type":"message","role":"assistant","content":"Hello."},{"type":"message","role":"user","content":"Again"}],"stream":true,"max_output_tokens":50}`,
			Asked{Model: "openai/gpt-5.4", Stream: true, IncludeUsage: true}},
		{"Perplexity's legacy search options move onto the tool; defaults clients send are left out",
			`{"model":"fast",` + seedMessages + `,"search_domain_filter":["nasa.gov"],"web_search_options":{"search_context_size":"low"},` +
				`"n":1,"presence_penalty":0,"user":"ana","seed":7,"stop":null,"tools":[],"return_images":false,"reasoning_effort":"low"}`,
			`{"preset":"fast","instructions":"Be precise.","input":[{"type":"message","role":"user","content":"How many stars are in the universe?"}],"reasoning":{"effort":"low"},"tools":[{"type":"web_search","filters":{"search_domain_filter":["nasa.gov"]},"search_context_size":"low"}]}`,
			Asked{Model: "fast"}},
		{"offered tools (Jupyternaut's notebook tools) are left out: the model answers in text, as tool_choice auto allows",
			`{"model":"sonar-pro","stream":true,` + seedMessages + `,"tools":[{"type":"function","function":{"name":"add_cell","parameters":{"type":"object"}}}],"tool_choice":"auto","parallel_tool_calls":true}`,
			`{"preset":"low","instructions":"Be precise.","input":[{"type":"message","role":"user","content":"How many stars are in the universe?"}],"stream":true}`,
			Asked{Model: "sonar-pro", Stream: true}},
	} {
		got, asked, err := Request([]byte(tc.chat))
		if err != nil || string(got) != tc.agent || asked != tc.asked {
			t.Errorf("%s:\n got %s %+v %v\nwant %s %+v", tc.name, got, asked, err, tc.agent, tc.asked)
		}
	}
}

// The Agent API refuses an unknown field, top-level or nested: every
// request the translation makes must pass the practice server's check,
// which is the real API's.
func TestTranslatedRequestsPassTheAgentAPIsStrictCheck(t *testing.T) {
	ts := httptest.NewServer(practice.New(practice.Options{}))
	defer ts.Close()
	for _, chat := range []string{
		`{"model":"sonar-pro","stream":true,"stream_options":{"include_usage":true},` + seedMessages + `}`,
		`{"model":"sonar",` + seedMessages + `,"max_tokens":100,"temperature":0.2,"top_p":0.9}`,
		`{"model":"perplexity/sonar",` + seedMessages + `,"search_recency_filter":"week","search_after_date_filter":"1/1/2025","web_search_options":{"user_location":{"country":"FR"}}}`,
		`{"model":"medium",` + seedMessages + `,"reasoning_effort":"high","response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object"}}}}`,
	} {
		body, _, err := Request([]byte(chat))
		if err != nil {
			t.Fatalf("%s: %v", chat, err)
		}
		resp, err := http.Post(ts.URL+"/v1/agent", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s\nbecame %s\nwhich the Agent API refuses: %d %s", chat, body, resp.StatusCode, b)
		}
	}
}

func TestWhatTheAgentAPICannotDoIsRefusedWithASentence(t *testing.T) {
	for _, tc := range []struct{ name, chat, field, says string }{
		{"not an object", `[1]`, "", "not a JSON object"},
		{"several answers", `{"model":"sonar",` + seedMessages + `,"n":2}`, "n", "nothing for n as sent"},
		{"a required tool", `{"model":"sonar",` + seedMessages + `,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"}`, "tool_choice", "nothing for tool_choice"},
		{"a named tool", `{"model":"sonar",` + seedMessages + `,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"f"}}}`, "tool_choice", "nothing for tool_choice"},
		{"a tool result", `{"model":"sonar","messages":[{"role":"tool","tool_call_id":"c1","content":"42"}]}`, "messages", "no tool calls or tool results"},
		{"an image", `{"model":"sonar","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, "messages", `not "image_url" parts`},
		{"a stop sequence", `{"model":"sonar",` + seedMessages + `,"stop":["\n"]}`, "stop", "nothing for stop"},
		{"an unknown field", `{"model":"sonar",` + seedMessages + `,"frobnicate":true}`, "frobnicate", "has no frobnicate"},
		{"no messages", `{"model":"sonar","messages":[]}`, "messages", "at least one user or assistant message"},
		{"a wrong type", `{"model":7,` + seedMessages + `}`, "model", "model has the wrong type"},
	} {
		_, _, err := Request([]byte(tc.chat))
		re, ok := err.(*RequestError)
		if !ok || re.Field != tc.field || !strings.Contains(re.Message, tc.says) || !strings.HasSuffix(re.Message, ".") {
			t.Errorf("%s: got %#v, want a sentence about %q saying %q", tc.name, err, tc.field, tc.says)
		}
	}
}
