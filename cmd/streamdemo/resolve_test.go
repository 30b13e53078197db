package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/streamdemo/streamdemo/internal/practice"
)

// The keys of these tests: no output may show any of them.
const (
	fileKey  = "sk-FILEKEY-0123456789abcdefghijklmn"
	stdinKey = "sk-STDINKEY-0123456789abcdefghijkl"
	envKey   = "pplx-DOTENVKEY-0123456789abcdefghij"
)

// resolved is streamdemo resolve's outcome: its exit status and its output.
type resolved struct {
	code           int
	stdout, stderr string
}

// runResolve runs streamdemo resolve in a folder of its own holding files
// (name: content), with only env in its environment and stdin on its stdin.
func runResolve(t *testing.T, env, files map[string]string, stdin string, args ...string) resolved {
	t.Helper()
	dir := t.TempDir()
	// The repository root: no .env above it is read.
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module class\n"), 0o644)
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(binary, append([]string{"resolve"}, args...)...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := resolved{stdout: out.String(), stderr: errOut.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{fileKey, stdinKey, envKey, testKey} {
		if strings.Contains(r.stdout+r.stderr, key[:12]) {
			t.Errorf("the output shows a key: %+v", r)
		}
	}
	return r
}

// upstreams are a teacher's own servers, as resolve meets them; each wants
// fileKey or stdinKey where it wants a key.
func upstreams(t *testing.T) map[string]string {
	t.Helper()
	serve := func(h http.Handler) string {
		ts := httptest.NewServer(h)
		t.Cleanup(ts.Close)
		return ts.URL + "/v1"
	}
	agentOnly := http.NewServeMux()
	agentOnly.Handle("POST /v1/responses", http.NotFoundHandler())
	agentOnly.Handle("/", practice.New(practice.Options{}))
	// As Perplexity is: the Agent API at /v1/agent and /v1/responses, chat
	// completions refused with its 403 (the practice server's at /chat/completions).
	retired := http.NewServeMux()
	retired.Handle("POST /v1/chat/completions", http.StripPrefix("/v1", practice.New(practice.Options{})))
	retired.Handle("/", practice.New(practice.Options{}))
	noChat := http.NewServeMux()
	noChat.Handle("POST /v1/responses", http.NotFoundHandler())
	noChat.Handle("POST /v1/chat/completions", http.NotFoundHandler())
	noChat.Handle("/", practice.New(practice.Options{}))
	chat := func(models ...string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || r.URL.Path != "/v1/models" {
				http.NotFound(w, r)
				return
			}
			var data []map[string]string
			for _, m := range models {
				data = append(data, map[string]string{"id": m})
			}
			json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
		})
	}
	return map[string]string{
		"responses, wants stdinKey": serve(practice.New(practice.Options{Token: stdinKey})),
		"responses, wants fileKey":  serve(practice.New(practice.Options{Token: fileKey})),
		"agent only":                serve(agentOnly),
		"chat retired":              serve(retired),
		"agent only, no chat":       serve(noChat),
		"chat, one model":           serve(chat("uni-7b")),
		"chat, two models":          serve(chat("alpha", "beta")),
	}
}

// What resolve says, by the library's rule and its discovery, one situation
// per row: the JSON the class program reads, or the refusal's kind.
func TestResolveSaysWhereTheLibraryWouldAsk(t *testing.T) {
	t.Parallel()
	up := upstreams(t)
	const perplexity = "https://api.perplexity.ai/v1"
	for _, tc := range []struct {
		name  string
		env   map[string]string
		files map[string]string
		stdin string
		args  []string
		want  resolution // or
		kind  string     // the Kind of the refusal
	}{
		{"a Perplexity key in the environment", map[string]string{"PERPLEXITY_API_KEY": testKey}, nil, "", nil,
			resolution{"perplexity", "responses", "sonar-pro", perplexity, keyOrigin{"environment", "PERPLEXITY_API_KEY", "", true}, "PERPLEXITY_API_KEY is the only key set", true}, ""},
		{"a Perplexity key in .env", nil, map[string]string{".env": "PERPLEXITY_API_KEY=" + envKey + "\n"}, "", nil,
			resolution{"perplexity", "responses", "sonar-pro", perplexity, keyOrigin{"dotenv", "PERPLEXITY_API_KEY", ".env", true}, "PERPLEXITY_API_KEY is the only key set", true}, ""},
		{"the class's key file and no URL: Perplexity", nil, map[string]string{"upstream-key": fileKey + "\n"}, "", []string{"--key-file", "upstream-key"},
			resolution{"perplexity", "responses", "sonar-pro", perplexity, keyOrigin{"file", "PERPLEXITY_API_KEY", "upstream-key", true}, "Config.APIKey is the only key set", true}, ""},
		{"a teacher's server with the Agent API, its key on stdin", nil, nil, stdinKey + "\n",
			[]string{"--provider", "compatible", "--base-url", up["responses, wants stdinKey"], "--model", "perplexity/sonar", "--key-file", "-"},
			resolution{"compatible", "responses", "perplexity/sonar", up["responses, wants stdinKey"], keyOrigin{"stdin", "STREAMDEMO_API_KEY", "", false}, "Config.Provider names it; the server speaks responses", false}, ""},
		{"a teacher's server with the Agent API at /agent only", nil, nil, "", []string{"--base-url", up["agent only"], "--model", "perplexity/sonar"},
			resolution{"compatible", "agent", "perplexity/sonar", up["agent only"], keyOrigin{"none", "STREAMDEMO_API_KEY", "", false}, "a base URL is set and no key; the server speaks agent", false}, ""},
		{"a teacher's server whose chat completions are retired, as Perplexity's are", nil, nil, "", []string{"--base-url", up["chat retired"], "--model", "perplexity/sonar"},
			resolution{"compatible", "responses", "perplexity/sonar", up["chat retired"], keyOrigin{"none", "STREAMDEMO_API_KEY", "", false}, "a base URL is set and no key; the server speaks responses", true}, ""},
		{"a teacher's server with the Agent API at /agent and no chat completions", nil, nil, "", []string{"--base-url", up["agent only, no chat"], "--model", "perplexity/sonar", "--protocol", "agent"},
			resolution{"compatible", "agent", "perplexity/sonar", up["agent only, no chat"], keyOrigin{"none", "STREAMDEMO_API_KEY", "", false}, "a base URL is set and no key", true}, ""},
		{"a chat server with one model", map[string]string{"STREAMDEMO_BASE_URL": up["chat, one model"]}, nil, "", nil,
			resolution{"compatible", "chat", "uni-7b", up["chat, one model"], keyOrigin{"none", "STREAMDEMO_API_KEY", "", false}, "a base URL is set and no key; the server lists one model; the server speaks chat", false}, ""},
		{"a named protocol is not asked", nil, nil, "", []string{"--base-url", up["chat, one model"], "--protocol", "responses"},
			resolution{"compatible", "responses", "uni-7b", up["chat, one model"], keyOrigin{"none", "STREAMDEMO_API_KEY", "", false}, "a base URL is set and no key; the server lists one model", true}, ""},
		{"a chat server with two models", nil, nil, "", []string{"--base-url", up["chat, two models"]}, resolution{}, "bad configuration"},
		{"a named model the server does not list", nil, nil, "", []string{"--base-url", up["chat, two models"], "--model", "gamma"}, resolution{}, "unknown model"},
		{"a server that cannot be reached", nil, nil, "", []string{"--base-url", "http://127.0.0.1:9/v1"}, resolution{}, "server unreachable"},
		{"a server that refuses the key", nil, map[string]string{"key": stdinKey}, "", []string{"--provider", "compatible", "--base-url", up["responses, wants fileKey"], "--model", "perplexity/sonar", "--key-file", "key"}, resolution{}, "API key rejected"},
		{"Perplexity named, no key", nil, nil, "", []string{"--provider", "perplexity"}, resolution{}, "no API key"},
		{"a key file holding a .env line", nil, map[string]string{"key": "PERPLEXITY_API_KEY=" + fileKey}, "", []string{"--key-file", "key"}, resolution{}, ""},
		{"an empty key file", nil, map[string]string{"key": "\n"}, "", []string{"--key-file", "key"}, resolution{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runResolve(t, tc.env, tc.files, tc.stdin, append(tc.args, "--json")...)
			if tc.want.Provider != "" {
				var got resolution
				if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 || got != tc.want {
					t.Errorf("exit %d, stderr %q\ngot  %+v\nwant %+v", r.code, r.stderr, got, tc.want)
				}
				return
			}
			var refusal struct{ Error, Kind string }
			json.Unmarshal([]byte(r.stdout), &refusal)
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if r.code != 1 || refusal.Kind != tc.kind || refusal.Error == "" || len(lines) != 1 || lines[0] != refusal.Error {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1, kind %q and one sentence", r.code, r.stdout, r.stderr, tc.kind)
			}
		})
	}
}

// The line for people says the same as the JSON, in one line.
func TestResolveSaysItInOneLineForPeople(t *testing.T) {
	t.Parallel()
	r := runResolve(t, nil, map[string]string{".env": "PERPLEXITY_API_KEY=" + envKey + "\n"}, "")
	want := "provider perplexity, protocol responses, model sonar-pro, base URL https://api.perplexity.ai/v1; key from PERPLEXITY_API_KEY in .env; because PERPLEXITY_API_KEY is the only key set\n"
	if r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Errorf("exit %d, stderr %q\ngot  %q\nwant %q", r.code, r.stderr, r.stdout, want)
	}
	r = runResolve(t, nil, map[string]string{"key": "PERPLEXITY_API_KEY=" + fileKey}, "", "--key-file", "key")
	if want := "The key file key holds more than a key: put the key alone in it (a .env file in this folder is read without --key-file).\n"; r.code != 1 || r.stdout != "" || r.stderr != want {
		t.Errorf("exit %d, stdout %q\ngot  %q\nwant %q", r.code, r.stdout, r.stderr, want)
	}
	r = runResolve(t, nil, nil, "", "--key-file", "missing")
	if want := fmt.Sprintf("The key file missing cannot be read (%v): give a file this account can read, holding the key alone.\n", syscall.ENOENT); r.code != 1 || r.stderr != want {
		t.Errorf("exit %d\ngot  %q\nwant %q", r.code, r.stderr, want)
	}
}
