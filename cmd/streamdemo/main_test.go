package main

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamdemo/streamdemo/internal/practice"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "streamdemo-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "streamdemo")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const testKey = "pplx-CLITEST-abcdefghijklmnopqrstuvwxyz0123"

// run runs the binary in an empty folder with only the test key configured.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PERPLEXITY_API_KEY="+testKey, "STREAMDEMO_PROVIDER=", "STREAMDEMO_BASE_URL=", "STREAMDEMO_MODEL=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String()+errOut.String(), testKey[:12]) {
		t.Errorf("output shows the key")
	}
	return out.String(), errOut.String(), code
}

func TestAskStreamsTheSeedAnswerWithSourcesAndSummary(t *testing.T) {
	ts := httptest.NewServer(practice.New(practice.Options{}))
	defer ts.Close()
	want := practice.Choose(practice.SeedSystemPrompt, "How many stars are in the universe?").Text
	for _, provider := range []string{"perplexity", "openai"} {
		stdout, stderr, code := run(t, "ask", "--provider", provider, "--base-url", ts.URL+"/v1", "--system", practice.SeedSystemPrompt, "How many stars are in the universe?")
		if code != 0 || strings.TrimSpace(stdout) != want {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q", provider, code, stdout, stderr)
		}
		if !strings.Contains(stderr, " chunks · ") || !strings.Contains(stderr, "first chunk") {
			t.Errorf("%s: no summary line in %q", provider, stderr)
		}
		if hasSources := strings.Contains(stderr, "Sources:\n  [1] How many stars are there in the Universe?\n      https://www.esa.int/"); hasSources != (provider == "perplexity") {
			t.Errorf("%s: sources shown %v in %q", provider, hasSources, stderr)
		}
	}
}

func TestEveryFaultEndsWithOneSentenceAndExitStatus1(t *testing.T) {
	ts := httptest.NewServer(practice.New(practice.Options{}))
	defer ts.Close()
	partial := strings.Join(practice.Tokens(practice.Choose("", "How many stars are in the universe?").Text)[:practice.FaultAfter], "")
	for _, fault := range practice.Faults {
		stdout, stderr, code := run(t, "ask", "--idle-timeout", "300ms", "--retries", "-1", "--base-url", ts.URL+"/v1", "--model", "fault/"+fault, "How many stars are in the universe?")
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		if code != 1 || !strings.HasSuffix(last, ".") || strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
			t.Errorf("fault/%s: exit %d, stderr %q", fault, code, stderr)
		}
		midstream := practice.Midstream(fault)
		if midstream != strings.HasPrefix(stdout, partial) {
			t.Errorf("fault/%s: stdout %q, want the partial answer kept: %v", fault, stdout, midstream)
		}
	}
}

func TestAskWithoutAQuestionShowsUsage(t *testing.T) {
	_, stderr, code := run(t, "ask")
	if code != 2 || !strings.Contains(stderr, "usage: streamdemo ask") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestServeNeedsATokenBeyondLoopback(t *testing.T) {
	_, stderr, code := run(t, "serve", "--addr", "0.0.0.0:0")
	if code != 1 || !strings.Contains(stderr, "only with a token: put it in a file and add --token-file FILE") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestSourcesReachTheTerminalWithoutEscapeSequences(t *testing.T) {
	for in, want := range map[string]string{
		"Plain title":                          "Plain title",
		"Evil\x1b]0;pwned\x07 title\x1b[2J":    "Evil]0;pwned title[2J",
		"Two\nlines\tand\r\x00 a NUL\u009b31m": "Two lines and a NUL31m",
	} {
		if got := terminalSafe(in); got != want {
			t.Errorf("terminalSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
