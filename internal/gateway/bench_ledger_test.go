package gateway

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/practice"
)

// The ledgers side by side: SQLite in a folder (one gateway) and
// PostgreSQL (a server of the tests on a Unix socket, as durable as
// SQLite's full sync: durablePG), with the same practice server, and each
// PostgreSQL figure over SQLite's as a ratio.

// sqliteGateway is one gateway on an SQLite ledger of its own, whatever
// ledger the suite runs on.
func sqliteGateway(b *testing.B, upstream string) *testGateway {
	dir := b.TempDir()
	l := reopenTestLedger(b, dir, nil)
	b.Cleanup(func() { l.Close() })
	gw, err := New(Config{Upstream: upstream, Key: testKey, Ledger: l, CookieSecret: bytes.Repeat([]byte("s"), 32)})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(gw.Handler())
	b.Cleanup(ts.Close)
	return &testGateway{URL: ts.URL + gw.prefix, ledger: l, db: rawDB(b, dir), gw: gw, dir: dir}
}

// firstByte is how long a streamed answer takes to its first body byte,
// then reads it to the end (so that it is settled before the next).
func firstByte(b *testing.B, url, token string) time.Duration {
	req, _ := http.NewRequest("POST", url, strings.NewReader(agentBody("")))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	one := make([]byte, 1)
	if _, err := io.ReadFull(resp.Body, one); err != nil || resp.StatusCode != 200 {
		b.Fatalf("HTTP %d: %v", resp.StatusCode, err)
	}
	took := time.Since(start)
	io.Copy(io.Discard, resp.Body)
	return took
}

// ratio reports a PostgreSQL figure over SQLite's.
func ratio(b *testing.B, pg, sqlite float64, unit string) {
	if sqlite > 0 {
		b.ReportMetric(pg/sqlite, unit)
	}
}

// BenchmarkLedgerFirstByte is the time to the first byte of an answer,
// direct from the practice server (no first-token delay) and through a
// gateway on each ledger: the token check, the reservation's transaction
// and the request upstream are all in it (µs, medians).
func BenchmarkLedgerFirstByte(b *testing.B) {
	_, upstream := startPractice(b, practice.Options{TokensPerSecond: 2000})
	lite := sqliteGateway(b, upstream)
	pg := startReplicasOn(b, durablePG.Database(b), upstream, 1)[0]
	liteTok, pgTok := lite.student(b, "ana", ledger.Limits{RequestsPerMinute: ptr[int64](0)}), pg.student(b, "ana", ledger.Limits{RequestsPerMinute: ptr[int64](0)})
	var direct, viaLite, viaPG []time.Duration
	for b.Loop() {
		for range 20 {
			direct = append(direct, firstByte(b, upstream+"/agent", ""))
			viaLite = append(viaLite, firstByte(b, lite.URL+"v1/agent", liteTok))
			viaPG = append(viaPG, firstByte(b, pg.URL+"v1/agent", pgTok))
		}
	}
	d, l, p := quantile(direct, 0.5), quantile(viaLite, 0.5), quantile(viaPG, 0.5)
	b.ReportMetric(d, "direct-first-byte-µs")
	b.ReportMetric(l, "sqlite-first-byte-µs")
	b.ReportMetric(p, "postgres-first-byte-µs")
	ratio(b, p-d, l-d, "postgres/sqlite-added-x")
}

// BenchmarkLedgerChunkDelay is how long after the practice server wrote
// each chunk (after the first) the client had it, through a gateway on
// each ledger (µs): the ledger is not on a chunk's path, so this should
// not move.
func BenchmarkLedgerChunkDelay(b *testing.B) {
	srv, upstream := startPractice(b, practice.Options{TokensPerSecond: 100})
	lite := sqliteGateway(b, upstream)
	pg := startReplicasOn(b, durablePG.Database(b), upstream, 1)[0]
	liteTok, pgTok := lite.student(b, "ana", ledger.Limits{RequestsPerMinute: ptr[int64](0)}), pg.student(b, "ana", ledger.Limits{RequestsPerMinute: ptr[int64](0)})
	var viaLite, viaPG []time.Duration
	for b.Loop() {
		viaLite = append(viaLite, lags(b, srv, arrivals(b, lite.URL+"v1/agent", liteTok, agentBody("")))[1:]...)
		viaPG = append(viaPG, lags(b, srv, arrivals(b, pg.URL+"v1/agent", pgTok, agentBody("")))[1:]...)
	}
	l, p := quantile(viaLite, 0.5), quantile(viaPG, 0.5)
	b.ReportMetric(l, "sqlite-chunk-median-µs")
	b.ReportMetric(p, "postgres-chunk-median-µs")
	b.ReportMetric(quantile(viaLite, 0.99), "sqlite-chunk-p99-µs")
	b.ReportMetric(quantile(viaPG, 0.99), "postgres-chunk-p99-µs")
	ratio(b, p, l, "postgres/sqlite-median-x")
}

// BenchmarkLedger1000Students streams the seed's answer, at a real
// service's pace, to 1,000 students at once: through one gateway on
// SQLite, and through a round-robin in front of 2 replicas on PostgreSQL,
// all on loopback, each run within a minute; every text is checked and
// the ledger's totals must equal what the practice server reported.
// Medians over the runs: of the time until all answers were complete, and
// of every student's first chunk.
func BenchmarkLedger1000Students(b *testing.B) {
	const students = 1000
	_, upstream := startPractice(b, practice.DefaultOptions)
	lite := sqliteGateway(b, upstream)
	replicas := startReplicasOn(b, durablePG.Database(b), upstream, 2)
	front := roundRobin(b, replicas)
	liteTokens, pgTokens := classTokens(b, lite.ledger, students), classTokens(b, replicas[0].ledger, students)
	var lite1000, pg1000 classRun
	var liteTook, pgTook []time.Duration
	for b.Loop() {
		l := answerAll(b, lite.URL, lite.ledger, liteTokens)
		p := answerAll(b, front.URL, replicas[0].ledger, pgTokens)
		lite1000.firsts, pg1000.firsts = append(lite1000.firsts, l.firsts...), append(pg1000.firsts, p.firsts...)
		liteTook, pgTook = append(liteTook, l.took), append(pgTook, p.took)
	}
	lt, pt := quantile(liteTook, 0.5)/1e6, quantile(pgTook, 0.5)/1e6
	b.ReportMetric(lt, "sqlite-all-answers-s")
	b.ReportMetric(pt, "postgres-2-replicas-all-answers-s")
	b.ReportMetric(quantile(lite1000.firsts, 0.5)/1e3, "sqlite-first-chunk-median-ms")
	b.ReportMetric(quantile(pg1000.firsts, 0.5)/1e3, "postgres-first-chunk-median-ms")
	b.ReportMetric(quantile(lite1000.firsts, 0.95)/1e3, "sqlite-first-chunk-p95-ms")
	b.ReportMetric(quantile(pg1000.firsts, 0.95)/1e3, "postgres-first-chunk-p95-ms")
	ratio(b, pt, lt, "postgres/sqlite-all-answers-x")
	ratio(b, quantile(pg1000.firsts, 0.95), quantile(lite1000.firsts, 0.95), "postgres/sqlite-first-chunk-p95-x")
}
