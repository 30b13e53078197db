package main

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// listening is the line `streamdemo serve` prints once it has bound its port
// (HOST:PORT, or unix:PATH for a socket).
var listening = regexp.MustCompile(`practice server on (?:http://)?(\S+)/v1 `)

// serveLog is a practice server's stderr, kept whole; addr receives the
// address from its first line that says where it listens.
type serveLog struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
	said bool
}

func (l *serveLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if m := listening.FindSubmatch(l.buf.Bytes()); m != nil && !l.said {
		l.said = true
		l.addr <- string(m[1])
	}
	return len(p), nil
}

func (l *serveLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// startServe runs `streamdemo serve --addr 127.0.0.1:0 ARGS` with env added
// to this process's environment, and returns the address the server says it
// bound, the process and its stderr. It fails the test if the server exits
// or says nothing within 10 s; the process ends with the test.
func startServe(t *testing.T, env []string, args ...string) (string, *exec.Cmd, *serveLog) {
	t.Helper()
	log := &serveLog{addr: make(chan string, 1)}
	cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	select {
	case addr := <-log.addr:
		return addr, cmd, log
	case <-exited:
		t.Fatalf("streamdemo serve %v ended before listening (%v): %s", args, waitErr, log)
	case <-time.After(10 * time.Second):
		t.Fatalf("streamdemo serve %v said nothing of where it listens within 10 s: %s", args, log)
	}
	return "", nil, nil
}

func TestServeSaysTheAddressItBound(t *testing.T) {
	addr, _, _ := startServe(t, nil, "--first-token", "0", "--tps", "0")
	if _, port, _ := net.SplitHostPort(addr); port == "0" || port == "" {
		t.Fatalf("serve reported %q, not the port it bound", addr)
	}
	resp, err := http.Get("http://" + addr + "/v1/models")
	if err != nil {
		t.Fatalf("nothing answers at %s, the address serve reported: %v", addr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /v1/models at the reported address: HTTP %d", resp.StatusCode)
	}
}

func TestServeOnATakenPortSaysSo(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, stderr, code := run(t, "serve", "--addr", taken.Addr().String())
	if code != 1 || !strings.Contains(stderr, "cannot listen on "+taken.Addr().String()) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
