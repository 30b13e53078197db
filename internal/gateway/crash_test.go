package gateway

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/practice"
)

// buildStreamdemo builds this checkout's command for the test.
func buildStreamdemo(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "streamdemo")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/streamdemo").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cli runs a gateway command and returns its output's last line.
func cli(t testing.TB, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("streamdemo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

var listening = regexp.MustCompile(`class gateway on (http://\S+/) `)

// serveGateway starts "streamdemo gateway serve" and returns its URL.
func serveGateway(t testing.TB, bin, upstream, data string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	args := []string{"gateway", "serve", "--upstream", upstream, ledgerArg(data), data}
	if len(env) == 0 {
		args = append(args, "--addr", "127.0.0.1:0")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), KeyEnv+"="+testKey), env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, stderr)
			return cmd, m[1]
		}
	}
	t.Fatal("the gateway never said where it listens")
	return nil, ""
}

func TestKillDashNineMidStreamKeepsEveryCommittedRecord(t *testing.T) {
	bin := buildStreamdemo(t)
	_, upstream := startPractice(t, practice.Options{TokensPerSecond: 50})
	data := t.TempDir()
	if onPostgres(t) {
		data = pgDatabase(t)
	}
	ana := cli(t, bin, "gateway", "token", "add", "ana", ledgerArg(data), data, "--tokens-per-day", "100000")
	teacher := cli(t, bin, "gateway", "token", "add", "--teacher", "tina", ledgerArg(data), data)
	if !strings.HasPrefix(ana, ledger.TokenPrefix) || !strings.HasPrefix(teacher, ledger.TokenPrefix) {
		t.Fatalf("token add's last line is not a token: %q", ana)
	}
	cmd, url := serveGateway(t, bin, upstream, data)
	var want ledger.Totals
	for range 3 {
		a := do(t, "POST", url+"v1/agent", ana, agentBody(""))
		for _, p := range events(a.Body) {
			if ev := decodeEvent(t, p); ev.Response != nil && ev.Response.Usage != nil {
				want.Requests++
				want.InputTokens += ev.Response.Usage.InputTokens
				want.OutputTokens += ev.Response.Usage.OutputTokens
				want.USD += ev.Response.Usage.Cost.TotalCost
			}
		}
	}
	cli(t, bin, "gateway", "limits", "ana", "--rpm", "100", ledgerArg(data), data) // while it runs
	// A fourth answer is streaming when the gateway is killed.
	req, _ := http.NewRequest("POST", url+"v1/agent", strings.NewReader(agentBody("")))
	req.Header.Set("Authorization", "Bearer "+ana)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	for deltas := 0; deltas < 5 && sc.Scan(); {
		if strings.Contains(sc.Text(), "output_text.delta") {
			deltas++
		}
	}
	cmd.Process.Signal(os.Kill)
	cmd.Wait()
	resp.Body.Close()

	_, url = serveGateway(t, bin, upstream, data)
	a := do(t, "GET", url+"usage", teacher, "")
	var rep ledger.Report
	if err := json.Unmarshal([]byte(a.Body), &rep); err != nil {
		t.Fatalf("usage after restart: HTTP %d %s", a.Status, a.Body)
	}
	var got ledger.StudentUsage
	for _, s := range rep.Students {
		if s.Name == "ana" {
			got = s
		}
	}
	// The three finished answers are there exactly; the killed one is charged its reservation.
	if got.Requests != 4 || got.Estimated != 1 || rep.Totals.Requests != 4 || got.Limits.RequestsPerMinute != 100 {
		t.Errorf("after kill -9 and restart: %+v, totals %+v", got, rep.Totals)
	}
	db := rawDB(t, data)
	var done ledger.Totals
	db.QueryRow(`SELECT COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cost_usd) FROM requests WHERE state = 'done'`).Scan(
		&done.Requests, &done.InputTokens, &done.OutputTokens, &done.USD)
	if fmt.Sprintf("%+v", done) != fmt.Sprintf("%+v", want) {
		t.Errorf("finished answers in the ledger %+v, want what the upstream reported %+v", done, want)
	}
	var interrupted int
	db.QueryRow(`SELECT COUNT(*) FROM requests WHERE state = 'interrupted' AND output_tokens = reserved_tokens`).Scan(&interrupted)
	if interrupted != 1 {
		t.Errorf("%d answers marked interrupted and charged their reservation, want 1", interrupted)
	}
	if !strings.Contains(cli(t, bin, "gateway", "usage", ledgerArg(data), data), "class: 4 answers") {
		t.Errorf("gateway usage does not show the 4 answers")
	}
}

func TestAsAHubServiceItTakesItsSettingsFromTheEnvironment(t *testing.T) {
	bin := buildStreamdemo(t)
	_, upstream := startPractice(t, fast)
	hub := startHub(t)
	hub.give("tok-a", hubUser{Kind: "user", Name: "ana", Scopes: []string{access}})
	// Port 0 in JUPYTERHUB_SERVICE_URL: the gateway binds a free port and
	// says which, never its own default 8790.
	_, url := serveGateway(t, bin, upstream, t.TempDir(),
		"JUPYTERHUB_SERVICE_URL=http://127.0.0.1:0", "JUPYTERHUB_SERVICE_NAME=llm", "JUPYTERHUB_SERVICE_PREFIX=/services/llm/",
		"JUPYTERHUB_API_URL="+hub.URL+"/hub/api", "JUPYTERHUB_API_TOKEN="+serviceSecret, "JUPYTERHUB_CLIENT_ID="+clientID)
	if m := regexp.MustCompile(`^http://127\.0\.0\.1:(\d+)/services/llm/$`).FindStringSubmatch(url); m == nil || m[1] == "0" || m[1] == "8790" {
		t.Fatalf("serves at %s, want JUPYTERHUB_SERVICE_URL's address (a free port) under the prefix", url)
	}
	if a := do(t, "POST", url+"v1/agent", "tok-a", agentBody("")); a.Status != 200 || !strings.Contains(a.Body, "response.completed") {
		t.Errorf("a student with a hub token: HTTP %d %.200s", a.Status, a.Body)
	}
	if a := do(t, "POST", url+"v1/agent", "tok-other", agentBody("")); a.Status != 401 {
		t.Errorf("an unknown token: HTTP %d", a.Status)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 302 || !strings.HasPrefix(loc, "/hub/api/oauth2/authorize?client_id="+clientID) {
		t.Errorf("the teacher's page sends a browser to %d %q, want the hub's OAuth", resp.StatusCode, loc)
	}
}
