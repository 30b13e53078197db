package streamdemo_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// The rule for where an answer comes from, one situation per row: the
// environment a learner sets, and the one line the client then prints (or
// the one sentence it refuses with).
func TestTheRuleForWhereAnAnswerComesFrom(t *testing.T) {
	t.Parallel()
	const gateway = "http://10.0.0.9:8790/v1"
	for _, tc := range []struct {
		name      string
		env       map[string]string
		codeKey   string
		listening string // which local server answers: "ollama", "practice" or none
		want      string // the start of Client.String, or of the refusal's hint
	}{
		{"a named provider wins over a key", map[string]string{"STREAMDEMO_PROVIDER": "practice", "PERPLEXITY_API_KEY": testKey}, "", "",
			"practice (Agent API) at http://127.0.0.1:8787/v1"},
		{"a Perplexity key alone", map[string]string{"PERPLEXITY_API_KEY": testKey}, "", "ollama",
			"perplexity (Agent API) at https://api.perplexity.ai/v1, model sonar-pro"},
		{"a base URL and a Perplexity key: the Agent API at that URL", map[string]string{"STREAMDEMO_BASE_URL": gateway, "PERPLEXITY_API_KEY": testKey}, "", "",
			"perplexity (Agent API) at " + gateway + ", model sonar-pro"},
		{"a base URL and an OpenAI key", map[string]string{"STREAMDEMO_BASE_URL": gateway, "OPENAI_API_KEY": "sk-test"}, "", "",
			"openai (chat completions) at " + gateway + ", model gpt-4o-mini"},
		{"a base URL and a compatible key", map[string]string{"STREAMDEMO_BASE_URL": gateway, "STREAMDEMO_API_KEY": "k", "STREAMDEMO_MODEL": "qwen"}, "", "",
			"compatible (chat completions) at " + gateway + ", model qwen"},
		{"a base URL alone", map[string]string{"STREAMDEMO_BASE_URL": gateway, "STREAMDEMO_MODEL": "qwen"}, "", "ollama",
			"compatible (chat completions) at " + gateway},
		{"a key in code and a base URL: Perplexity's Agent API there", map[string]string{"STREAMDEMO_BASE_URL": gateway}, testKey, "",
			"perplexity (Agent API) at " + gateway},
		{"two keys and no provider", map[string]string{"PERPLEXITY_API_KEY": testKey, "OPENAI_API_KEY": "sk-test"}, "", "",
			"PERPLEXITY_API_KEY and OPENAI_API_KEY are both set, so it is not clear which service to ask: put STREAMDEMO_PROVIDER=perplexity (or openai) in your .env file."},
		{"no key: the local model", nil, "", "ollama",
			"ollama (chat completions) at http://127.0.0.1:11434/v1, model smollm2-135m (the local model"},
		{"no key, no local model: the practice server", nil, "", "practice",
			"practice (Agent API) at http://127.0.0.1:8787/v1, model sonar-pro (the practice server"},
		{"nothing at all", nil, "", "",
			"No API key for perplexity: put PERPLEXITY_API_KEY=your-key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var asked []string
			listening := func(baseURL string) bool {
				asked = append(asked, baseURL)
				return tc.listening == "ollama" && strings.Contains(baseURL, ":11434") ||
					tc.listening == "practice" && strings.Contains(baseURL, ":8787")
			}
			c, err := streamdemo.NewClient(streamdemo.WithEnv(streamdemo.WithListening(streamdemo.Config{APIKey: tc.codeKey}, listening), tc.env))
			got := streamdemo.Hint(err)
			if err == nil {
				got = c.String()
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("got  %q\nwant %q...", got, tc.want)
			}
			if strings.Contains(got, testKey[:12]) {
				t.Errorf("the line shows the key: %q", got)
			}
			if len(asked) > 0 && (len(tc.env) > 0 || tc.codeKey != "") {
				t.Errorf("probed %v although the environment or code chose", asked)
			}
		})
	}
}

// Two keys and no provider is a configuration error a caller can test.
func TestTwoKeysWithoutAProviderIsAConfigError(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OPENAI_API_KEY": "sk-test", "STREAMDEMO_API_KEY": "k"}
	_, err := streamdemo.NewClient(streamdemo.WithEnv(streamdemo.Config{}, env))
	if !errors.Is(err, streamdemo.ErrConfig) || !strings.Contains(streamdemo.Hint(err), "STREAMDEMO_PROVIDER=openai (or compatible)") {
		t.Fatalf("got %v, hint %q", err, streamdemo.Hint(err))
	}
	delete(env, "STREAMDEMO_API_KEY")
	_, err = streamdemo.NewClient(streamdemo.WithEnv(streamdemo.Config{APIKey: "sk-from-code"}, env))
	if hint := streamdemo.Hint(err); !strings.HasPrefix(hint, "Config.APIKey and OPENAI_API_KEY are both set") || strings.Contains(hint, "sk-from-code") {
		t.Errorf("a key in code is Perplexity's, so with OPENAI_API_KEY the rule must refuse: %v, hint %q", err, hint)
	}
	env = map[string]string{"OPENAI_API_KEY": "sk-test", "STREAMDEMO_API_KEY": "k",
		"STREAMDEMO_PROVIDER": "compatible", "STREAMDEMO_BASE_URL": "http://10.0.0.9:8080/v1"}
	if c, err := streamdemo.NewClient(streamdemo.WithEnv(streamdemo.Config{}, env)); err != nil || c.Provider() != streamdemo.Compatible {
		t.Errorf("with the provider named: %v, %v", c, err)
	}
}

// A base URL alone is a compatible server, whose model only the learner
// knows: the stream refuses with the variable to set.
func TestACompatibleServerWithoutAModelNamesTheVariable(t *testing.T) {
	t.Parallel()
	env := map[string]string{"STREAMDEMO_BASE_URL": "http://10.0.0.9:11434/v1"}
	stream := newClient(t, streamdemo.WithEnv(streamdemo.Config{}, env)).ChatStream(context.Background(), seedMessages)
	for range stream.Chunks() {
		t.Fatal("a chunk arrived without a model")
	}
	want := "No model chosen for the server at http://10.0.0.9:11434/v1: put STREAMDEMO_MODEL=its-model-name in your .env file, or set Request.Model."
	if err := stream.Err(); !errors.Is(err, streamdemo.ErrConfig) || streamdemo.Hint(err) != want {
		t.Errorf("got %v, hint %q; want %q", err, streamdemo.Hint(err), want)
	}
}
