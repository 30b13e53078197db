// Package notebook shows a streamdemo stream in a GoNB notebook cell: the
// answer grows as live Markdown with linked sources, a stats line and a chart
// of when each chunk arrived follow, and the notebook's stop button ends the
// stream, keeping what arrived.
//
//	stream := client.ChatStream(context.Background(), messages)
//	notebook.Show(stream)
//
// It is kept apart from package streamdemo so that the client imports
// nothing from GoNB and installs no signal handler.
package notebook

import (
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/streamdemo/streamdemo/internal/elapsed"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// Show streams s into the notebook cell as live Markdown: the answer grows as
// formatted text, its [n] markers link to the sources, a numbered Sources
// list and a stats line follow, then a chart of when each chunk arrived.
// While waiting for the first chunk it says so, and for how long. The stop
// button (which interrupts the cell's program) ends the stream at once,
// keeping what arrived. Outside a notebook it prints plain text. It returns
// the error that ended the stream, if any.
func Show(s *streamdemo.Stream) error {
	if !gonbui.IsNotebook {
		return showPlain(s)
	}
	defer stopOnInterrupt(s)()
	err := showLive(s, gonbFrontend{})
	gonbui.Sync()
	return err
}

// ShowChart draws the timelines of several streams side by side on the same
// scales, e.g. one answer asked with streaming and one without. Outside a
// notebook it prints one line per series.
func ShowChart(series ...Series) {
	if !gonbui.IsNotebook {
		for _, s := range series {
			fmt.Printf("%s: first chunk %s, total %s, %d chunks\n", s.Label, elapsed.String(s.Timing.FirstChunk), elapsed.String(s.Timing.Total), s.Timing.Chunks)
		}
		return
	}
	gonbui.DisplaySVG(ChartSVG(series...))
	gonbui.Sync()
}

// stopOnInterrupt stops s when the cell's program is interrupted (GoNB sends
// SIGINT for the stop button), until the returned function is called.
func stopOnInterrupt(s *streamdemo.Stream) (release func()) {
	interrupts := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(interrupts, os.Interrupt)
	go func() {
		select {
		case <-interrupts:
			s.Stop()
		case <-done:
		}
	}()
	return func() { signal.Stop(interrupts); close(done) }
}

func showLive(s *streamdemo.Stream, fe frontend) error {
	type item struct {
		chunk   streamdemo.Chunk
		sources []streamdemo.Source
	}
	items := make(chan item)
	go func() {
		defer close(items)
		for chunk := range s.Chunks() {
			items <- item{chunk, s.Sources()}
		}
	}()
	v := newLiveView(fe, slowReason(s.Provider(), s.BaseURL()))
	start := time.Now()
	ticker := time.NewTicker(minRefresh / 2)
	defer ticker.Stop()
	for {
		select {
		case it, ok := <-items:
			if !ok {
				v.finish(outcomeOf(s))
				return s.Err()
			}
			v.add(it.chunk.Text, it.sources, it.chunk.Elapsed)
		case <-ticker.C:
			v.tick(time.Since(start))
		}
	}
}

func showPlain(s *streamdemo.Stream) error {
	for chunk := range s.Chunks() {
		fmt.Print(chunk.Text)
	}
	fmt.Println()
	if err := s.Err(); err != nil {
		fmt.Println(streamdemo.Hint(err))
	}
	for _, src := range s.Sources() {
		fmt.Println(src)
	}
	fmt.Println(s.Summary())
	return s.Err()
}

// gonbFrontend sends outputs to the notebook through GoNB.
type gonbFrontend struct{}

func (gonbFrontend) newID() string          { return "streamdemo-" + gonbui.UniqueId() }
func (gonbFrontend) markdown(id, md string) { gonbui.UpdateMarkdown(id, md) }
func (gonbFrontend) svg(svg string)         { gonbui.DisplaySVG(svg) }
