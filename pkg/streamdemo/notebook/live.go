package notebook

import (
	"errors"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"

	"fmt"
	"strings"
	"time"
)

// minRefresh is the shortest time between two refreshes of the live view.
const minRefresh = 100 * time.Millisecond

// liveBudget caps what the live view sends: the bytes of every output it
// sends for the answer, plus what finishing the growing block will still
// cost, stay within liveBudget bytes per byte of answer received. The
// waiting line comes on top (a few dozen bytes a second before the first
// chunk), and so do the closing stats line and chart.
const liveBudget = 2.7

// efficiency is the most bytes a refresh may send per byte of new text it
// shows: the growing block is re-sent only once it has about doubled, so no
// bytes go to re-sending a long block for one more word.
const efficiency = 2.0

// waitStep is how often the waiting line counts up.
const waitStep = time.Second

// frontend receives the live view's outputs: GoNB in a notebook, a recorder
// in tests and benchmarks.
type frontend interface {
	newID() string
	markdown(id, md string) // create output id, or replace its content
	svg(svg string)         // a new output
}

// piece is a frozen output: text[start:end].
type piece struct {
	id         string
	start, end int
}

// liveView renders a growing answer as Markdown at a bounded cost: finished
// blocks (paragraphs, list items, code fences) are frozen in outputs of their
// own and sent once, final. Only the growing block is re-sent, once it has
// about doubled and only while the bytes sent stay within liveBudget per
// byte of answer, so a slow stream refreshes less often rather than costing
// more. (Appending to an element with a script, as GoNB's dom package does,
// costs tens of bytes of JavaScript per append, runs only in frontends that
// execute output scripts, and proved no faster here: docs/live-display.md.)
type liveView struct {
	fe          frontend
	text        string
	sources     []streamdemo.Source
	pieces      []piece
	frozen      int    // text[:frozen] is in frozen pieces
	growing     string // id of the output showing text[frozen:]
	sent        map[string]string
	cost        int // bytes sent for the answer so far
	waitCost    int // bytes sent for the waiting line
	shown       int // len(text[frozen:]) when the growing block was last sent
	lastRefresh time.Duration
	dirty       bool
	waiting     string // id of the waiting line, until the first chunk
	lastWait    time.Duration
	why         string // why a first chunk may be slow, said after slowWait
}

func newLiveView(fe frontend, why string) *liveView {
	v := &liveView{fe: fe, lastRefresh: -minRefresh, sent: map[string]string{}, why: why}
	v.growing, v.waiting = fe.newID(), fe.newID()
	v.send(v.waiting, "⏳ *Waiting…*")
	return v
}

// send updates an output unless it already shows md, and counts the bytes.
func (v *liveView) send(id, md string) {
	if old, ok := v.sent[id]; ok && old == md {
		return
	}
	v.sent[id] = md
	if id == v.waiting {
		v.waitCost += len(md)
	} else {
		v.cost += len(md)
	}
	v.fe.markdown(id, md)
}

// add takes a chunk that arrived at `at` since the request was sent.
func (v *liveView) add(text string, sources []streamdemo.Source, at time.Duration) {
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
	if v.text == "" && at-v.lastWait >= waitStep {
		v.lastWait = at
		v.send(v.waiting, waitingLine(at, v.why))
	}
	if v.due(at) {
		v.refresh(at)
	}
}

func (v *liveView) due(at time.Duration) bool {
	return v.dirty && at-v.lastRefresh >= minRefresh
}

// refresh freezes the blocks that are finished, then shows the growing
// block if the budget allows; if not, it stays pending for a later tick.
func (v *liveView) refresh(at time.Duration) {
	if i := splitPoint(v.text[v.frozen:]); i > 0 {
		v.freeze(v.frozen + i)
	}
	v.lastRefresh, v.dirty = at, false
	tail := v.text[v.frozen:]
	if tail == "" {
		return
	}
	md := renderMarkdown(tail, v.sources)
	// Send only what shows enough new text for its bytes, and only within the
	// budget (finishing costs the block's final Markdown once more).
	if float64(len(md)) > efficiency*float64(len(tail)-v.shown) ||
		float64(v.cost+2*len(md)) > liveBudget*float64(len(v.text)) {
		v.dirty = true
		return
	}
	v.shown = len(tail)
	v.send(v.growing, md)
}

// freeze ends the growing output at text[:end]: it is sent once, final.
func (v *liveView) freeze(end int) {
	p := piece{id: v.growing, start: v.frozen, end: end}
	v.send(p.id, renderMarkdown(v.text[p.start:p.end], v.sources))
	v.pieces = append(v.pieces, p)
	v.growing, v.frozen, v.shown = v.fe.newID(), end, 0
}

// outcome is how a stream ended, as the live view shows it.
type outcome struct {
	sources []streamdemo.Source
	err     error
	summary string
	timing  streamdemo.Timing
}

func outcomeOf(s *streamdemo.Stream) outcome {
	return outcome{sources: s.Sources(), err: s.Err(), summary: s.Summary(), timing: s.Timing()}
}

// finish shows the final answer, then the error or stop note, the sources,
// the stats line and the timeline chart.
func (v *liveView) finish(s outcome) {
	v.sources = s.sources
	v.send(v.waiting, "")
	if v.frozen < len(v.text) {
		v.freeze(len(v.text))
	}
	// Link sources that came after a block was frozen (send skips the unchanged).
	for _, p := range v.pieces {
		v.send(p.id, renderMarkdown(v.text[p.start:p.end], v.sources))
	}
	var notes []string
	if err := s.err; err != nil {
		if errors.Is(err, streamdemo.ErrCancelled) {
			notes = append(notes, fmt.Sprintf("⏹ **Stopped** after %d chunks; the text received so far is kept.", s.timing.Chunks))
		} else {
			notes = append(notes, "⚠️ "+escapeMarkdown(streamdemo.Hint(err)))
		}
	}
	if src := sourcesMarkdown(v.sources); src != "" {
		notes = append(notes, src)
	}
	notes = append(notes, "⏱ "+escapeMarkdown(s.summary))
	v.fe.markdown(v.fe.newID(), strings.Join(notes, "\n\n"))
	if s.timing.Chunks > 0 {
		v.fe.svg(ChartSVG(Series{Label: "when each chunk arrived", Timing: s.timing}))
	}
}
