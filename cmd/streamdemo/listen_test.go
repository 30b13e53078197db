package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/gateway"
)

// overSocket is an HTTP client that reaches every URL through the Unix socket at path.
func overSocket(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
}

// streamdemo serve --addr unix:PATH listens on a socket only its account may
// open, says so, replaces the socket a killed earlier run left, and refuses
// anything else at PATH in one sentence, leaving it as it was.
func TestServeListensOnASocketOnlyItsAccountOpens(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "practice.sock")
	for run := range 2 {
		addr, cmd, _ := startServe(t, nil, "--addr", "unix:"+sock)
		if addr != "unix:"+sock {
			t.Fatalf("run %d: serve said it listens on %q", run, addr)
		}
		if info, err := os.Stat(sock); err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("run %d: the socket: %v, %v; want mode 0600", run, info, err)
		}
		resp, err := overSocket(sock).Get("http://practice/v1/models")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("run %d: GET /v1/models through the socket: %v %v", run, resp, err)
		}
		resp.Body.Close()
		cmd.Process.Kill() // the socket stays behind for the next run
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			c, err := net.Dial("unix", sock)
			if err != nil {
				break
			}
			c.Close()
			if time.Now().After(deadline) {
				t.Fatalf("run %d: the killed server still answers on its socket", run)
			}
		}
	}

	plain := filepath.Join(t.TempDir(), "not-a-socket")
	os.WriteFile(plain, []byte("notes"), 0o644)
	_, stderr, code := run(t, "serve", "--addr", "unix:"+plain)
	if code != 1 || !strings.Contains(stderr, "is there and is not a socket") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("a file at the socket's path: exit %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile(plain); string(b) != "notes" {
		t.Errorf("the file at the socket's path became %q", b)
	}
}

// startGatewayOn runs `gateway serve` with args and env and returns its
// first line, which says where it listens; the process ends with the test.
func startGatewayOn(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, binary, append([]string{"gateway", "serve"}, args...)...)
	cmd.Env = append(append(cleanEnv(), gateway.KeyEnv+"="+testKey), env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	said, _ := bufio.NewReader(stderr).ReadString('\n')
	go io.Copy(io.Discard, stderr)
	return said
}

// The class's gateway listens on a socket of its own (--addr unix:PATH, or
// JUPYTERHUB_SERVICE_URL in JupyterHub's http+unix form as the hub starts
// it) and asks a practice server on a socket of its own (--upstream-socket),
// never the host the upstream URL names.
func TestTheGatewayServesAndAsksThroughSockets(t *testing.T) {
	dir := t.TempDir()
	practiceSock, gatewaySock, hubSock := filepath.Join(dir, "p.sock"), filepath.Join(dir, "g.sock"), filepath.Join(dir, "h.sock")
	startServe(t, []string{tokenEnv + "=" + testKey}, "--addr", "unix:"+practiceSock, "--first-token", "0", "--tps", "0")
	data := t.TempDir()
	out, _, code := run(t, "gateway", "token", "add", "ana", "--data", data)
	if code != 0 {
		t.Fatalf("token add: exit %d", code)
	}
	out = strings.TrimSpace(out)
	token := out[strings.LastIndex(out, "\n")+1:]

	said := startGatewayOn(t, []string{"JUPYTERHUB_SERVICE_URL="}, "--addr", "unix:"+gatewaySock, "--data", data,
		"--upstream", "http://practice.invalid/v1", "--upstream-socket", practiceSock)
	if !strings.Contains(said, "class gateway on unix:"+gatewaySock+"/ ") || !strings.Contains(said, "through unix:"+practiceSock) {
		t.Fatalf("the gateway said: %q", said)
	}
	req, _ := http.NewRequest("POST", "http://gateway.invalid/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := overSocket(gatewaySock).Do(req)
	if err != nil {
		t.Fatalf("nothing answers on the gateway's socket: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "data: [DONE]") {
		t.Errorf("a question through both sockets: HTTP %d %.300s", resp.StatusCode, body)
	}

	// As a hub service: no hub answers here, so what matters is who answers, and where.
	said = startGatewayOn(t, []string{"JUPYTERHUB_SERVICE_URL=http+unix://" + strings.ReplaceAll(hubSock, "/", "%2F"),
		"JUPYTERHUB_API_URL=http://127.0.0.1:9/hub/api"}, "--data", t.TempDir(), "--upstream", "http://practice.invalid/v1")
	if !strings.Contains(said, "class gateway on unix:"+hubSock+"/services/llm/ ") {
		t.Fatalf("the hub's service said: %q", said)
	}
	resp, err = overSocket(hubSock).Get("http://hub.invalid/services/llm/v1/models")
	if err != nil {
		t.Fatalf("nothing answers on the hub service's socket: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET v1/models without a token on the hub service's socket: HTTP %d, want 401", resp.StatusCode)
	}
}

// configurable-http-proxy sends each request to a Unix socket with
// "Connection: close", writes its body after its headers and writes once
// more after the request; a Unix socket the server has closed fails such a
// write at once, and the proxy then answers 503 in place of the server's
// answer. The gateway's refusal, decided before the body arrives, leaves the
// connection open until the client is done.
func TestARefusalOnASocketLetsTheClientFinishWriting(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "g.sock")
	startGatewayOn(t, []string{"JUPYTERHUB_SERVICE_URL="}, "--addr", "unix:"+sock, "--data", t.TempDir(),
		"--upstream", "http://practice.invalid/v1")
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"model":"sonar-pro","messages":[]}`
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer not-a-token\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", len(body))
	time.Sleep(300 * time.Millisecond) // the proxy is still reading its client's body
	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatalf("the body could not follow its headers: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer after the body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a request with a bad token: HTTP %d, want 401", resp.StatusCode)
	}
	if _, err := io.WriteString(conn, "\r\n"); err != nil {
		t.Errorf("a write after the answer failed: %v", err)
	}
}
