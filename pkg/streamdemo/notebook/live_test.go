package notebook

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/practice"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// recorder is a frontend that keeps every output and counts what was sent.
type recorder struct {
	order   []string
	content map[string]string
	sent    int // bytes of content sent
	updates map[string][]time.Duration
	now     time.Duration
	svgs    []string
	seq     []string        // ids in the order they were sent
	times   []time.Duration // when each update before finish was sent
	ids     int
	ending  bool // finish is running
}

func newRecorder() *recorder {
	return &recorder{content: map[string]string{}, updates: map[string][]time.Duration{}}
}

func (r *recorder) newID() string { r.ids++; return fmt.Sprintf("out%d", r.ids) }
func (r *recorder) markdown(id, md string) {
	if _, ok := r.content[id]; !ok {
		r.order = append(r.order, id)
	}
	r.content[id] = md
	r.sent += len(md)
	r.seq = append(r.seq, id)
	if !r.ending {
		r.updates[id] = append(r.updates[id], r.now)
		r.times = append(r.times, r.now)
	}
}
func (r *recorder) svg(svg string) { r.svgs = append(r.svgs, svg) }

// longestStall is the longest time between two updates of the cell, from
// the first chunk to the end of the stream.
func (r *recorder) longestStall() time.Duration {
	var longest time.Duration
	last := firstToken
	for _, t := range append(r.times, r.now) {
		if t >= last {
			longest, last = max(longest, t-last), t
		}
	}
	return longest
}

// shown is what the cell shows: every non-empty output, in order.
func (r *recorder) shown() []string {
	var out []string
	for _, id := range r.order {
		if r.content[id] != "" {
			out = append(out, r.content[id])
		}
	}
	return out
}

// longAnswer is a Markdown answer of at least n characters: the practice
// server's answers, a list and a code block, repeated.
func longAnswer(n int) string {
	parts := []string{
		practice.Choose("", "How many stars are in the universe?").Text,
		practice.Choose("", "What is the population of the world?").Text,
		"```go\nfor chunk := range stream.Chunks() {\n\tfmt.Print(chunk.Text)\n}\n```",
	}
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString(parts[i%len(parts)] + "\n\n")
	}
	return b.String()
}

// firstToken is the time to first chunk in play.
const firstToken = 600 * time.Millisecond

// play streams text through a live view at tokensPerSecond, ticking every
// 50ms as Show does, and returns the recorder.
func play(text string, tokensPerSecond float64, sources []streamdemo.Source) (*recorder, *liveView) {
	r := newRecorder()
	v := newLiveView(r, "")
	step := time.Duration(float64(time.Second) / tokensPerSecond)
	nextTick := time.Duration(0)
	r.now = firstToken
	for _, tok := range practice.Tokens(text) {
		for ; nextTick <= r.now; nextTick += 50 * time.Millisecond {
			v.tick(nextTick)
		}
		v.add(tok, sources, r.now)
		r.now += step
	}
	end := outcome{summary: "model m · 1 chunks", timing: streamdemo.Timing{Chunks: 1, Total: r.now, Arrivals: []streamdemo.Arrival{{At: r.now, Chars: len(text)}}}, sources: sources}
	r.ending = true
	v.finish(end)
	return r, v
}

func TestLiveViewEndsWithTheWholeAnswerRendered(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		text string
	}{
		{"the seed answer", practice.Choose("", "How many stars are in the universe?").Text},
		{"a 10,000-character answer", longAnswer(10000)},
		{"one long paragraph", strings.Repeat("A sentence that goes on. ", 60)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := play(tc.text, 40, nil)
			shown := r.shown()
			answer := strings.Join(shown[:len(shown)-1], "") // the last output is the stats line
			if answer != renderMarkdown(tc.text, nil) {
				t.Errorf("the outputs do not add up to the answer:\n%q", answer)
			}
			if !strings.HasPrefix(shown[len(shown)-1], "⏱ model") || len(r.svgs) != 1 {
				t.Errorf("no stats line or chart after the answer: %q", shown[len(shown)-1])
			}
		})
	}
}

func TestLiveViewRefreshesAtMostEvery100ms(t *testing.T) {
	t.Parallel()
	r, _ := play(longAnswer(3000), 200, nil) // 5ms between chunks
	for id, times := range r.updates {
		for i := 1; i < len(times); i++ {
			if gap := times[i] - times[i-1]; gap < minRefresh && r.content[id] != "" {
				t.Fatalf("output %s updated %v after the previous update", id, gap)
			}
		}
	}
}

func TestLiveViewShowsTheFirstWordsAtOnce(t *testing.T) {
	t.Parallel()
	r := newRecorder()
	v := newLiveView(r, "")
	v.add("First words", nil, 0)
	if got := r.content[v.growing]; got != "First words" {
		t.Fatalf("after the first chunk the cell shows %q", got)
	}
}

func TestLiveViewSaysItIsWaitingAndWhy(t *testing.T) {
	t.Parallel()
	r := newRecorder()
	v := newLiveView(r, "The model is far away.")
	v.tick(1200 * time.Millisecond)
	if got := r.content[v.waiting]; !strings.Contains(got, "Waiting for the first chunk… 1 s") || strings.Contains(got, "far away") {
		t.Fatalf("waiting line after 1.2 s: %q", got)
	}
	v.tick(3100 * time.Millisecond)
	if got := r.content[v.waiting]; !strings.Contains(got, "… 3 s*  \nThe model is far away.") {
		t.Fatalf("waiting line after 3.1 s: %q", got)
	}
	v.add("Hi", nil, 3300*time.Millisecond)
	if r.content[v.waiting] != "" {
		t.Fatal("the waiting line stays after the first chunk")
	}
}

func TestSlowReasonNamesTheCause(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		provider, baseURL string
		want              string
	}{
		{streamdemo.Perplexity, "", "searches the web"},
		{streamdemo.Ollama, "", "cold start"},
		{streamdemo.Compatible, "http://127.0.0.1:11434/v1", "cold start"},
		{streamdemo.OpenAI, "https://api.openai.com/v1", "busy service"},
	} {
		if got := slowReason(tc.provider, tc.baseURL); !strings.Contains(got, tc.want) {
			t.Errorf("%s at %q: %q, want %q in it", tc.provider, tc.baseURL, got, tc.want)
		}
	}
}

// Show reads where a stream goes from the stream itself.
func TestTheWaitingLineKnowsWhereTheStreamGoes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		provider, baseURL string
		want              string
	}{
		{streamdemo.Perplexity, "https://api.perplexity.ai/v1", "searches the web"},
		{streamdemo.Practice, "http://127.0.0.1:8787/v1", "practice server"},
		{streamdemo.Compatible, "http://localhost:8080/v1", "cold start"},
		{streamdemo.OpenAI, "https://api.openai.com/v1", "busy service"},
	} {
		client, err := streamdemo.NewClient(streamdemo.Config{Provider: tc.provider, BaseURL: tc.baseURL, APIKey: "k", Model: "m"})
		if err != nil {
			t.Fatal(err)
		}
		stream := client.ChatStream(context.Background(), nil) // never read: nothing is sent
		if got := slowReason(stream.Provider(), stream.BaseURL()); !strings.Contains(got, tc.want) {
			t.Errorf("%s at %s: %q, want %q in it", tc.provider, tc.baseURL, got, tc.want)
		}
	}
}

func TestFinishedBlocksAreLeftAlone(t *testing.T) {
	t.Parallel()
	// Short blocks: a paragraph, list items and a code fence, none cut mid-way.
	text := "Intro paragraph.\n\n- one\n- two\n- three\n\n```go\nx := 1\n```\n\nLast words."
	r, v := play(text, 40, nil)
	if len(v.pieces) < 3 {
		t.Fatalf("got %d blocks, want the paragraph, the list and the rest at least: %+v", len(v.pieces), v.pieces)
	}
	for k := 0; k+1 < len(v.pieces); k++ {
		last, next := lastIndex(r.seq, v.pieces[k].id), firstIndex(r.seq, v.pieces[k+1].id)
		if last > next {
			t.Errorf("block %d (%q) was sent again after block %d started", k, r.content[v.pieces[k].id], k+1)
		}
	}
}

func lastIndex(seq []string, id string) int {
	for i := len(seq) - 1; i >= 0; i-- {
		if seq[i] == id {
			return i
		}
	}
	return -1
}

func firstIndex(seq []string, id string) int {
	for i, s := range seq {
		if s == id {
			return i
		}
	}
	return -1
}

// paces and sizes are the stream rates (tokens per second) and answer
// lengths (characters) the live view's cost is held to.
var (
	paces = []float64{5, 10, 40, 100}
	sizes = []int{100, 1000, 5000, 20000}
)

// amplification is what the live view sent for the answer (the waiting line
// included, the closing stats and chart not) per byte of answer.
func amplification(v *liveView) float64 {
	return float64(v.cost+v.waitCost) / float64(len(v.text))
}

// BenchmarkLiveMarkdown streams answers of each size at each pace and
// reports the bytes sent to the frontend per byte of answer (at most 3), and
// the longest time the shown answer did not grow while text was pending.
//
//	go test ./pkg/streamdemo -run '^$' -bench LiveMarkdown
func BenchmarkLiveMarkdown(b *testing.B) {
	for _, n := range sizes {
		text := practice.Answer(n)
		for _, tps := range paces {
			b.Run(fmt.Sprintf("chars=%d/tokens_per_second=%v", n, tps), func(b *testing.B) {
				var ratio float64
				var stall time.Duration
				for b.Loop() {
					r, v := play(text, tps, nil)
					ratio, stall = amplification(v), r.longestStall()
				}
				b.ReportMetric(ratio, "sent/answer")
				b.ReportMetric(stall.Seconds(), "s-longest-stall")
			})
		}
	}
}

func TestLiveViewCostsAtMost3BytesPerAnswerByte(t *testing.T) {
	t.Parallel()
	for _, n := range sizes {
		text := practice.Answer(n)
		for _, tps := range paces {
			_, v := play(text, tps, nil)
			if ratio := amplification(v); ratio > 3 {
				t.Errorf("%d characters at %v tokens/s: sent %.2f bytes per answer byte", n, tps, ratio)
			}
		}
	}
}

func TestLiveViewKeepsGrowingAtEveryPace(t *testing.T) {
	t.Parallel()
	for _, tps := range paces {
		r, _ := play(practice.Answer(5000), tps, nil)
		limit := max(time.Duration(30/tps*float64(time.Second)), time.Second) // 30 tokens, at least 1 s
		if stall := r.longestStall(); stall > limit {
			t.Errorf("at %v tokens/s the shown answer did not change for %v (limit %v)", tps, stall, limit)
		}
	}
}
