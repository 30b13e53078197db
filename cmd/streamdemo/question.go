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

// questionFlags are the flags ask and record share: where to ask, and what.
type questionFlags struct {
	cfg    streamdemo.Config
	system string
}

// newQuestionFlags makes command name's flag set with the shared flags
// registered; providers lists the provider names the command takes.
func newQuestionFlags(name, providers string) (*flag.FlagSet, *questionFlags) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	q := &questionFlags{}
	q.cfg.Notify = func(m string) { fmt.Fprintln(os.Stderr, "streamdemo: "+m) } // say each retry
	q.register(fs, providers)
	return fs, q
}

// register adds the shared flags to fs; providers lists the provider names the command takes.
func (q *questionFlags) register(fs *flag.FlagSet, providers string) {
	fs.StringVar(&q.cfg.Provider, "provider", "", providers+" (default: from .env / environment)")
	fs.StringVar(&q.cfg.BaseURL, "base-url", "", "server base URL ending in /v1 (default: the provider's)")
	fs.StringVar(&q.cfg.Model, "model", "", "model or preset name (default: the provider's)")
	fs.StringVar(&q.system, "system", "", "system prompt")
}

// parse reads the flags and the question (printing the usage and exiting 2
// when there is none), loads .env and returns the messages to send.
func (q *questionFlags) parse(fs *flag.FlagSet, args []string) ([]streamdemo.Message, error) {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: streamdemo %s [flags] \"question\"\n", fs.Name())
		fs.PrintDefaults()
	}
	fs.Parse(args)
	question := strings.Join(fs.Args(), " ")
	if question == "" {
		fs.Usage()
		os.Exit(2)
	}
	if _, err := streamdemo.LoadEnv(); err != nil {
		return nil, err
	}
	var messages []streamdemo.Message
	if q.system != "" {
		messages = append(messages, streamdemo.Message{Role: "system", Content: q.system})
	}
	return append(messages, streamdemo.Message{Role: "user", Content: question}), nil
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
