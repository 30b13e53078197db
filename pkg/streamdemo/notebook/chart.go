package notebook

import (
	"github.com/streamdemo/streamdemo/pkg/streamdemo"

	"fmt"
	"html"
	"strings"
	"time"
)

// Series is one stream's timing, labelled for ChartSVG.
type Series struct {
	Label  string
	Timing streamdemo.Timing
}

// Chart geometry, in SVG units.
const (
	panelW, panelH           = 420, 240
	marginL, marginR         = 60, 20
	marginT, marginB         = 30, 40
	plotW, plotH     float64 = panelW - marginL - marginR, panelH - marginT - marginB
)

// ChartSVG draws, for each series, when every chunk arrived (x, seconds)
// against the characters received so far (y): one dot per chunk, with the
// time to first chunk and the total marked. Several series are drawn side by
// side on the same scales, so they can be compared at a glance.
func ChartSVG(series ...Series) string {
	maxT, maxC := time.Second, 1
	for _, s := range series {
		maxT = max(maxT, s.Timing.Total)
		for _, a := range s.Timing.Arrivals {
			maxT, maxC = max(maxT, a.At), max(maxC, a.Chars)
		}
	}
	var b strings.Builder
	w := panelW * max(len(series), 1)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`, w, panelH, w, panelH)
	for i, s := range series {
		fmt.Fprintf(&b, `<g class="panel" transform="translate(%d,0)">`, i*panelW)
		panel(&b, s, maxT, maxC)
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func panel(b *strings.Builder, s Series, maxT time.Duration, maxC int) {
	x := func(d time.Duration) float64 { return marginL + plotW*d.Seconds()/maxT.Seconds() }
	y := func(c int) float64 { return marginT + plotH*(1-float64(c)/float64(maxC)) }
	fmt.Fprintf(b, `<text x="%d" y="18" font-weight="bold">%s</text>`, marginL, html.EscapeString(s.Label))
	fmt.Fprintf(b, `<path d="M%d %d V%.0f H%.0f" fill="none" stroke="#888"/>`, marginL, marginT, marginT+plotH, marginL+plotW)
	fmt.Fprintf(b, `<text x="%.0f" y="%d" text-anchor="middle">seconds (0 to %.1f)</text>`, marginL+plotW/2, panelH-8, maxT.Seconds())
	fmt.Fprintf(b, `<text transform="translate(14,%.0f) rotate(-90)" text-anchor="middle">characters (to %d)</text>`, marginT+plotH/2, maxC)
	t := s.Timing
	for _, mark := range []struct {
		class string
		at    time.Duration
		label string
	}{{"first-chunk", t.FirstChunk, "first chunk"}, {"total", t.Total, "total"}} {
		if mark.at <= 0 {
			continue
		}
		fmt.Fprintf(b, `<line class="%s" x1="%.1f" x2="%.1f" y1="%d" y2="%.0f" stroke="#c60" stroke-dasharray="4 3"/>`, mark.class, x(mark.at), x(mark.at), marginT, marginT+plotH)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" fill="#c60" text-anchor="%s">%s %.2f s</text>`, x(mark.at), marginT-4, anchor(mark.class), mark.label, mark.at.Seconds())
	}
	for _, a := range t.Arrivals {
		fmt.Fprintf(b, `<circle class="chunk" cx="%.1f" cy="%.1f" r="2.5" fill="#1f77b4"/>`, x(a.At), y(a.Chars))
	}
}

func anchor(class string) string {
	if class == "total" {
		return "end"
	}
	return "start"
}
