package main

import (
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// report prints what follows an answer in the terminal: the numbered sources,
// each title with its URL beneath, then the one-line summary.
func report(w io.Writer, stream *streamdemo.Stream) {
	if sources := stream.Sources(); len(sources) > 0 {
		fmt.Fprintln(w, "\nSources:")
		for _, s := range sources {
			title := terminalSafe(s.Title)
			if title == "" {
				title = "(untitled)"
			}
			fmt.Fprintf(w, "  [%d] %s\n", s.Number, title)
			if u := terminalSafe(s.URL); u != "" {
				fmt.Fprintf(w, "      %s\n", u)
			}
		}
	}
	fmt.Fprintln(w, "\n"+stream.Summary())
}

// terminalSafe drops control characters (escape sequences a hostile server
// could send to move the cursor or retitle the terminal) and folds the text
// onto one line.
func terminalSafe(s string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t' || r == '\r':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)), " ")
}
