// Package practice is an offline stand-in for LLM services: it streams
// scripted answers in the exact wire formats of OpenAI chat completions and
// Perplexity's Agent API, at a realistic pace, and injects faults on demand.
package practice

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamdemo/streamdemo/internal/capture"
)

// Options sets the server's pace and log.
type Options struct {
	FirstToken      time.Duration // delay before the first text token
	TokensPerSecond float64       // pace of the text; 0 sends it as fast as possible
	Log             io.Writer     // one line per request; nil for none
	Token           string        // if set, requests need "Authorization: Bearer <Token>"
	ReplayDir       string        // recordings served as model replay/NAME, besides the shipped captures
	ReplaySpeed     float64       // replay this many times faster than recorded; 0 or 1: as recorded
}

// DefaultOptions is a realistic pace: Perplexity-like first token, 40 tokens/s.
var DefaultOptions = Options{FirstToken: 600 * time.Millisecond, TokensPerSecond: 40}

// Record is what the server remembers of one request.
type Record struct {
	Path, Model, Script string
	Status              int
	Chunks              int     // text chunks sent
	Disconnected        bool    // the client went away before the end
	Sent                []Stamp // when each chunk was written
}

// Stamp says when the server wrote one chunk, and how long it was.
type Stamp struct {
	UnixNano int64 `json:"unix_ns"`
	Bytes    int   `json:"bytes"`
}

// Server is the practice server; it is an http.Handler.
type Server struct {
	opts    Options
	mux     *http.ServeMux
	ids     atomic.Int64
	mu      sync.Mutex
	records []Record       // the most recent MaxRecords, oldest first
	seen    int64          // requests finished since start
	flaky   map[string]int // requests seen per flaky fault model
	active  atomic.Int64   // answers being sent right now
}

// New makes a practice server.
func New(opts Options) *Server {
	s := &Server{opts: opts, mux: http.NewServeMux(), flaky: map[string]int{}}
	s.mux.HandleFunc("POST /v1/chat/completions", s.chat)
	s.mux.HandleFunc("POST /v1/responses", s.agent)
	s.mux.HandleFunc("POST /v1/agent", s.agent)
	s.mux.HandleFunc("POST /chat/completions", s.sonarRetired)
	s.mux.HandleFunc("POST /v1/sonar", s.sonarRetired)
	s.mux.HandleFunc("GET /v1/models", s.models)
	s.mux.HandleFunc("GET /v1/practice/status", s.status)
	s.mux.HandleFunc("GET /v1/practice/last", s.last)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.Token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+s.opts.Token)) != 1 {
		e := apiError{status: 401, typ: "forbidden", message: "This practice server needs its token as the API key (STREAMDEMO_API_KEY)."}
		a := agentAPI
		if strings.HasSuffix(r.URL.Path, "/chat/completions") {
			a, e.typ, e.code = chatAPI, "invalid_request_error", "invalid_api_key"
		}
		writeError(w, http.StatusUnauthorized, a.body(e))
		s.finish(r, Record{Status: http.StatusUnauthorized}, time.Now())
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Active returns how many answers are being sent right now.
func (s *Server) Active() int { return int(s.active.Load()) }

// last tells when each chunk of the last finished answer was sent, so a
// benchmark can measure the delay from the server to what a learner sees.
func (s *Server) last(w http.ResponseWriter, r *http.Request) {
	recs := s.Records()
	w.Header().Set("Content-Type", "application/json")
	for i := len(recs) - 1; i >= 0; i-- {
		if len(recs[i].Sent) > 0 {
			json.NewEncoder(w).Encode(map[string]any{"script": recs[i].Script, "sent": recs[i].Sent})
			return
		}
	}
	io.WriteString(w, `{"sent":[]}`)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	s.mu.Lock()
	seen := s.seen
	s.mu.Unlock()
	fmt.Fprintf(w, `{"active_streams":%d,"requests":%d}`, s.Active(), seen)
}

// MaxRecords is how many finished requests the server remembers: a server
// left running for a whole course keeps the latest, not all.
const MaxRecords = 1000

// Records returns the most recent finished requests, oldest first.
func (s *Server) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.records...)
}

func (s *Server) finish(r *http.Request, rec Record, start time.Time) {
	rec.Path = r.URL.Path
	s.mu.Lock()
	if len(s.records) >= MaxRecords {
		s.records = append(s.records[:0], s.records[len(s.records)-MaxRecords+1:]...)
	}
	s.records = append(s.records, rec)
	s.seen++
	s.mu.Unlock()
	if s.opts.Log == nil {
		return
	}
	note := ""
	if rec.Disconnected {
		note = fmt.Sprintf(" client disconnected after %d chunks", rec.Chunks)
	}
	fmt.Fprintf(s.opts.Log, "%s %s %s model=%q script=%s status=%d chunks=%d %s%s\n",
		start.Format("15:04:05.000"), r.Method, r.URL.Path, rec.Model, cmp.Or(rec.Script, "-"),
		rec.Status, rec.Chunks, time.Since(start).Round(time.Millisecond), note)
}

func (s *Server) sonarRetired(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	writeError(w, http.StatusForbidden, sonarRetiredBody)
	s.finish(r, Record{Status: http.StatusForbidden}, start)
}

// models lists the chat models and the shipped recordings (replay/NAME).
func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	data := []any{}
	for _, m := range ChatModels {
		data = append(data, map[string]any{"id": m, "object": "model", "owned_by": "practice"})
	}
	data = append(data, map[string]any{"id": replayPrefix + capture.RealStream, "object": "model", "owned_by": "practice"})
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
}

// sonarRetiredBody is what Perplexity's retired Sonar endpoint answers.
const sonarRetiredBody = `{"error":{"message":"Sonar is now the Agent API. Use /v1/responses instead of /v1/sonar. Migrate here: https://docs.perplexity.ai/docs/agent-api/migrate-from-sonar/overview","type":"chat_completions_not_available","code":403}}`

func writeError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// pacer waits between tokens at the server's pace; it reports false when the
// client went away.
type pacer struct {
	ctx  context.Context
	opts Options
	sent int
}

func (p *pacer) next() bool {
	d := time.Duration(0)
	switch {
	case p.sent == 0:
		d = p.opts.FirstToken
	case p.opts.TokensPerSecond > 0:
		d = time.Duration(float64(time.Second) / p.opts.TokensPerSecond)
	}
	p.sent++
	if d <= 0 {
		return p.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.ctx.Done():
		return false
	}
}

// sse writes server-sent events, flushing each at once.
type sse struct {
	w http.ResponseWriter
}

func startSSE(w http.ResponseWriter) sse {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	return sse{w}
}

func (s sse) data(payload string) error {
	if _, err := io.WriteString(s.w, "data: "+payload+"\n\n"); err != nil {
		return err
	}
	return http.NewResponseController(s.w).Flush()
}
