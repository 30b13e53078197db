package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// question is what ask and record share: where to ask, and what.
type question struct {
	cfg    streamdemo.Config
	system string
}

// questionFlags defines the flags ask and record share on fs; providers
// lists the provider names the command takes.
func questionFlags(fs *flag.FlagSet, providers string) *question {
	q := &question{}
	q.cfg.Notify = func(m string) { fmt.Fprintln(os.Stderr, "streamdemo: "+m) } // say each retry
	whereFlags(fs, &q.cfg, providers)
	fs.StringVar(&q.system, "system", "", "system prompt `TEXT`")
	return q
}

// whereFlags defines on fs the flags that say where to ask, the fields of
// cfg they set; providers lists the provider names the command takes.
func whereFlags(fs *flag.FlagSet, cfg *streamdemo.Config, providers string) {
	fs.StringVar(&cfg.Provider, "provider", "", "provider `NAME`: "+providers+" (default: from .env / environment)")
	fs.StringVar(&cfg.BaseURL, "base-url", "", "server base `URL` ending in /v1 (default: the provider's)")
	fs.StringVar(&cfg.Model, "model", "", "model or preset `NAME` (default: the provider's)")
}

// messages loads .env and returns the messages that ask the question in
// args; no question is a usage error.
func (q *question) messages(args []string) ([]streamdemo.Message, error) {
	text := strings.Join(args, " ")
	if strings.TrimSpace(text) == "" {
		return nil, usagef("no question given")
	}
	if _, err := streamdemo.LoadEnv(); err != nil {
		return nil, err
	}
	var messages []streamdemo.Message
	if q.system != "" {
		messages = append(messages, streamdemo.Message{Role: "system", Content: q.system})
	}
	return append(messages, streamdemo.Message{Role: "user", Content: text}), nil
}

// untilInterrupted is a context that ends when the user presses Ctrl-C: the
// stream then stops at once and keeps what arrived.
func untilInterrupted() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// printAnswer prints the answer as it arrives and a newline after it, and
// reports whether any text arrived; the stream's Err says why it ended.
func printAnswer(stream *streamdemo.Stream) bool {
	for chunk := range stream.Chunks() {
		fmt.Print(chunk.Text)
	}
	if stream.Timing().Chunks == 0 {
		return false
	}
	fmt.Println()
	return true
}
