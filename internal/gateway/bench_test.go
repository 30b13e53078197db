package gateway

import (
	"bufio"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/practice"
)

// arrivals streams one answer from url and returns when each text chunk arrived.
func arrivals(b *testing.B, url, token, body string) []time.Time {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var at []time.Time
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"response.output_text.delta"`) {
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
	tok := tg.student(b, "ana", Limits{RequestsPerMinute: ptr[int64](0)})
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
	const students = 200
	_, upstream := startPractice(b, practice.DefaultOptions)
	tg := startGateway(b, upstream)
	tokens := make([]string, students)
	for i := range tokens {
		tokens[i] = tg.student(b, fmt.Sprintf("student%03d", i), Limits{})
	}
	want := practice.Choose("", seedQuestion).Text
	for b.Loop() {
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
		before, _ := tg.ledger.Usage(b.Context())
		var wg sync.WaitGroup
		var mu sync.Mutex
		var reported Totals
		var firsts []time.Duration
		wrong := 0
		start := time.Now()
		for _, tok := range tokens {
			wg.Go(func() {
				a := do(b, "POST", tg.URL+"v1/agent", tok, agentBody(""))
				first := time.Since(start) // upper bound: whole answer for the slowest
				mu.Lock()
				defer mu.Unlock()
				if a.Status != 200 || streamedText(a.Body) != want {
					wrong++
					return
				}
				for _, p := range events(a.Body) {
					var ev wireEvent
					jsonUnmarshal(p, &ev)
					if ev.Response != nil && ev.Response.Usage != nil && ev.Response.Usage.Cost != nil {
						reported.Requests++
						reported.InputTokens += ev.Response.Usage.InputTokens
						reported.OutputTokens += ev.Response.Usage.OutputTokens
						reported.USD += ev.Response.Usage.Cost.TotalCost
					}
				}
				firsts = append(firsts, first)
			})
		}
		wg.Wait()
		took := time.Since(start)
		close(stop)
		after, _ := tg.ledger.Usage(b.Context())
		got := Totals{Requests: after.Totals.Requests - before.Totals.Requests,
			InputTokens: after.Totals.InputTokens - before.Totals.InputTokens, OutputTokens: after.Totals.OutputTokens - before.Totals.OutputTokens,
			USD: after.Totals.USD - before.Totals.USD}
		if wrong > 0 || got.Requests != students || got.InputTokens != reported.InputTokens || got.OutputTokens != reported.OutputTokens ||
			fmt.Sprintf("%.6f", got.USD) != fmt.Sprintf("%.6f", reported.USD) {
			b.Fatalf("%d wrong answers; ledger %+v, practice server reported %+v", wrong, got, reported)
		}
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		b.ReportMetric(took.Seconds(), "all-answers-s")
		b.ReportMetric(quantile(firsts, 0.5)/1e6, "median-answer-s")
	}
}
