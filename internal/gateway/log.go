package gateway

import (
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/streamdemo/streamdemo/internal/redact"
)

// maxLogLine bounds a line of the gateway's log: no line grows with what
// a request holds.
const maxLogLine = 2048

// logger writes the gateway's log: one line per answer and per problem,
// the key hidden and each line cut to maxLogLine.
type logger struct {
	l    *log.Logger
	hide *redact.Key
}

// newLogger logs to w (nil: nowhere), hiding what hide hides.
func newLogger(w io.Writer, hide *redact.Key) logger {
	if w == nil {
		return logger{l: log.New(io.Discard, "", 0), hide: hide}
	}
	return logger{l: log.New(w, "gateway ", log.LstdFlags), hide: hide}
}

func (lg logger) logf(format string, args ...any) {
	lg.l.Print(cutLine(lg.hide.String(fmt.Sprintf(format, args...))))
}

// errorLog is where the proxy and the server log their own errors.
func (lg logger) errorLog() *log.Logger {
	return log.New(&redactingWriter{w: lg.l.Writer(), hide: lg.hide}, "gateway proxy ", log.LstdFlags)
}

// cutLine is line cut to maxLogLine bytes, saying so.
func cutLine(line string) string {
	if len(line) <= maxLogLine {
		return line
	}
	return strings.ToValidUTF8(line[:maxLogLine], "") + fmt.Sprintf(" [%d bytes more]", len(line)-maxLogLine)
}

// redactingWriter keeps the key out of what the proxy and the server log,
// each line cut to maxLogLine.
type redactingWriter struct {
	w    io.Writer
	hide *redact.Key
}

func (r *redactingWriter) Write(p []byte) (int, error) {
	line := strings.TrimSuffix(cutLine(r.hide.String(string(p))), "\n") + "\n"
	if _, err := io.WriteString(r.w, line); err != nil {
		return 0, err
	}
	return len(p), nil
}
