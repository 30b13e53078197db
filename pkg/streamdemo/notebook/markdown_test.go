package notebook

import (
	"github.com/streamdemo/streamdemo/pkg/streamdemo"

	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"
)

func TestSplitPointFindsFinishedBlocks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		text string
		want int
	}{
		{"Growing paragraph", 0},
		{"Done.\n\nNext", 7},
		{"- one\n- two", 6},
		{"Intro:\n1. first", 7},
		{"```go\nx := 1\n\ny := 2", 0},               // no split inside an open fence
		{"```go\nx := 1\n```\nAfter", 17},            // a closed fence is finished
		{strings.Repeat("A long sentence. ", 20), 0}, // a paragraph is never cut mid-way
	} {
		if got := splitPoint(tc.text); got != tc.want {
			t.Errorf("splitPoint(%q) = %d; want %d", tc.text, got, tc.want)
		}
	}
}

var hostile = []streamdemo.Source{
	{Number: 1, Title: `<img src=x onerror=alert(1)> **bold** [x](javascript:alert(2))`, URL: "javascript:alert(1)"},
	{Number: 2, Title: "Fine (really)", URL: "https://example.com/a b(c)<d>"},
	{Number: 3, Title: "Data", URL: "data:text/html,<script>alert(3)</script>"},
}

func TestHostileSourcesComeOutInert(t *testing.T) {
	t.Parallel()
	md := sourcesMarkdown(hostile)
	for _, bad := range []string{"<img", "](javascript", "](data", "**bold**"} {
		if strings.Contains(md, bad) {
			t.Errorf("sources list holds %q:\n%s", bad, md)
		}
	}
	if !strings.Contains(md, "2. [Fine \\(really\\)](https://example.com/a%20b%28c%29%3Cd%3E)") {
		t.Errorf("the https source should be a link with its title escaped:\n%s", md)
	}
	if !strings.Contains(md, "1. &lt;img") || !strings.Contains(md, "link removed") {
		t.Errorf("the javascript: source should be plain escaped text:\n%s", md)
	}
}

func TestAnswerMarkersLinkOnlySafeSources(t *testing.T) {
	t.Parallel()
	got := renderMarkdown("See [1], [2] and [9]. <script>x</script> [a](javascript:alert(1))\n```\n<b>code</b>\n```\n", hostile)
	for _, want := range []string{"See [1], ", `[\[2\]](https://example.com/`, "and [9].", "&lt;script>", "](#blocked:", "<b>code</b>"} {
		if !strings.Contains(got, want) {
			t.Errorf("rendering lacks %q:\n%s", want, got)
		}
	}
}

func TestChartHasOneMarkPerChunk(t *testing.T) {
	t.Parallel()
	timing := streamdemo.Timing{FirstChunk: 400 * time.Millisecond, Total: 2 * time.Second, Chunks: 3,
		Arrivals: []streamdemo.Arrival{{At: 400 * time.Millisecond, Chars: 5}, {At: 900 * time.Millisecond, Chars: 12}, {At: 1900 * time.Millisecond, Chars: 30}}}
	svg := ChartSVG(Series{Label: "<b>streamed</b>", Timing: timing}, Series{Label: "whole", Timing: streamdemo.Timing{Total: 3 * time.Second, FirstChunk: 3 * time.Second, Arrivals: []streamdemo.Arrival{{At: 3 * time.Second, Chars: 30}}}})
	dec := xml.NewDecoder(strings.NewReader(svg))
	counts := map[string]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not valid XML: %v\n%s", err, svg)
		}
		if el, ok := tok.(xml.StartElement); ok {
			for _, a := range el.Attr {
				if a.Name.Local == "class" {
					counts[el.Name.Local+"."+a.Value]++
				}
			}
		}
	}
	if counts["circle.chunk"] != 4 || counts["g.panel"] != 2 || counts["line.first-chunk"] != 2 || counts["line.total"] != 2 {
		t.Errorf("marks %v, want 4 chunks in 2 panels, each with first-chunk and total lines", counts)
	}
	if strings.Contains(svg, "<b>") {
		t.Error("the label was not escaped")
	}
}
