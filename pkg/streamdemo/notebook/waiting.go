package notebook

import (
	"github.com/streamdemo/streamdemo/pkg/streamdemo"

	"fmt"
	"net/url"
	"time"
)

// slowWait is how long Show waits for a first chunk before it says why the
// wait may be long.
const slowWait = 3 * time.Second

// waitingLine is what Show displays before the first chunk, `at` after the
// request was sent: how long it has waited, and past slowWait why.
func waitingLine(at time.Duration, why string) string {
	line := fmt.Sprintf("⏳ *Waiting for the first chunk… %d s*", int(at.Round(time.Second).Seconds()))
	if at >= slowWait && why != "" {
		line += "  \n" + why
	}
	return line
}

// slowReason says in one line why the first chunk from a provider may take
// a while: a web search, a local model loading, or a busy server.
func slowReason(provider, baseURL string) string {
	switch {
	case provider == streamdemo.Perplexity:
		return "Perplexity searches the web before it starts to answer; that often takes several seconds."
	case provider == streamdemo.Practice:
		return "The practice server waits as Perplexity does while it searches the web (`streamdemo serve --first-token`)."
	case provider == streamdemo.Ollama || isLocal(baseURL):
		return "A local model loads into memory on its first question (a cold start) and then runs on this machine's CPU: the first answer can take a while."
	}
	return "The server has not started its answer yet: a busy service or a reasoning model can take a while."
}

// isLocal reports whether raw points at this machine.
func isLocal(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return true
	}
	return false
}
