package main

import (
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
)

// unixPrefix marks an address that is a Unix socket's path (--addr
// unix:PATH). A class's services listen that way in a folder only their
// account may enter: no other account can take the name first, as any
// account can take a free loopback port.
const unixPrefix = "unix:"

// listen listens on addr: host:port over TCP, or unix:PATH on a Unix socket
// only this account (and root) may connect to. A socket an earlier run left
// at PATH is replaced; anything else there is refused.
func listen(addr string) (net.Listener, error) {
	path, ok := strings.CutPrefix(addr, unixPrefix)
	if !ok {
		return net.Listen("tcp", addr)
	}
	if info, err := os.Lstat(path); err == nil {
		if info.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("%s is there and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	// Connecting needs write permission: with the usual umask nobody else
	// could from the start; whatever the umask, nobody else can from here.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// where is how a listener's address reads in a start-up line:
// http://HOST:PORT, or unix:PATH.
func where(ln net.Listener) string {
	if ln.Addr().Network() == "unix" {
		return unixPrefix + ln.Addr().String()
	}
	return "http://" + ln.Addr().String()
}

// drained serves with h, then reads what is left of the request body (up to
// the 256 KB Go's server reads itself before it reuses a connection) before
// the response goes out. configurable-http-proxy asks to close the
// connection after each request it sends to a Unix socket, and may still be
// writing the body of a request h refused without reading it: a socket closed
// under it makes the proxy answer 503 in place of the refusal.
func drained(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		io.CopyN(io.Discard, r.Body, 256<<10)
	})
}
