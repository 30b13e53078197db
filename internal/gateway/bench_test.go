package gateway

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/practice"
)

// arrivals streams one Agent API answer from url and returns when each
// text chunk arrived.
func arrivals(b *testing.B, url, token, body string) []time.Time {
	return textArrivals(b, url, token, body, func(line string) bool { return strings.Contains(line, `"response.output_text.delta"`) })
}

// textArrivals streams one answer and returns when each line holding a
// text chunk (isText) arrived.
func textArrivals(b *testing.B, url, token, body string, isText func(string) bool) []time.Time {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var at []time.Time
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if isText(sc.Text()) {
			at = append(at, time.Now())
		}
	}
	return at
}

// lags are how long after the practice server wrote each chunk it arrived.
func lags(b *testing.B, srv *practice.Server, at []time.Time) []time.Duration {
	recs := srv.Records()
	sent := recs[len(recs)-1].Sent
	if len(sent) != len(at) {
		b.Fatalf("%d chunks sent, %d arrived", len(sent), len(at))
	}
	out := make([]time.Duration, len(at))
	for i := range at {
		out[i] = at[i].Sub(time.Unix(0, sent[i].UnixNano))
	}
	return out
}

func quantile(d []time.Duration, q float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[int(q*float64(len(s)-1))].Microseconds())
}

// BenchmarkGatewayAddedDelay streams the seed's answer directly from the
// practice server and through the gateway, alternately, and reports how
// long after the server wrote each chunk the client had it (µs).
func BenchmarkGatewayAddedDelay(b *testing.B) {
	srv, upstream := startPractice(b, practice.Options{TokensPerSecond: 100})
	tg := startGateway(b, upstream)
	tok := tg.student(b, "ana", ledger.Limits{RequestsPerMinute: ptr[int64](0)})
	var direct, via, directFirst, viaFirst []time.Duration
	for b.Loop() {
		d := lags(b, srv, arrivals(b, upstream+"/agent", "", agentBody("")))
		g := lags(b, srv, arrivals(b, tg.URL+"v1/agent", tok, agentBody("")))
		direct, via = append(direct, d[1:]...), append(via, g[1:]...)
		directFirst, viaFirst = append(directFirst, d[0]), append(viaFirst, g[0])
	}
	b.ReportMetric(quantile(direct, 0.5), "direct-chunk-median-µs")
	b.ReportMetric(quantile(via, 0.5), "gateway-chunk-median-µs")
	b.ReportMetric(quantile(direct, 0.99), "direct-chunk-p99-µs")
	b.ReportMetric(quantile(via, 0.99), "gateway-chunk-p99-µs")
	b.ReportMetric(quantile(directFirst, 0.5), "direct-first-chunk-µs")
	b.ReportMetric(quantile(viaFirst, 0.5), "gateway-first-chunk-µs")
}

// BenchmarkGateway200Students streams the seed's answer to 200 students at
// once through the gateway, at a realistic pace, and checks every text and
// that the ledger's totals equal the usage the practice server reported.
func BenchmarkGateway200Students(b *testing.B) {
	_, upstream := startPractice(b, practice.DefaultOptions)
	tg := startGateway(b, upstream)
	tokens := classTokens(b, tg.ledger, 200)
	for b.Loop() {
		r := answerAll(b, tg.URL, tg.db, tokens)
		b.ReportMetric(r.peakMiB, "peak-heap-MiB")
		b.ReportMetric(r.took.Seconds(), "all-answers-s")
		b.ReportMetric(quantile(r.answers, 0.5)/1e6, "median-answer-s")
	}
}

// classTokens issues n students' tokens on ledger.
func classTokens(b *testing.B, l *ledger.Ledger, n int) []string {
	tokens := make([]string, n)
	for i := range tokens {
		tok, err := l.AddToken(fmt.Sprintf("student%04d", i), false, ledger.Limits{}, "bench")
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = tok
	}
	return tokens
}

// classRun is one answer to every student at once: how long until all were
// complete, each one's first chunk and whole answer, and the peak heap.
type classRun struct {
	took            time.Duration
	firsts, answers []time.Duration
	peakMiB         float64
}

// answerAll streams the seed's answer to every token at once through url
// (a gateway, in this process or not, or a balancer in front of replicas),
// within a minute, and fails unless every text is right and the finished
// answers in the ledger at db are what the practice server reported.
func answerAll(b *testing.B, url string, db *sql.DB, tokens []string) classRun {
	want := practice.Choose("", seedQuestion).Text
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	reported := doneTotals(b, db)
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var r classRun
	wrong := 0
	start := time.Now()
	for _, tok := range tokens {
		wg.Go(func() {
			status, body, first := timedAnswer(ctx, url+"v1/agent", tok, agentBody(""), isTextDelta)
			answer := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			if status != 200 || streamedText(body) != want {
				wrong++
				return
			}
			addTotals(&reported, usageIn(b, body))
			r.firsts, r.answers = append(r.firsts, first), append(r.answers, answer)
		})
	}
	wg.Wait()
	r.took = time.Since(start)
	close(stop)
	var settled ledger.Totals
	waitFor(b, 10*time.Second, "the answers were never all settled", func() bool {
		settled = doneTotals(b, db)
		return settled.Requests >= reported.Requests
	})
	if wrong > 0 || !sameTotals(settled, reported) {
		b.Fatalf("%d wrong answers of %d in %s; the ledger's finished answers %+v, want %+v (what the practice server reported)",
			wrong, len(tokens), r.took, settled, reported)
	}
	r.peakMiB = float64(peak.Load()) / (1 << 20)
	return r
}

// timedAnswer streams one answer and says when its first line that marks
// says counts arrived (nil: its first line at all), from the request's start.
func timedAnswer(ctx context.Context, url, token, body string, marks func(line string) bool) (status int, text string, first time.Duration) {
	req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error(), 0
	}
	defer resp.Body.Close()
	var out strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if first == 0 && (marks == nil || marks(sc.Text())) {
			first = time.Since(start)
		}
		out.WriteString(sc.Text() + "\n")
	}
	return resp.StatusCode, out.String(), first
}

// isTextDelta says whether an SSE line carries an Agent API text chunk.
func isTextDelta(line string) bool { return strings.Contains(line, `"response.output_text.delta"`) }
