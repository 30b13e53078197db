package practice

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// wire is one protocol's way of writing a streamed answer.
type wire interface {
	begin(out sse, sc Script) error
	token(out sse, text string) error // errLimit: the output limit is reached
	end(out sse, sc Script, inTokens, outTokens int) error
	fail(out sse, fault string) error             // ends the stream as a failed, cancelled or error fault
	cut() string                                  // an event cut off mid-JSON, for fault/malformed
	whole(sc Script, inTokens, outTokens int) any // the answer as one JSON object
}

// errLimit says the answer reached max_output_tokens.
var errLimit = errors.New("output limit reached")

func itoa(n int) string { return strconv.Itoa(n) }

// stream sends sc as tokens at the server's pace, injecting fault if named.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, rec *Record, sc Script, fault string, inTokens int, wr wire) {
	if asked, ok := sized(rec.Model); ok {
		sc = asked
	}
	rec.Status, rec.Script = http.StatusOK, sc.Name
	s.active.Add(1)
	defer s.active.Add(-1)
	out := startSSE(w)
	gone := func() { rec.Disconnected = true }
	if wr.begin(out, sc) != nil {
		gone()
		return
	}
	pace := &pacer{ctx: r.Context(), opts: s.opts}
	tokens := Tokens(sc.Text)
	for i, tok := range tokens {
		if Midstream(fault) && i == FaultAfter {
			s.midstreamFault(w, r, rec, out, wr, fault)
			return
		}
		if !pace.next() {
			gone()
			return
		}
		sent := Stamp{time.Now().UnixNano(), len(tok)} // before the write, so no reader sees it earlier
		if err := wr.token(out, tok); errors.Is(err, errLimit) {
			break
		} else if err != nil {
			gone()
			return
		}
		rec.Chunks++
		rec.Sent = append(rec.Sent, sent)
	}
	if wr.end(out, sc, inTokens, len(tokens)) != nil {
		gone()
	}
}

// answerWhole waits as long as generating sc takes at the server's pace,
// then sends it as one JSON object, as a server does for stream: false.
func (s *Server) answerWhole(w http.ResponseWriter, r *http.Request, rec *Record, sc Script, inTokens int, wr wire) {
	rec.Script = sc.Name
	s.active.Add(1)
	defer s.active.Add(-1)
	tokens := Tokens(sc.Text)
	pace := &pacer{ctx: r.Context(), opts: s.opts}
	for range tokens {
		if !pace.next() {
			rec.Disconnected = true
			return
		}
	}
	rec.Status, rec.Chunks = http.StatusOK, 1
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(wr.whole(sc, inTokens, len(tokens)))
}

func (s *Server) midstreamFault(w http.ResponseWriter, r *http.Request, rec *Record, out sse, wr wire, fault string) {
	switch fault {
	case "drop": // cut the connection without ending the HTTP body
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	case "malformed":
		out.data(wr.cut())
	case "stall": // keep the connection open, send nothing, until the client leaves
		<-r.Context().Done()
		rec.Disconnected = true
	case "failed", "cancelled", "error":
		wr.fail(out, fault)
	}
}

// Midstream reports whether a fault strikes after FaultAfter chunks of text.
func Midstream(fault string) bool {
	switch fault {
	case "drop", "malformed", "stall", "failed", "cancelled", "error":
		return true
	}
	return false
}
