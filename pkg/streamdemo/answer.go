package streamdemo

import (
	"fmt"
	"time"
)

// Chunk is one piece of the answer, as it arrived.
type Chunk struct {
	Text      string        // the new text; print it as it comes
	Reasoning string        // thinking text, from models that stream it separately
	Index     int           // 1 for the first chunk
	Elapsed   time.Duration // since the request was sent
}

// String returns the chunk's text, so fmt.Print(chunk) prints the answer.
func (c Chunk) String() string { return c.Text }

// Source is one web page the answer cites; Number matches its [n] marker.
type Source struct {
	Number  int
	Title   string
	URL     string
	Snippet string
	Date    string
}

// String is the source as a reference line: "[1] Title https://...".
func (s Source) String() string { return fmt.Sprintf("[%d] %s %s", s.Number, s.Title, s.URL) }

// Usage is what the server reported the answer cost.
type Usage struct {
	InputTokens, OutputTokens, TotalTokens int
	Cost                                   float64 // total cost, when reported
	Currency                               string  // e.g. "USD"; empty when no cost was reported
}

// Arrival marks when a chunk arrived and how much text had come by then.
type Arrival struct {
	At    time.Duration // since the request was sent
	Chars int           // characters of answer received so far, this chunk included
}

// Timing says how the answer arrived over time.
type Timing struct {
	Start      time.Time
	FirstChunk time.Duration // time to first chunk; 0 if none arrived
	Total      time.Duration // until the stream ended
	Chunks     int
	Arrivals   []Arrival // one per chunk
}
