package gateway

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/pgtest"
	"github.com/streamdemo/streamdemo/internal/practice"
)

// classHosts is a class spread over machines, in network namespaces made
// for one test: a bridge on this machine at subnet.1 where PostgreSQL and
// the upstream listen, and one namespace per replica at subnet.11, .12, ...
// joined by veth pairs. Everything it makes is removed when the test ends,
// and by a janitor shell if the test binary itself dies.
type classHosts struct {
	subnet   string // e.g. 198.18.4
	tag      string // prefix of every name it makes: rep-XXXX
	pgDir    string
	pgPort   int
	password string
	janitor  io.WriteCloser
	done     chan struct{}
}

// run runs a command that must succeed.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newClassHosts makes the bridge, n namespaces and a PostgreSQL cluster
// listening on the bridge's address only, at port.
func newClassHosts(t *testing.T, subnet string, n, port int) *classHosts {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("the tests across hosts make network namespaces and need root (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("the tests across hosts need ip (Debian: apt-get install -y iproute2)")
	}
	b := make([]byte, 2)
	rand.Read(b)
	h := &classHosts{subnet: subnet, tag: "rep-" + hex.EncodeToString(b), pgPort: port, done: make(chan struct{})}
	h.startJanitor(t)
	if strings.Contains(run(t, "ip", "-o", "addr", "show"), " "+subnet+".1/") {
		t.Fatalf("%s.1 is already on an interface of this machine (a test left it?): remove it and run again", subnet)
	}
	br := h.tag + "b"
	run(t, "ip", "link", "add", br, "type", "bridge")
	run(t, "ip", "addr", "add", subnet+".1/24", "dev", br)
	run(t, "ip", "link", "set", br, "up")
	for i := 1; i <= n; i++ {
		ns, host, peer := h.namespace(i), fmt.Sprintf("%sh%d", h.tag, i), fmt.Sprintf("%sn%d", h.tag, i)
		run(t, "ip", "netns", "add", ns)
		run(t, "ip", "link", "add", host, "type", "veth", "peer", "name", peer)
		run(t, "ip", "link", "set", host, "master", br, "up")
		run(t, "ip", "link", "set", peer, "netns", ns)
		run(t, "ip", "-n", ns, "addr", "add", h.address(i)+"/24", "dev", peer)
		run(t, "ip", "-n", ns, "link", "set", peer, "up")
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	h.startCluster(t)
	return h
}

func (h *classHosts) namespace(i int) string { return fmt.Sprintf("%s-g%d", h.tag, i) }
func (h *classHosts) address(i int) string   { return fmt.Sprintf("%s.%d", h.subnet, 10+i) }

// startJanitor starts the shell that removes what the test made as soon as
// the test binary's end of its pipe closes: at cleanup, or when it dies.
func (h *classHosts) startJanitor(t *testing.T) {
	dir, err := os.MkdirTemp("", "streamdemo-hosts-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chown(dir, 65534, 65534)
	h.pgDir = dir
	pgCtl, err := pgtest.Bin("pg_ctl")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", `read _
		for ns in $(ip netns list | awk '{print $1}' | grep "^$0-"); do
			ip netns pids "$ns" | xargs -r kill -9; ip netns del "$ns"
		done
		for link in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^$0"); do
			ip link del "$link" 2>/dev/null
		done
		[ -f "$1/data/postmaster.pid" ] && su -s /bin/sh nobody -c "'$2' -D '$1/data' stop -m immediate" >/dev/null 2>&1
		rm -rf "$1"`, h.tag, dir, pgCtl)
	h.janitor, _ = cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(h.done) }()
	t.Cleanup(func() {
		h.janitor.Close()
		select {
		case <-h.done:
		case <-time.After(30 * time.Second):
			t.Errorf("the cleanup of %s did not finish in 30 s", h.tag)
		}
		for _, list := range [][]string{{"netns", "list"}, {"-o", "link", "show"}} {
			if out, _ := exec.Command("ip", list...).Output(); strings.Contains(string(out), h.tag) {
				t.Errorf("%s of %s are left: %s", list[len(list)-2], h.tag, out)
			}
		}
	})
}

// pgCtl runs pg_ctl on the cluster as the server's account.
func (h *classHosts) pgCtl(t testing.TB, args ...string) {
	t.Helper()
	bin, err := pgtest.Bin("pg_ctl")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"-D", filepath.Join(h.pgDir, "data"), "-l", filepath.Join(h.pgDir, "log"), "-w", "-t", "30"}, args...)...)
	pgtest.AsServerAccount(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(h.pgDir, "log"))
		t.Fatalf("pg_ctl %s: %v\n%s\n%s", strings.Join(args, " "), err, out, log)
	}
}

// startCluster makes a cluster whose only TCP address is the bridge's,
// with a password for the class's database user (never on a command line).
func (h *classHosts) startCluster(t *testing.T) {
	initdb, err := pgtest.Bin("initdb")
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 16)
	rand.Read(b)
	h.password = hex.EncodeToString(b)
	pwfile := filepath.Join(h.pgDir, "pw")
	os.WriteFile(pwfile, []byte(h.password+"\n"), 0o600)
	os.Chown(pwfile, 65534, 65534)
	data := filepath.Join(h.pgDir, "data")
	cmd := exec.Command(initdb, "-D", data, "-U", "class", "--pwfile", pwfile, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync")
	pgtest.AsServerAccount(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v: %s", err, out)
	}
	os.Remove(pwfile)
	hba, _ := os.OpenFile(filepath.Join(data, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(hba, "host all class %s.0/24 scram-sha-256\n", h.subnet)
	hba.Close()
	h.startPostgres(t)
}

// startPostgres starts the cluster (again).
func (h *classHosts) startPostgres(t testing.TB) {
	h.pgCtl(t, "start", "-o", fmt.Sprintf("-c listen_addresses=%s.1 -p %d -k %s -c fsync=off -c max_connections=200", h.subnet, h.pgPort, h.pgDir))
}

// databaseURL is the class's database, with its password: passed in the
// environment only.
func (h *classHosts) databaseURL() string {
	return fmt.Sprintf("postgres://class:%s@%s.1:%d/postgres?connect_timeout=3", h.password, h.subnet, h.pgPort)
}

// startUpstream serves the practice server on the bridge's address.
func (h *classHosts) startUpstream(t *testing.T, opts practice.Options) string {
	ln, err := net.Listen("tcp", h.subnet+".1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(practice.New(opts))
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	t.Cleanup(ts.Close)
	return ts.URL + "/v1"
}

// hostReplica is one "streamdemo gateway serve" in its own namespace.
type hostReplica struct {
	cmd *exec.Cmd
	URL string
	log *lockedBuffer
}

// serveInNamespace starts replica i of the class in its namespace.
func (h *classHosts) serveInNamespace(t *testing.T, bin, upstream string, i int) *hostReplica {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", h.namespace(i), bin, "gateway", "serve", "--upstream", upstream,
		"--addr", h.address(i)+":18220")
	cmd.Env = append(os.Environ(), KeyEnv+"="+testKey, "STREAMDEMO_GATEWAY_DATABASE="+h.databaseURL())
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	r := &hostReplica{cmd: cmd, log: &lockedBuffer{b: &bytes.Buffer{}}}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		r.log.Write([]byte(sc.Text() + "\n"))
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			r.URL = m[1]
			go func() {
				for sc.Scan() {
					r.log.Write([]byte(sc.Text() + "\n"))
				}
			}()
			return r
		}
	}
	t.Fatalf("replica %d never said where it listens:\n%s", i, r.log.String())
	return nil
}

// balancer is the round-robin in front of the replicas, as a class's load
// balancer: it skips a replica marked down (as its health check would) and
// names the replica that answered in X-Replica.
type balancer struct {
	URL     string
	proxies []*httputil.ReverseProxy
	down    []atomic.Bool
	next    atomic.Int64
}

func newBalancer(t *testing.T, replicas []*hostReplica) *balancer {
	b := &balancer{down: make([]atomic.Bool, len(replicas))}
	for i, r := range replicas {
		u, _ := url.Parse(r.URL)
		p := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
		p.FlushInterval = -1
		p.ErrorLog = log.New(io.Discard, "", 0) // a killed replica's cut stream is expected
		p.ModifyResponse = func(resp *http.Response) error {
			resp.Header.Set("X-Replica", fmt.Sprint(i))
			return nil
		}
		b.proxies = append(b.proxies, p)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range b.proxies {
			i := int(b.next.Add(1)-1) % len(b.proxies)
			if !b.down[i].Load() {
				b.proxies[i].ServeHTTP(w, r)
				return
			}
		}
		http.Error(w, "no replica is up", http.StatusBadGateway)
	}))
	t.Cleanup(ts.Close)
	b.URL = ts.URL + "/"
	return b
}
