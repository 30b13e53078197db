package main

import (
	"os"

	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

func ask(args []string) error {
	fs, q := newQuestionFlags("ask", "perplexity, openai, compatible, ollama or practice")
	cfg := &q.cfg
	temperature := fs.Float64("temperature", -1, "sampling temperature; 0 makes answers repeatable (default: the server's)")
	seed := fs.Int("seed", -1, "random seed, for servers that support it (default: none)")
	maxTokens := fs.Int("max-tokens", 0, "longest answer in tokens (default: the server's)")
	whole := fs.Bool("whole", false, "ask for the whole answer at once instead of streaming it")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", 0, "longest silence between chunks before the stream counts as stalled (default 90s)")
	fs.DurationVar(&cfg.FirstByteTimeout, "first-byte-timeout", 0, "longest wait for the server's first byte (default 2m)")
	fs.IntVar(&cfg.Retries, "retries", 0, "retries for a 429, 5xx or refused connection before any text (default 2; -1 for none)")
	messages, err := q.parse(fs, args)
	if err != nil {
		return err
	}

	ctx, stop := untilInterrupted()
	defer stop()
	req := streamdemo.Request{Messages: messages, MaxTokens: *maxTokens, Whole: *whole}
	if *temperature >= 0 {
		t := float32(*temperature)
		req.Temperature = &t
	}
	if *seed >= 0 {
		req.Seed = seed
	}
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
