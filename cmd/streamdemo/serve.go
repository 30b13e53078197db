package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/streamdemo/streamdemo/internal/practice"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", streamdemo.PracticeAddr, "address to listen on")
	opts := practice.DefaultOptions
	fs.DurationVar(&opts.FirstToken, "first-token", opts.FirstToken, "delay before the first token")
	fs.Float64Var(&opts.TokensPerSecond, "tps", opts.TokensPerSecond, "tokens per second (0: as fast as possible)")
	fs.StringVar(&opts.Token, "token", os.Getenv("STREAMDEMO_PRACTICE_TOKEN"),
		"require this token as the API key (needed to listen beyond this machine); default $STREAMDEMO_PRACTICE_TOKEN, which keeps it out of the process list")
	fs.Parse(args)
	if !isLoopback(*addr) && opts.Token == "" {
		return fmt.Errorf("The practice server listens beyond this machine only with a token: add --token SECRET (students then set STREAMDEMO_API_KEY=SECRET), or use --addr 127.0.0.1:PORT.")
	}
	opts.Log = os.Stderr
	fmt.Fprintf(os.Stderr, "practice server on http://%s/v1 (chat completions at /v1/chat/completions, Agent API at /v1/responses); fault models: fault/%s\n", *addr, strings.Join(practice.Faults, ", fault/"))
	srv := &http.Server{Addr: *addr, Handler: practice.New(opts), ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}

// isLoopback reports whether addr (host:port) only listens on this machine.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
