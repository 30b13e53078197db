package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

var askCommand = command{
	name: "ask",
	args: `"question"`,
	does: "Streams an answer in the terminal: the text on stdout, the sources and a summary on stderr.",
	setup: func(fs *flag.FlagSet) func([]string) error {
		q := questionFlags(fs, "perplexity, openai, compatible, ollama or practice")
		cfg := &q.cfg
		var temperature optional[float32]
		var seed optional[int]
		fs.Var(&temperature, "temperature", "sampling temperature `T`; 0 makes answers repeatable (default: the server's)")
		fs.Var(&seed, "seed", "random seed `N`, for servers that support it (default: none)")
		maxTokens := fs.Int("max-tokens", 0, "longest answer in tokens `N` (default: the server's)")
		whole := fs.Bool("whole", false, "ask for the whole answer at once instead of streaming it")
		fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", 0, "longest silence between chunks before the stream counts as stalled, a `DURATION` (default 90s)")
		fs.DurationVar(&cfg.FirstByteTimeout, "first-byte-timeout", 0, "longest wait for the server's first byte, a `DURATION` (default 2m)")
		fs.IntVar(&cfg.Retries, "retries", 0, "retries `N` for a 429, 5xx or refused connection before any text (default 2; -1 for none)")
		return func(args []string) error {
			messages, err := q.messages(args)
			if err != nil {
				return err
			}
			ctx, stop := untilInterrupted()
			defer stop()
			req := streamdemo.Request{Messages: messages, MaxTokens: *maxTokens, Whole: *whole, Temperature: temperature.v, Seed: seed.v}
			client, err := streamdemo.NewClient(*cfg)
			if err != nil {
				return err
			}
			stream := client.Stream(ctx, req)
			if !printAnswer(stream) {
				return stream.Err()
			}
			report(os.Stderr, stream)
			return stream.Err()
		}
	},
}

// optional is a number flag that stays nil until given: left out, the
// server chooses.
type optional[T float32 | int] struct{ v *T }

func (o *optional[T]) String() string {
	if o == nil || o.v == nil {
		return ""
	}
	return fmt.Sprint(*o.v)
}

func (o *optional[T]) Set(s string) error {
	var v T
	switch p := any(&v).(type) {
	case *int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return strconv.ErrSyntax
		}
		*p = n
	case *float32:
		f, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return strconv.ErrSyntax
		}
		*p = float32(f)
	}
	o.v = &v
	return nil
}
