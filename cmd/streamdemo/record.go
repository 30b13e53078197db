package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/streamdemo/streamdemo/internal/practice"
	"github.com/streamdemo/streamdemo/internal/redact"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

var recordCommand = command{
	name: "record",
	args: `"question"`,
	does: "Streams an Agent API answer and saves its events as they arrived, for serve --replay.",
	setup: func(fs *flag.FlagSet) func([]string) error {
		q := questionFlags(fs, "perplexity or practice")
		out := fs.String("out", "recording.jsonl", "where to save the events, a `FILE` NAME.jsonl (the times in NAME.times beside it); serve --replay on its folder serves it as model replay/NAME")
		return func(args []string) error { return record(q, *out, args) }
	},
}

// record streams an Agent API answer and saves every event as it arrived:
// out (one JSON event per line, the format of the published capture) and
// out's .times (each event's arrival in milliseconds since the request).
// Only the events are written: never the key, never a request header.
func record(q *question, out string, args []string) error {
	messages, err := q.messages(args)
	if err != nil {
		return err
	}
	if !strings.HasSuffix(out, ".jsonl") {
		return fmt.Errorf("the recording must be saved as NAME.jsonl (got %s): the replay serves it as model replay/NAME", out)
	}
	var events, times bytes.Buffer
	hide := redact.New(os.Getenv("PERPLEXITY_API_KEY"))
	var start time.Time
	q.cfg.OnEvent = func(ev []byte) {
		ev = hide.Bytes(ev) // an event never holds the key; should one, it is not written
		if events.Len() > 0 {
			events.WriteByte('\n')
		}
		events.Write(ev)
		fmt.Fprintf(&times, "%.3f\n", float64(time.Since(start).Microseconds())/1000)
	}
	client, err := streamdemo.NewClient(q.cfg)
	if err != nil {
		return err
	}
	if client.Provider() != streamdemo.Perplexity && client.Provider() != streamdemo.Practice {
		return fmt.Errorf("a recording holds Agent API streams only: use --provider perplexity (or practice), not %s", client.Provider())
	}
	ctx, stop := untilInterrupted()
	defer stop()
	start = time.Now()
	stream := client.Stream(ctx, streamdemo.Request{Messages: messages})
	printAnswer(stream)
	failure := stream.Err()
	if events.Len() == 0 {
		return failure
	}
	timesFile := strings.TrimSuffix(out, ".jsonl") + practice.TimesExt
	err = writeFile(out, events.Bytes())
	if err == nil {
		err = writeFile(timesFile, times.Bytes())
	}
	if err != nil {
		return fmt.Errorf("the recording could not be saved (%w): check that the folder of %s exists and is writable", err, out)
	}
	name := strings.TrimSuffix(filepath.Base(out), ".jsonl")
	fmt.Fprintf(os.Stderr, "recorded %d events to %s (times in %s); replay: streamdemo serve --replay %s, model replay/%s\n",
		strings.Count(events.String(), "\n")+1, out, timesFile, filepath.Dir(out), name)
	return failure
}

// writeFile writes through a temporary file, so a crash never leaves half a recording.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
