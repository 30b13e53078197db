package main

import (
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"time"
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
	return lingering{ln}, nil
}

// lingerFor bounds how long a connection closed by the server waits for the
// client to finish writing and close its end.
const lingerFor = time.Second

// lingering is a Unix socket listener whose connections close the way RFC
// 9112 (9.6) asks of a server: its end first, then what the client still
// sends is read until the client closes too (a second at most). A write to a
// Unix socket whose peer has closed fails at once, unlike one over TCP, and
// configurable-http-proxy, which asks to close the connection after each
// request it sends to a socket, writes once more after the request: that
// write failing made it answer 503 in place of the server's answer.
type lingering struct{ net.Listener }

func (l lingering) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if uc, ok := c.(*net.UnixConn); ok {
		return lingeringConn{uc}, nil
	}
	return c, err
}

type lingeringConn struct{ *net.UnixConn }

func (c lingeringConn) Close() error {
	if c.CloseWrite() == nil && c.SetReadDeadline(time.Now().Add(lingerFor)) == nil {
		io.Copy(io.Discard, c.UnixConn)
	}
	return c.UnixConn.Close()
}

// where is how a listener's address reads in a start-up line:
// http://HOST:PORT, or unix:PATH.
func where(ln net.Listener) string {
	if ln.Addr().Network() == "unix" {
		return unixPrefix + ln.Addr().String()
	}
	return "http://" + ln.Addr().String()
}
