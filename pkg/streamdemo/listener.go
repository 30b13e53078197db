package streamdemo

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// localProbe is how the rule learns about a server on this machine; tests
// give their own.
type localProbe struct {
	// listening reports whether something accepts connections at a base
	// URL's host; nil tries a TCP connection for 300 ms.
	listening func(baseURL string) bool
	// owners returns the uids of the sockets that listen at host:port;
	// nil reads /proc/net/tcp and /proc/net/tcp6.
	owners func(hostport string) ([]int, error)
}

// check reports whether a server answers at baseURL and, if it is another
// account's, whose: "uid N" ("" for this account's, root's or a system
// account's). Where the system does not say who listens (no /proc/net/tcp),
// a server that answers is trusted.
func (p localProbe) check(baseURL string) (answers bool, stranger string) {
	listening, owners := p.listening, p.owners
	if listening == nil {
		listening = dialable
	}
	if owners == nil {
		owners = procOwners
	}
	if !listening(baseURL) {
		return false, ""
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return false, ""
	}
	uids, err := owners(u.Host)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return true, ""
	case err != nil || len(uids) == 0:
		return true, "an account the system does not name"
	}
	for _, uid := range uids {
		if !trustedUID(uid) {
			return true, "uid " + strconv.Itoa(uid)
		}
	}
	return true, ""
}

// dialable reports whether something accepts connections at baseURL's host.
func dialable(baseURL string) bool {
	u, err := url.Parse(baseURL)
	if err != nil {
		return false
	}
	conn, err := net.DialTimeout("tcp", u.Host, 300*time.Millisecond)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// trustedUID reports whether a server run by uid may be asked unnamed: this
// account's, root's, or a system account's (below UID_MIN, which only the
// administrator creates, as Ollama's installer does for its service).
func trustedUID(uid int) bool {
	return uid == os.Getuid() || uid == 0 || uid < firstUserUID()
}

// firstUserUID is UID_MIN of /etc/login.defs, the first uid of a person's
// account; 1000 where the file does not say.
func firstUserUID() int {
	f, err := os.Open("/etc/login.defs")
	if err != nil {
		return 1000
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && fields[0] == "UID_MIN" {
			if n, err := strconv.Atoi(fields[1]); err == nil && n > 0 {
				return n
			}
		}
	}
	return 1000
}

// procOwners returns the uids of the sockets listening where a connection
// to hostport could arrive: hostport itself, or every address at its port.
func procOwners(hostport string) ([]int, error) {
	var uids []int
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) && name == "/proc/net/tcp6" {
			continue // a kernel without IPv6
		}
		if err != nil {
			return nil, err
		}
		found, err := listenerUIDs(f, hostport)
		f.Close()
		if err != nil {
			return nil, err
		}
		uids = append(uids, found...)
	}
	return uids, nil
}

// listenerUIDs reads a table in the format of /proc/net/tcp and returns the
// uids of its listening sockets that could take a connection to hostport.
func listenerUIDs(table io.Reader, hostport string) ([]int, error) {
	target, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return nil, err
	}
	var uids []int
	sc := bufio.NewScanner(table)
	sc.Scan() // the header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[3] != "0A" { // 0A: LISTEN
			continue
		}
		local, err := parseProcAddr(f[1])
		if err != nil {
			return nil, err
		}
		if local.Port() != target.Port() || !reaches(local.Addr(), target.Addr()) {
			continue
		}
		uid, err := strconv.Atoi(f[7])
		if err != nil {
			return nil, err
		}
		uids = append(uids, uid)
	}
	return uids, sc.Err()
}

// reaches reports whether a socket bound to addr can take a connection to
// target: the same address, or any address (IPv4's or IPv6's, which may take
// IPv4 too).
func reaches(addr, target netip.Addr) bool {
	addr = addr.Unmap()
	return addr == target.Unmap() || addr.IsUnspecified()
}

// parseProcAddr reads an address of /proc/net/tcp, e.g. "0100007F:2CAA":
// the address in hex as the kernel keeps it, 32 bits at a time in the
// machine's byte order, then the port in hex.
func parseProcAddr(s string) (netip.AddrPort, error) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	raw, err := hex.DecodeString(hexAddr)
	if !ok || err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, errors.New("not an address of /proc/net/tcp: " + s)
	}
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return netip.AddrPort{}, errors.New("not a port of /proc/net/tcp: " + s)
	}
	for i := 0; i < len(raw); i += 4 { // each word as the machine stores it
		binary.NativeEndian.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
