package main

import (
	"bufio"
	"bytes"
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/streamdemo/streamdemo/internal/capture"
	"github.com/streamdemo/streamdemo/internal/practice"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// replayEvents asks a practice server for model replay/name and returns the
// payload of every data line.
func replayEvents(t *testing.T, base, name string) [][]byte {
	t.Helper()
	resp, err := http.Post(base+"/agent", "application/json", strings.NewReader(`{"model":"replay/`+name+`","stream":true,"input":"whatever the question"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var events [][]byte
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if p, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: ")); ok {
			events = append(events, bytes.Clone(p))
		}
	}
	return events
}

// libraryReads is what the library makes of the Agent API at base.
func libraryReads(t *testing.T, base, model string) (string, []streamdemo.Source, *streamdemo.Usage) {
	t.Helper()
	client, err := streamdemo.NewClient(streamdemo.Config{Provider: streamdemo.Perplexity, BaseURL: base, APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	stream := client.Stream(context.Background(), streamdemo.Request{Model: model, Messages: []streamdemo.Message{{Role: "user", Content: "hi"}}})
	for range stream.Chunks() {
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	return stream.Text(), stream.Sources(), stream.Usage()
}

// TestRecordThenReplay records the real capture (served by the practice
// server) with `streamdemo record`, replays the recording with
// `serve --replay`, and checks that the events are byte for byte the
// capture's and the library reads the same text, sources and cost from the
// replay as from the capture file served directly.
func TestRecordThenReplay(t *testing.T) {
	real, _ := fs.ReadFile(capture.Perplexity, capture.RealStream+capture.Ext)
	source := httptest.NewServer(practice.New(practice.Options{Token: "class-token-0123456789"}))
	defer source.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "web.jsonl")
	cmd := exec.Command(binary, "record", "--provider", "perplexity", "--base-url", source.URL+"/v1",
		"--model", "replay/"+capture.RealStream, "--out", out, "What is TypeScript?")
	cmd.Env = append(os.Environ(), "PERPLEXITY_API_KEY=class-token-0123456789", "STREAMDEMO_PROVIDER=", "STREAMDEMO_BASE_URL=")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("record: %v\n%s", err, b)
	}
	recorded, _ := os.ReadFile(out)
	if !bytes.Equal(recorded, real) {
		t.Fatalf("the recording differs from the events sent (%d bytes, want %d)", len(recorded), len(real))
	}
	times, _ := os.ReadFile(filepath.Join(dir, "web"+practice.TimesExt))
	if n, want := len(strings.Fields(string(times))), bytes.Count(real, []byte("\n"))+1; n != want || want != 43 {
		t.Errorf("%d arrival times for %d events", n, want)
	}
	for _, f := range []string{"web.jsonl", "web.times"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if bytes.Contains(b, []byte("class-token")) || bytes.Contains(bytes.ToLower(b), []byte("authorization")) || bytes.Contains(b, []byte("Bearer")) {
			t.Errorf("%s holds the key or an authorization header", f)
		}
	}

	replay := httptest.NewServer(practice.New(practice.Options{ReplayDir: dir, ReplaySpeed: 1000}))
	defer replay.Close()
	got := replayEvents(t, replay.URL+"/v1", "web")
	if want := bytes.Split(real, []byte("\n")); !reflect.DeepEqual(got, want) {
		t.Errorf("replay sent %d events that differ from the capture's %d", len(got), len(want))
	}
	direct := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, line := range bytes.Split(real, []byte("\n")) {
			w.Write(append(append([]byte("data: "), line...), "\n\n"...))
		}
	}))
	defer direct.Close()
	text, sources, usage := libraryReads(t, replay.URL+"/v1", "replay/web")
	wantText, wantSources, wantUsage := libraryReads(t, direct.URL+"/v1", "fast")
	if text != wantText || !reflect.DeepEqual(sources, wantSources) || *usage != *wantUsage || len(sources) != 10 {
		t.Errorf("replay read as %q, %d sources, %+v; the file as %q, %d sources, %+v", text, len(sources), usage, wantText, len(wantSources), wantUsage)
	}
}

// TestRecordHidesTheKey records a stream whose text echoes the key, whole
// and in part: the recording holds neither.
func TestRecordHidesTheKey(t *testing.T) {
	const key = "pplx-RECORDKEY-0123456789abcdefghij"
	real, _ := fs.ReadFile(capture.Perplexity, capture.RealStream+capture.Ext)
	echo := bytes.Replace(real, []byte(`"delta":"`), []byte(`"delta":"key `+key+`, piece `+key[10:22]+`. `), 1)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, line := range bytes.Split(echo, []byte("\n")) {
			w.Write(append(append([]byte("data: "), line...), "\n\n"...))
		}
	}))
	defer server.Close()
	out := filepath.Join(t.TempDir(), "echo.jsonl")
	cmd := exec.Command(binary, "record", "--provider", "perplexity", "--base-url", server.URL+"/v1", "--out", out, "Say my key")
	cmd.Env = append(os.Environ(), "PERPLEXITY_API_KEY="+key, "STREAMDEMO_PROVIDER=", "STREAMDEMO_BASE_URL=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("record: %v\n%s", err, b)
	}
	recorded, _ := os.ReadFile(out)
	if !bytes.Contains(recorded, []byte("key [redacted], piece [redacted].")) {
		t.Fatalf("the recording does not show the hidden key where it was:\n%.300s", recorded)
	}
	for i := 0; i+8 <= len(key); i++ {
		if bytes.Contains(recorded, []byte(key[i:i+8])) {
			t.Fatalf("the recording holds the key's characters %d to %d", i, i+8)
		}
	}
}

// TestServeTakesItsTokenOutOfSight starts `serve` with the token in a file
// and in the environment: the token is required and is not in the process's
// command line for others to see. --token still works, with a warning.
func TestServeTakesItsTokenOutOfSight(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte("hidden-token-abcdef\n"), 0o600)
	for _, tc := range []struct {
		args   []string
		env    string
		hidden bool
	}{
		{[]string{"--token-file", file}, "", true},
		{nil, tokenEnv + "=hidden-token-abcdef", true},
		{[]string{"--token", "hidden-token-abcdef"}, "", false},
	} {
		addr, cmd, stderr := startServe(t, []string{tc.env}, append([]string{"--first-token", "0", "--tps", "0"}, tc.args...)...)
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cmdline")
		if shown := bytes.Contains(cmdline, []byte("hidden-token")); shown == tc.hidden {
			t.Errorf("%v: token in the process list: %v", tc.args, shown)
		}
		for token, want := range map[string]int{"wrong": 401, "hidden-token-abcdef": 200} {
			req, _ := http.NewRequest("POST", "http://"+addr+"/v1/agent", strings.NewReader(`{"preset":"fast","input":"hi"}`))
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("%v: token %q got %d, want %d", tc.args, token, resp.StatusCode, want)
			}
		}
		if warned := strings.Contains(stderr.String(), "warning: --token shows the token"); warned == tc.hidden {
			t.Errorf("%v: warning shown %v: %s", tc.args, warned, stderr.String())
		}
	}
}

func TestTokenComesFromFlagFileOrEnvironment(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte("  from-file\n"), 0o600)
	t.Setenv(tokenEnv, "from-env")
	for _, tc := range []struct{ flag, file, want string }{
		{"from-flag", "", "from-flag"}, {"", file, "from-file"}, {"", "", "from-env"},
	} {
		if got, err := readToken(tc.flag, tc.file); err != nil || got != tc.want {
			t.Errorf("readToken(%q, %q) = %q, %v; want %q", tc.flag, tc.file, got, err, tc.want)
		}
	}
	if _, err := readToken("", filepath.Join(t.TempDir(), "missing")); err == nil || !strings.HasSuffix(sentence(err), "--token-file.") {
		t.Errorf("a missing file should say so in one sentence: %v", err)
	}
}

// TestAskShowsTheSameSourcesAndCostStreamedOrWhole: `ask --whole` prints
// the same answer, sources, tokens and cost as streaming. The real capture's
// stream and whole answer were two requests (their text and cost differ
// slightly): there the sources must agree.
func TestAskShowsTheSameSourcesAndCostStreamedOrWhole(t *testing.T) {
	ts := httptest.NewServer(practice.New(practice.Options{}))
	defer ts.Close()
	for _, model := range []string{"sonar-pro", "sonar", "replay/" + capture.RealStream} {
		var outs []string
		for _, whole := range []bool{false, true} {
			args := []string{"ask", "--provider", "perplexity", "--base-url", ts.URL + "/v1", "--model", model}
			if whole {
				args = append(args, "--whole")
			}
			stdout, stderr, code := run(t, append(args, "How many stars are in the universe?")...)
			summary := stderr[strings.LastIndex(strings.TrimRight(stderr, "\n"), "\n")+1:]
			sources := strings.TrimSuffix(stderr, summary)
			tokens := summary[strings.Index(summary, " tokens ("):]
			if code != 0 || !strings.Contains(sources, "Sources:\n  [1] ") || !strings.Contains(tokens, "cost 0.0") {
				t.Fatalf("%s whole=%v: exit %d\n%s", model, whole, code, stderr)
			}
			if strings.HasPrefix(model, "replay/") {
				stdout, tokens = "", ""
			}
			outs = append(outs, stdout+sources+tokens)
		}
		if outs[0] != outs[1] {
			t.Errorf("%s: streamed and whole differ:\n%s\n----\n%s", model, outs[0], outs[1])
		}
	}
}
