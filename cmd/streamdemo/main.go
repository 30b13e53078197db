// Command streamdemo asks a model a question and streams the answer to the
// terminal, or runs the practice server that stands in for LLM services.
//
//	streamdemo ask [--provider NAME] [--base-url URL] [--model NAME] [--system TEXT] "question"
//	streamdemo record [--provider NAME] [--model NAME] [--out NAME.jsonl] "question"
//	streamdemo serve [--addr HOST:PORT|unix:PATH] [--first-token 600ms] [--tps 40] [--replay DIR] [--replay-speed N] [--token-file FILE]
//	streamdemo gateway serve|token|usage|limits|pause|resume|price ...
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

const usage = `usage:
  streamdemo ask [--provider NAME] [--base-url URL] [--model NAME] [--system TEXT] "question"
  streamdemo record [--provider NAME] [--model NAME] [--out NAME.jsonl] "question"
  streamdemo serve [--addr HOST:PORT|unix:PATH] [--first-token DURATION] [--tps N] [--replay DIR] [--replay-speed N] [--token-file FILE]
  streamdemo gateway serve --addr HOST:PORT --upstream URL --key-file FILE --data DIR
  streamdemo gateway token add NAME --data DIR [--teacher] [--tokens-per-day N] [--usd-per-day X]
  streamdemo gateway token revoke NAME | usage [--json] | limits | pause | resume | price  (--data DIR)
Run "streamdemo ask -h", "streamdemo record -h", "streamdemo serve -h" or "streamdemo gateway help" for the flags.`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "ask":
		err = ask(os.Args[2:])
	case "record":
		err = record(os.Args[2:])
	case "serve":
		err = serve(os.Args[2:])
	case "gateway":
		err = gatewayCmd(os.Args[2:])
	case "-h", "-help", "--help", "help":
		fmt.Println(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "streamdemo: unknown command %q\n%s\n", os.Args[1], usage)
		os.Exit(2)
	}
	if errors.Is(err, errShown) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, streamdemo.Hint(err))
		os.Exit(1)
	}
}
