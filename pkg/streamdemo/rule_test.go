package streamdemo_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
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

// A server on this machine counts only if this account, root or a system
// account runs it: on a shared machine another account's server on the
// local model's port would read every question. One situation per row: who
// runs the server on each port, and what the rule then says.
func TestALocalServerOfAnotherAccountIsNotAsked(t *testing.T) {
	t.Parallel()
	me, stranger := os.Getuid(), 4321
	if me == stranger {
		stranger++
	}
	const passedOllama = "a server answers on 127.0.0.1:11434, but another account (uid %d) runs it, so it is not asked unless STREAMDEMO_PROVIDER=ollama names it"
	for _, tc := range []struct {
		name   string
		env    map[string]string
		owners map[string][]int // the ports that answer, and the uids listening there (nil: the system does not say)
		want   string           // the start of Client.String, or of the refusal's hint
		why    string           // Settings.Why, or what the hint says in brackets
	}{
		{"the local model, this account's", nil, map[string][]int{"11434": {me}},
			"ollama (chat completions)", "no key is set and the local model answers on 127.0.0.1:11434"},
		{"the local model, root's", nil, map[string][]int{"11434": {0}},
			"ollama (chat completions)", "no key is set and the local model answers on 127.0.0.1:11434"},
		{"the local model, a system account's (Ollama's service)", nil, map[string][]int{"11434": {998}},
			"ollama (chat completions)", "no key is set and the local model answers on 127.0.0.1:11434"},
		{"the local model, another person's; the practice server, this account's", nil, map[string][]int{"11434": {stranger}, "8787": {me}},
			"practice (Agent API)", "no key is set and the practice server answers on 127.0.0.1:8787; " + fmt.Sprintf(passedOllama, stranger)},
		{"two listeners sharing the port, one another person's", nil, map[string][]int{"11434": {me, stranger}},
			"No API key for perplexity", fmt.Sprintf(passedOllama, stranger)},
		{"both another person's", nil, map[string][]int{"11434": {stranger}, "8787": {stranger}},
			"No API key for perplexity", fmt.Sprintf(passedOllama, stranger) + "; a server answers on 127.0.0.1:8787, but another account (uid " + fmt.Sprint(stranger) + ") runs it, so it is not asked unless STREAMDEMO_PROVIDER=practice names it"},
		{"the system names no listener", nil, map[string][]int{"11434": {}},
			"No API key for perplexity", "a server answers on 127.0.0.1:11434, but another account (an account the system does not name) runs it"},
		{"the system does not say who listens (no /proc/net/tcp)", nil, map[string][]int{"11434": nil},
			"ollama (chat completions)", "no key is set and the local model answers on 127.0.0.1:11434"},
		{"named, another person's server is asked", map[string]string{"STREAMDEMO_PROVIDER": "ollama"}, map[string][]int{"11434": {stranger}},
			"ollama (chat completions)", "STREAMDEMO_PROVIDER names it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			port := func(hostport string) string { return hostport[strings.LastIndex(hostport, ":")+1:] }
			answers := func(baseURL string) bool { _, ok := tc.owners[port(strings.TrimSuffix(baseURL, "/v1"))]; return ok }
			owners := func(hostport string) ([]int, error) {
				if uids := tc.owners[port(hostport)]; uids != nil {
					return uids, nil
				}
				return nil, fs.ErrNotExist
			}
			cfg := streamdemo.WithOwners(streamdemo.WithListening(streamdemo.Config{}, answers), owners)
			c, err := streamdemo.NewClient(streamdemo.WithEnv(cfg, tc.env))
			got, why := streamdemo.Hint(err), ""
			if err == nil {
				got, why = c.String(), c.Settings().Why
			} else if _, bracket, ok := strings.Cut(got, " ("); ok {
				why = strings.TrimSuffix(bracket, ").")
			}
			if !strings.HasPrefix(got, tc.want) || !strings.HasPrefix(why, tc.why) {
				t.Errorf("got  %q\nwhy  %q\nwant %q... because %q...", got, why, tc.want, tc.why)
			}
		})
	}
}

// Settings say why the provider was chosen and where the key comes from,
// by name, never the key itself.
func TestSettingsSayWhyAndWhereTheKeyComesFrom(t *testing.T) {
	t.Parallel()
	const gateway = "http://10.0.0.9:8790/v1"
	for _, tc := range []struct {
		name string
		cfg  streamdemo.Config
		env  map[string]string
		want streamdemo.Settings
	}{
		{"a Perplexity key in the environment", streamdemo.Config{}, map[string]string{"PERPLEXITY_API_KEY": testKey},
			streamdemo.Settings{Provider: "perplexity", Protocol: "responses", BaseURL: "https://api.perplexity.ai/v1", Model: "sonar-pro",
				KeyVar: "PERPLEXITY_API_KEY", KeyFrom: "PERPLEXITY_API_KEY", KeyRequired: true, Why: "PERPLEXITY_API_KEY is the only key set"}},
		{"a key in code and a gateway's base URL", streamdemo.Config{APIKey: testKey, BaseURL: gateway}, nil,
			streamdemo.Settings{Provider: "perplexity", Protocol: "responses", BaseURL: gateway, Model: "sonar-pro",
				KeyVar: "PERPLEXITY_API_KEY", KeyFrom: "Config.APIKey", Why: "Config.APIKey is the only key set"}},
		{"the practice server named in code", streamdemo.Config{Provider: "practice"}, map[string]string{"PERPLEXITY_API_KEY": testKey},
			streamdemo.Settings{Provider: "practice", Protocol: "responses", BaseURL: "http://127.0.0.1:8787/v1", Model: "sonar-pro",
				KeyVar: "STREAMDEMO_API_KEY", Why: "Config.Provider names it"}},
		{"a compatible server named in the environment, with its key", streamdemo.Config{}, map[string]string{"STREAMDEMO_PROVIDER": "compatible", "STREAMDEMO_BASE_URL": gateway, "STREAMDEMO_API_KEY": testKey, "STREAMDEMO_PROTOCOL": "agent"},
			streamdemo.Settings{Provider: "compatible", Protocol: "agent", BaseURL: gateway,
				KeyVar: "STREAMDEMO_API_KEY", KeyFrom: "STREAMDEMO_API_KEY", Why: "STREAMDEMO_PROVIDER names it"}},
		{"a base URL alone", streamdemo.Config{}, map[string]string{"STREAMDEMO_BASE_URL": gateway},
			streamdemo.Settings{Provider: "compatible", Protocol: "chat", BaseURL: gateway,
				KeyVar: "STREAMDEMO_API_KEY", Why: "a base URL is set and no key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := streamdemo.NewClient(streamdemo.WithEnv(tc.cfg, tc.env))
			if err != nil {
				t.Fatal(streamdemo.Hint(err))
			}
			if got := c.Settings(); got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if strings.Contains(fmt.Sprintf("%+v %s", c.Settings(), c), testKey[:12]) {
				t.Error("the settings show the key")
			}
		})
	}
}
