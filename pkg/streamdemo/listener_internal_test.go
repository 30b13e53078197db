package streamdemo

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// The listeners that could take a connection to an address, read from
// tables as Linux writes them (testdata, from a little-endian machine): the
// address itself or any address, IPv4 or IPv6, never another address or a
// connection that is not listening.
func TestListenerUIDsFindsWhoListensWhereAConnectionArrives(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		table, hostport string
		want            []int
	}{
		{"testdata/proc-net-tcp", "127.0.0.1:11434", []int{1001}}, // not 127.0.0.2's, not the open connection's
		{"testdata/proc-net-tcp", "127.0.0.1:8787", []int{0}},     // 0.0.0.0
		{"testdata/proc-net-tcp", "127.0.0.1:9999", nil},
		{"testdata/proc-net-tcp6", "127.0.0.1:11434", []int{1004}}, // [::], not [::1]
		{"testdata/proc-net-tcp6", "127.0.0.1:8787", []int{1005}},  // [::ffff:127.0.0.1]
	} {
		f, err := os.Open(tc.table)
		if err != nil {
			t.Fatal(err)
		}
		got, err := listenerUIDs(f, tc.hostport)
		f.Close()
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s, %s: got %v, %v; want %v", tc.table, tc.hostport, got, err, tc.want)
		}
	}
}

// A real listener of this account is named by the kernel's own table, and
// the rule asks it.
func TestProcOwnersNamesThisAccountsListener(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got, err := procOwners(ln.Addr().String()); err != nil || !slices.Equal(got, []int{os.Getuid()}) {
		t.Errorf("procOwners(%s) = %v, %v; want [%d]", ln.Addr(), got, err, os.Getuid())
	}
	if answers, stranger := (localProbe{}).check("http://" + ln.Addr().String() + "/v1"); !answers || stranger != "" {
		t.Errorf("this account's server: answers %v, stranger %q", answers, stranger)
	}
}

// A real server of another account (nobody, uid 65534) answers, and the
// rule says whose it is instead of asking it. It needs root, to run it.
func TestTheRulePassesOverAnotherAccountsRealServer(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("this test runs a server as another account: run it as root")
		}
		t.Skip("needs root to run a server as another account")
	}
	// This test binary, where nobody may run it, as the server.
	dir, err := os.MkdirTemp("", "streamdemo-owner-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "server")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestHelperServer$")
	cmd.Env = []string{"STREAMDEMO_HELPER_SERVER=1"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("the server as nobody did not start: %v", err)
	}
	base := "http://" + strings.TrimSpace(addr) + "/v1"
	if answers, stranger := (localProbe{}).check(base); !answers || stranger != "uid 65534" {
		t.Errorf("nobody's server at %s: answers %v, stranger %q; want uid 65534", base, answers, stranger)
	}
}

// TestHelperServer is the other account's server of the test above: it
// listens on loopback, prints its address and waits until stdin closes.
func TestHelperServer(t *testing.T) {
	if os.Getenv("STREAMDEMO_HELPER_SERVER") != "1" {
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}
