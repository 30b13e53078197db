package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/practice"
)

// beforeCommit is the gateway the figures are compared with: the ledger
// inside the gateway, five statements before each reservation, every event
// of an answer decoded.
const beforeCommit = "dbe4724"

// buildBefore builds the command at beforeCommit, from the repository's
// history, into build/gateway-bench/ (once: the binary is kept there for
// the next comparison).
func buildBefore(b *testing.B) string {
	b.Helper()
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		b.Fatalf("the comparison builds %s from the repository's history, and this is not a git checkout: %v", beforeCommit, err)
	}
	root := strings.TrimSpace(string(top))
	dir := filepath.Join(root, "build", "gateway-bench", "before-"+beforeCommit)
	bin := filepath.Join(dir, "streamdemo")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	src := filepath.Join(dir, "src")
	os.RemoveAll(src)
	if err := os.MkdirAll(src, 0o755); err != nil {
		b.Fatal(err)
	}
	archive := exec.Command("sh", "-c", `git archive "$1" | tar -x -C "$2"`, "sh", beforeCommit, src)
	archive.Dir = root // the whole tree, not this folder's
	if out, err := archive.CombinedOutput(); err != nil {
		b.Fatalf("git archive %s (a clone with its history is needed): %v\n%s", beforeCommit, err, out)
	}
	build := exec.Command("go", "build", "-o", bin+".new", "./cmd/streamdemo")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building %s: %v\n%s", beforeCommit, err, out)
	}
	if err := os.Rename(bin+".new", bin); err != nil {
		b.Fatal(err)
	}
	return bin
}

// benchGateway is one "streamdemo gateway serve" the comparison runs, and
// its students' tokens.
type benchGateway struct {
	name   string
	url    string
	tokens []string
	where  string // the SQLite folder or the PostgreSQL URL
}

// startBenchGateway runs bin in front of upstream on the ledger at where,
// with n students whose class has no rate or stream limit.
func startBenchGateway(b *testing.B, name, bin, upstream, where string, n int) *benchGateway {
	b.Helper()
	g := &benchGateway{name: name, where: where}
	// The command makes the ledger (of its own schema) and the first token.
	g.tokens = append(g.tokens, cli(b, bin, "gateway", "token", "add", "student0000", ledgerArg(where), where))
	cli(b, bin, "gateway", "limits", "--rpm", "0", "--concurrent", "0", ledgerArg(where), where)
	// The rest are written as both versions keep them: a token's SHA-256.
	db := rawDB(b, where)
	insert := `INSERT INTO students (name, token_hash, teacher, created_at) VALUES (?, ?, 0, 0)`
	if strings.HasPrefix(where, "postgres://") {
		insert = `INSERT INTO students (name, token_hash, teacher, created_at) VALUES ($1, $2, 0, 0)`
	}
	for i := 1; i < n; i++ {
		tok := fmt.Sprintf("sdg_bench-%s-%04d", name, i)
		sum := sha256.Sum256([]byte(tok))
		if _, err := db.Exec(insert, fmt.Sprintf("student%04d", i), hex.EncodeToString(sum[:])); err != nil {
			b.Fatal(err)
		}
		g.tokens = append(g.tokens, tok)
	}
	_, g.url = serveGateway(b, bin, upstream, where)
	return g
}

// shortBody asks for a short answer: the time to its first byte is what counts.
const shortBody = `{"model":"` + practice.LengthModel + `20","stream":true,"input":"` + seedQuestion + `"}`

// firstByteOf is how long an answer takes to its first line; it is then
// read to the end (so that it is settled before the next).
func firstByteOf(b *testing.B, url, token string) time.Duration {
	b.Helper()
	status, _, first := timedAnswer(b.Context(), url, token, shortBody, nil)
	if status != 200 {
		b.Fatalf("%s: HTTP %d", url, status)
	}
	return first
}

// figures are one gateway's (or the direct path's) measurements.
type figures struct {
	first, chunks []time.Duration
	class         []classRun
}

// BenchmarkBeforeAndAfter runs the gateway as it was at beforeCommit
// (built from git into build/gateway-bench/)
// beside the gateway of this checkout, each as its own process, on SQLite
// and on PostgreSQL (a server with fsync and synchronous commit on), in
// front of one practice server at 100 tokens a second, and prints side by
// side, each round alternating between them: the time to an answer's first
// byte (a short answer; the token check and the reservation are in it),
// the delay per chunk (the seed's answer: from the practice server writing
// a chunk to the client reading it), and 1,000 students asking at once
// (every text and the ledger's totals checked). "make gateway-bench".
func BenchmarkBeforeAndAfter(b *testing.B) {
	const students = 1000
	before, after := buildBefore(b), buildStreamdemo(b)
	srv, upstream := startPractice(b, practice.Options{TokensPerSecond: 100})
	gateways := []*benchGateway{
		startBenchGateway(b, "before-sqlite", before, upstream, b.TempDir(), students),
		startBenchGateway(b, "after-sqlite", after, upstream, b.TempDir(), students),
		startBenchGateway(b, "before-postgres", before, upstream, durablePG.Database(b), students),
		startBenchGateway(b, "after-postgres", after, upstream, durablePG.Database(b), students),
	}
	direct := &benchGateway{name: "direct", url: strings.TrimSuffix(upstream, "v1"), tokens: []string{""}}
	all := append([]*benchGateway{direct}, gateways...)
	got := map[string]*figures{}
	for _, g := range all {
		got[g.name] = &figures{}
	}
	for b.Loop() {
		for range 20 {
			for _, g := range all {
				got[g.name].first = append(got[g.name].first, firstByteOf(b, g.url+"v1/agent", g.tokens[0]))
			}
		}
		for range 2 {
			for _, g := range all {
				got[g.name].chunks = append(got[g.name].chunks, lags(b, srv, arrivals(b, g.url+"v1/agent", g.tokens[0], agentBody("")))[1:]...)
			}
		}
		for _, g := range gateways {
			got[g.name].class = append(got[g.name].class, answerAll(b, g.url, rawDB(b, g.where), g.tokens))
		}
	}
	report(b, got)
}

// report prints the figures side by side, after over before, and reports
// the main ones as the benchmark's metrics.
func report(b *testing.B, got map[string]*figures) {
	direct := got["direct"]
	w := os.Stdout
	fmt.Fprintf(w, "\nThe class gateway before (%s) and after (this checkout), processes on loopback, medians over %d answers each:\n", beforeCommit, len(direct.first))
	fmt.Fprintf(w, "%-46s %10s %10s %10s %8s\n", "", "direct", "before", "after", "after/before")
	row := func(what string, d, bf, af float64) {
		fmt.Fprintf(w, "%-46s %10s %10.0f %10.0f %7.2fx\n", what, map[bool]string{true: fmt.Sprintf("%.0f", d), false: ""}[d >= 0], bf, af, af/bf)
	}
	for _, ledgerName := range []string{"sqlite", "postgres"} {
		bf, af := got["before-"+ledgerName], got["after-"+ledgerName]
		d := quantile(direct.first, 0.5)
		row("first byte, "+ledgerName+" (µs)", d, quantile(bf.first, 0.5), quantile(af.first, 0.5))
		row("  added by the gateway (µs)", -1, quantile(bf.first, 0.5)-d, quantile(af.first, 0.5)-d)
		dm, dp := quantile(direct.chunks, 0.5), quantile(direct.chunks, 0.99)
		row("per chunk, "+ledgerName+", median (µs)", dm, quantile(bf.chunks, 0.5), quantile(af.chunks, 0.5))
		row("  added by the gateway, median (µs)", -1, quantile(bf.chunks, 0.5)-dm, quantile(af.chunks, 0.5)-dm)
		row("per chunk, "+ledgerName+", p99 (µs)", dp, quantile(bf.chunks, 0.99), quantile(af.chunks, 0.99))
		var bt, at, bp, ap []time.Duration
		for i := range bf.class {
			bt, at = append(bt, bf.class[i].took), append(at, af.class[i].took)
			bp, ap = append(bp, bf.class[i].firsts...), append(ap, af.class[i].firsts...)
		}
		row("1,000 students at once, "+ledgerName+": all answers (ms)", -1, quantile(bt, 0.5)/1e3, quantile(at, 0.5)/1e3)
		row("  their first chunk, median (ms)", -1, quantile(bp, 0.5)/1e3, quantile(ap, 0.5)/1e3)
		row("  their first chunk, p95 (ms)", -1, quantile(bp, 0.95)/1e3, quantile(ap, 0.95)/1e3)
		b.ReportMetric(quantile(af.first, 0.5)-d, ledgerName+"-first-byte-added-µs")
		b.ReportMetric((quantile(af.first, 0.5)-d)/(quantile(bf.first, 0.5)-d), ledgerName+"-first-byte-added-after/before")
		b.ReportMetric(quantile(af.chunks, 0.5), ledgerName+"-chunk-median-µs")
		b.ReportMetric(quantile(af.chunks, 0.99), ledgerName+"-chunk-p99-µs")
	}
}
