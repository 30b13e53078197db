package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/streamdemo/streamdemo/internal/capture"
	"github.com/streamdemo/streamdemo/internal/practice"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// tokenEnv holds the practice server's token, as an alternative to --token-file.
const tokenEnv = "STREAMDEMO_PRACTICE_TOKEN"

var serveCommand = command{
	name: "serve",
	does: "Runs the practice server, an offline stand-in for Perplexity and OpenAI.",
	setup: func(fs *flag.FlagSet) func([]string) error {
		addr := fs.String("addr", streamdemo.PracticeAddr, "`HOST:PORT` to listen on (port 0: a free one), or unix:PATH for a socket only this account opens")
		opts := practice.DefaultOptions
		fs.DurationVar(&opts.FirstToken, "first-token", opts.FirstToken, "delay before the first token, a `DURATION`")
		fs.Float64Var(&opts.TokensPerSecond, "tps", opts.TokensPerSecond, "tokens per second `N` (0: as fast as possible)")
		token := fs.String("token", "", "require this `TOKEN` as the API key (deprecated: every user of the machine sees it in the process list; use --token-file or "+tokenEnv+")")
		tokenFile := fs.String("token-file", "", "require the token in this `FILE` as the API key (needed to listen beyond this machine); "+tokenEnv+" works too")
		fs.StringVar(&opts.ReplayDir, "replay", "", "serve each recording NAME.jsonl (or NAME.chunks.txt) in this folder `DIR` as model replay/NAME")
		fs.Float64Var(&opts.ReplaySpeed, "replay-speed", 1, "replay recordings `N` times faster than recorded")
		return func(args []string) error {
			if err := wantNames(args, 0, "no arguments, only flags"); err != nil {
				return err
			}
			var err error
			if opts.Token, err = readToken(*token, *tokenFile); err != nil {
				return err
			}
			if !isLoopback(*addr) && opts.Token == "" {
				return fmt.Errorf("the practice server listens beyond this machine only with a token: put it in a file and add --token-file FILE (or set %s), students then set STREAMDEMO_API_KEY to it; or use --addr 127.0.0.1:PORT", tokenEnv)
			}
			if opts.ReplayDir != "" {
				if st, err := os.Stat(opts.ReplayDir); err != nil || !st.IsDir() {
					return fmt.Errorf("the replay folder %s cannot be read: give a folder holding NAME.jsonl recordings (made by streamdemo record)", opts.ReplayDir)
				}
			}
			opts.Log = os.Stderr
			ln, err := listen(*addr)
			if err != nil {
				return fmt.Errorf("the practice server cannot listen on %s (%w): stop what uses it, or give another --addr (port 0 picks a free one)", *addr, err)
			}
			// The address bound, so that --addr 127.0.0.1:0 says which port it got.
			fmt.Fprintf(os.Stderr, "practice server on %s/v1 (chat completions at /v1/chat/completions, but for Perplexity's models the retired endpoint's 403; Agent API at /v1/agent and /v1/responses); fault models: fault/%s; the real Perplexity capture: model replay/%s\n",
				where(ln), strings.Join(practice.Faults, ", fault/"), capture.RealStream)
			srv := &http.Server{Handler: practice.New(opts), ReadHeaderTimeout: 10 * time.Second}
			return srv.Serve(ln)
		}
	},
}

// readToken takes the token from --token (with a warning), --token-file or
// the environment, in that order.
func readToken(flagValue, file string) (string, error) {
	switch {
	case flagValue != "":
		fmt.Fprintf(os.Stderr, "streamdemo: warning: --token shows the token to every user of this machine (ps); use --token-file FILE or %s instead\n", tokenEnv)
		return flagValue, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("the token file cannot be read (%w): check the path given to --token-file", err)
		}
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
		return "", fmt.Errorf("the token file %s is empty: write the token in it, on one line", file)
	}
	return strings.TrimSpace(os.Getenv(tokenEnv)), nil
}

// isLoopback reports whether addr (host:port, or unix:PATH) only listens
// on this machine.
func isLoopback(addr string) bool {
	if strings.HasPrefix(addr, unixPrefix) {
		return true
	}
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
