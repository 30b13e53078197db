package streamdemo

import (
	"fmt"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
)

// Show streams s into the notebook cell as live Markdown: the answer grows as
// formatted text, its [n] markers link to the sources, a numbered Sources
// list and a stats line follow, then a chart of when each chunk arrived.
// While waiting for the first chunk it says so, and for how long. The stop
// button ends the stream at once, keeping what arrived. Outside a notebook
// it prints plain text. It returns the error that ended the stream, if any.
func Show(s *Stream) error {
	if !gonbui.IsNotebook {
		return showPlain(s)
	}
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
			fmt.Printf("%s: first chunk %s, total %s, %d chunks\n", s.Label, round(s.Timing.FirstChunk), round(s.Timing.Total), s.Timing.Chunks)
		}
		return
	}
	gonbui.DisplaySVG(ChartSVG(series...))
	gonbui.Sync()
}

func showLive(s *Stream, fe frontend) error {
	type item struct {
		chunk   Chunk
		sources []Source
	}
	items := make(chan item)
	go func() {
		defer close(items)
		for chunk, err := range s.Chunks() {
			if err != nil {
				return
			}
			items <- item{chunk, s.Sources()}
		}
	}()
	v := newLiveView(fe, slowReason(s.settings))
	start := time.Now()
	ticker := time.NewTicker(minRefresh / 2)
	defer ticker.Stop()
	for {
		select {
		case it, ok := <-items:
			if !ok {
				v.finish(s)
				return s.Err()
			}
			v.add(it.chunk.Text, it.sources, it.chunk.Elapsed)
		case <-ticker.C:
			v.tick(time.Since(start))
		}
	}
}

func showPlain(s *Stream) error {
	for chunk, err := range s.Chunks() {
		if err != nil {
			break
		}
		fmt.Print(chunk.Text)
	}
	fmt.Println()
	if err := s.Err(); err != nil {
		fmt.Println(err)
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
