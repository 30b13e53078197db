package streamdemo

import (
	"fmt"
	"strings"
	"time"
)

// Refresh bounds of the live view: never more often than minRefresh, and a
// pending change is shown within maxRefresh. In between, the growing block is
// re-sent only once it has doubled, which keeps the bytes sent within a
// small multiple of the answer at any pace.
const (
	minRefresh = 100 * time.Millisecond
	maxRefresh = 250 * time.Millisecond
)

// frontend receives the live view's outputs: GoNB in a notebook, a recorder
// in tests and benchmarks.
type frontend interface {
	newID() string
	markdown(id, md string) // create output id, or replace its content
	svg(svg string)         // a new output
}

// piece is a frozen output: text[start:end], part of paragraph group.
type piece struct {
	id         string
	start, end int
	group      int
}

// liveView renders a growing answer as Markdown at a bounded cost: finished
// blocks are frozen in outputs of their own and not sent again; only the
// growing block is re-sent. A long paragraph is frozen sentence by sentence
// while it streams, and joined again at the end.
type liveView struct {
	fe          frontend
	text        string
	sources     []Source
	pieces      []piece
	frozen      int    // text[:frozen] is in frozen pieces
	group       int    // paragraph group of the growing block
	growing     string // id of the output showing text[frozen:]
	shown       int    // len(text[frozen:]) when the growing output was last sent
	sent        map[string]string
	lastRefresh time.Duration
	dirty       bool
	waiting     string // id of the waiting line, until the first chunk
	lastWait    time.Duration
}

func newLiveView(fe frontend) *liveView {
	v := &liveView{fe: fe, lastRefresh: -maxRefresh, sent: map[string]string{}}
	v.growing, v.waiting = fe.newID(), fe.newID()
	v.send(v.waiting, "⏳ *Waiting for the first chunk…*")
	return v
}

// send updates an output unless it already shows md.
func (v *liveView) send(id, md string) {
	if old, ok := v.sent[id]; ok && old == md {
		return
	}
	v.sent[id] = md
	v.fe.markdown(id, md)
}

// add takes a chunk that arrived at `at` since the request was sent.
func (v *liveView) add(text string, sources []Source, at time.Duration) {
	if v.text == "" && text != "" {
		v.send(v.waiting, "")
	}
	v.text += text
	v.sources = sources
	v.dirty = true
	if v.due(at) {
		v.refresh(at)
	}
}

// tick runs every 50ms or so while the stream is open.
func (v *liveView) tick(at time.Duration) {
	if v.text == "" && at-v.lastWait >= maxRefresh {
		v.lastWait = at
		v.send(v.waiting, fmt.Sprintf("⏳ *Waiting for the first chunk… %.1f s*", at.Seconds()))
	}
	if v.due(at) {
		v.refresh(at)
	}
}

func (v *liveView) due(at time.Duration) bool {
	since := at - v.lastRefresh
	switch {
	case !v.dirty || since < minRefresh:
		return false
	case since >= maxRefresh:
		return true
	}
	pending := len(v.text) - v.frozen - v.shown
	return pending >= v.shown
}

func (v *liveView) refresh(at time.Duration) {
	v.lastRefresh, v.dirty = at, false
	if i, soft := splitPoint(v.text[v.frozen:]); i > 0 {
		v.freeze(v.frozen+i, soft)
	}
	v.shown = len(v.text) - v.frozen
	if v.shown > 0 {
		v.send(v.growing, renderMarkdown(v.text[v.frozen:], v.sources))
	}
}

// freeze ends the growing output at text[:end]; a soft freeze keeps the
// paragraph group open.
func (v *liveView) freeze(end int, soft bool) {
	p := piece{id: v.growing, start: v.frozen, end: end, group: v.group}
	v.send(p.id, renderMarkdown(v.text[p.start:p.end], v.sources))
	v.pieces = append(v.pieces, p)
	v.growing, v.frozen = v.fe.newID(), end
	if !soft {
		v.group++
	}
}

// finish shows the final answer, then the error or stop note, the sources,
// the stats line and the timeline chart.
func (v *liveView) finish(s *Stream) {
	v.sources = s.Sources()
	v.send(v.waiting, "")
	if v.frozen < len(v.text) {
		v.freeze(len(v.text), false)
	}
	// Join the paragraphs cut for the live view, and link sources that came late.
	for i := 0; i < len(v.pieces); {
		j := i + 1
		for j < len(v.pieces) && v.pieces[j].group == v.pieces[i].group {
			v.send(v.pieces[j].id, "")
			j++
		}
		v.send(v.pieces[i].id, renderMarkdown(v.text[v.pieces[i].start:v.pieces[j-1].end], v.sources))
		i = j
	}
	var notes []string
	if err := s.Err(); err != nil {
		if s.stopped() {
			notes = append(notes, fmt.Sprintf("⏹ **Stopped** after %d chunks; the text received so far is kept.", s.timing.Chunks))
		} else {
			notes = append(notes, "⚠️ "+escapeMarkdown(err.Error()))
		}
	}
	if src := sourcesMarkdown(v.sources); src != "" {
		notes = append(notes, src)
	}
	notes = append(notes, "⏱ "+escapeMarkdown(s.Summary()))
	v.send(v.fe.newID(), strings.Join(notes, "\n\n"))
	if s.timing.Chunks > 0 {
		v.fe.svg(ChartSVG(Series{Label: "when each chunk arrived", Timing: s.timing}))
	}
}
