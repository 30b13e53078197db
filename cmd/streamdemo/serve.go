package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/streamdemo/streamdemo/internal/practice"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", streamdemo.PracticeAddr, "address to listen on")
	opts := practice.DefaultOptions
	fs.DurationVar(&opts.FirstToken, "first-token", opts.FirstToken, "delay before the first token")
	fs.Float64Var(&opts.TokensPerSecond, "tps", opts.TokensPerSecond, "tokens per second (0: as fast as possible)")
	fs.Parse(args)
	opts.Log = os.Stderr
	fmt.Fprintf(os.Stderr, "practice server on http://%s/v1 (chat completions at /v1/chat/completions, Agent API at /v1/responses); fault models: fault/%s\n", *addr, strings.Join(practice.Faults, ", fault/"))
	return http.ListenAndServe(*addr, practice.New(opts))
}
