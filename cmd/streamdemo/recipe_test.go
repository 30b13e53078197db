package main

import (
	"bufio"
	"context"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/gateway"
	"github.com/streamdemo/streamdemo/internal/practice"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// recipe is one block of .env lines a document gives its reader to copy;
// kind says what it points at: "gateway" (a class gateway) or "server" (a
// model server speaking chat completions).
type recipe struct {
	doc, kind string
	lines     []string
}

var (
	recipeBlock = regexp.MustCompile("<!-- recipe: ([a-z]+) -->\\n```[a-z]*\\n((?s:.*?))```")
	envLine     = regexp.MustCompile(`^[A-Z][A-Z0-9_]*=\S+$`)
)

// readRecipes returns the marked recipes of the document at path.
func readRecipes(t *testing.T, path string) []recipe {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []recipe
	for _, m := range recipeBlock.FindAllStringSubmatch(string(b), -1) {
		r := recipe{doc: filepath.Base(path), kind: m[1]}
		for _, line := range strings.Split(strings.TrimSpace(m[2]), "\n") {
			if !envLine.MatchString(line) {
				t.Errorf("%s: recipe %q holds %q, not a NAME=value line", path, r.kind, line)
			}
			r.lines = append(r.lines, line)
		}
		out = append(out, r)
	}
	return out
}

// Every recipe of the README and docs/classroom/howto-gateway.md, copied as written into a
// .env file (only the host and the token filled in), makes `streamdemo ask`
// stream the answer from what the recipe points at.
func TestEveryRecipeOfTheDocsStreamsTheAnswer(t *testing.T) {
	recipes := append(readRecipes(t, "../../README.md"), readRecipes(t, "../../docs/classroom/howto-gateway.md")...)
	kinds := map[string]int{}
	for _, r := range recipes {
		kinds[r.doc+" "+r.kind]++
	}
	for _, want := range []string{"README.md gateway", "README.md server", "howto-gateway.md gateway"} {
		if kinds[want] == 0 {
			t.Errorf("no %s recipe found (marked <!-- recipe: ... --> before its block)", want)
		}
	}
	const question = "How many stars are in the universe?"
	answer := practice.Choose("", question).Text
	for _, r := range recipes {
		t.Run(r.doc+" "+r.kind, func(t *testing.T) {
			up := practice.New(practice.Options{})
			ts := httptest.NewServer(up)
			defer ts.Close()
			server, token := ts.URL+"/v1", ""
			switch r.kind {
			case "gateway":
				server, token = startGatewayCommand(t, server)
			case "server":
			default:
				t.Fatalf("unknown recipe kind %q", r.kind)
			}
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module student\n"), 0o644) // LoadEnv stops here
			env := fillIn(t, r.lines, server, token)
			if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(env), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(binary, "ask", question)
			cmd.Dir, cmd.Env = dir, cleanEnv()
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if err != nil || !strings.Contains(stdout.String(), answer) {
				t.Fatalf("the recipe\n%s\ndid not stream the answer: %v\nstdout %q\nstderr %q", strings.Join(r.lines, "\n"), err, stdout.String(), stderr.String())
			}
			if token != "" && strings.Contains(stdout.String()+stderr.String(), token) {
				t.Error("the output shows the student's token")
			}
			if text := askLikeTheNotebook(t, dir, r.lines, question); text != answer {
				t.Errorf("the notebook's streaming cell got %q, want the answer", text)
			}
			records := up.Records()
			if len(records) != 2 {
				t.Fatalf("%d requests reached the server, want 2 (the command, the notebook)", len(records))
			}
			for _, rec := range records {
				if p := rec.Path; r.kind == "gateway" && !strings.HasSuffix(p, "/responses") && !strings.HasSuffix(p, "/agent") {
					t.Errorf("through the gateway the lesson asked %s, want the Agent API", p)
				}
			}
		})
	}
}

// askLikeTheNotebook runs what the lesson's streaming cell does in dir: load
// .env, make a client with the Perplexity key passed in code, stream.
func askLikeTheNotebook(t *testing.T, dir string, lines []string, question string) string {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "STREAMDEMO_") || strings.HasSuffix(name, "_API_KEY") || name == "OPENAI_BASE_URL" {
			t.Setenv(name, "")
		}
	}
	for _, line := range lines {
		name, _, _ := strings.Cut(line, "=")
		t.Setenv(name, "") // so that what LoadEnv sets is undone when the test ends
	}
	t.Chdir(dir)
	if _, err := streamdemo.LoadEnv(); err != nil {
		t.Fatal(err)
	}
	client, err := streamdemo.NewClient(streamdemo.Config{APIKey: os.Getenv("PERPLEXITY_API_KEY")})
	if err != nil {
		t.Fatalf("NewClient: %s", streamdemo.Hint(err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream := client.ChatStream(ctx, []streamdemo.Message{{Role: "user", Content: question}})
	var text strings.Builder
	for chunk := range stream.Chunks() {
		text.WriteString(chunk.Text)
	}
	if err := stream.Err(); err != nil {
		t.Errorf("the notebook's stream: %s", streamdemo.Hint(err))
	}
	return text.String()
}

// fillIn writes the recipe's lines as a .env file, with each URL's host
// replaced by the test server's and TOKEN by the token.
func fillIn(t *testing.T, lines []string, server, token string) string {
	t.Helper()
	s, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, line := range lines {
		name, value, _ := strings.Cut(line, "=")
		if u, err := url.Parse(value); err == nil && u.Scheme == "http" {
			u.Host = s.Host
			value = u.String()
		}
		if value == "TOKEN" {
			if token == "" {
				t.Fatalf("%s=TOKEN in a recipe that needs no token", name)
			}
			value = token
		}
		b.WriteString(name + "=" + value + "\n")
	}
	return b.String()
}

// cleanEnv is the test's environment without anything that chooses a provider.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "STREAMDEMO_") && !strings.HasSuffix(name, "_API_KEY") && name != "OPENAI_BASE_URL" {
			env = append(env, kv)
		}
	}
	return env
}

// startGatewayCommand runs `streamdemo gateway serve` on a port of its
// choosing in front of upstream, with one student and env added to its
// environment; it returns the gateway's base URL and the student's token.
func startGatewayCommand(t *testing.T, upstream string, env ...string) (base, token string) {
	t.Helper()
	data := t.TempDir()
	out, _, code := run(t, "gateway", "token", "add", "ana", "--data", data)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 {
		t.Fatalf("token add: exit %d", code)
	}
	token = lines[len(lines)-1]
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, binary, "gateway", "serve", "--addr", "127.0.0.1:0", "--upstream", upstream, "--data", data)
	cmd.Env = append(append(cleanEnv(), "JUPYTERHUB_SERVICE_URL=", gateway.KeyEnv+"="), env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if _, rest, ok := strings.Cut(sc.Text(), "base URL "); ok {
			base, _, _ = strings.Cut(rest, ",")
			break
		}
	}
	go io.Copy(io.Discard, stderr)
	if base == "" {
		t.Fatal("the gateway did not say its base URL")
	}
	return base, token
}

// With two keys set and no provider named, ask refuses before sending
// anything, in one sentence naming the variable to set.
func TestAskWithTwoKeysRefusesInOneSentence(t *testing.T) {
	up := practice.New(practice.Options{})
	ts := httptest.NewServer(up)
	defer ts.Close()
	cmd := exec.Command(binary, "ask", "--base-url", ts.URL+"/v1", "How many stars are in the universe?")
	cmd.Dir = t.TempDir()
	os.WriteFile(filepath.Join(cmd.Dir, "go.mod"), []byte("module student\n"), 0o644)
	cmd.Env = append(cleanEnv(), "PERPLEXITY_API_KEY="+testKey, "OPENAI_API_KEY=sk-test-0123456789")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	want := "PERPLEXITY_API_KEY and OPENAI_API_KEY are both set, so it is not clear which service to ask: put STREAMDEMO_PROVIDER=perplexity (or openai) in your .env file.\n"
	if err == nil || stdout.String() != "" || stderr.String() != want {
		t.Errorf("got %v, stdout %q, stderr %q; want exit 1 and %q", err, stdout.String(), stderr.String(), want)
	}
	if n := len(up.Records()); n != 0 {
		t.Errorf("%d requests sent before the refusal", n)
	}
}
