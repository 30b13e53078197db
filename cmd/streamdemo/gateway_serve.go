package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/streamdemo/streamdemo/internal/gateway"
	"github.com/streamdemo/streamdemo/internal/ledger"
)

var gatewayServeCommand = command{
	name: "gateway serve",
	does: "Runs the class gateway: one upstream key, a token and a budget per student.",
	setup: func(fs *flag.FlagSet) func([]string) error {
		addr := fs.String("addr", "", "`HOST:PORT` to listen on, or unix:PATH for a socket only this account opens (default 127.0.0.1:8790, or JUPYTERHUB_SERVICE_URL's as a hub service)")
		upstream := fs.String("upstream", "", "the upstream's base `URL`, ending in /v1 (or STREAMDEMO_GATEWAY_UPSTREAM)")
		upstreamSocket := fs.String("upstream-socket", "", "a Unix socket's `PATH` to reach the upstream through, whatever host --upstream names (or STREAMDEMO_GATEWAY_UPSTREAM_SOCKET)")
		keyFile := fs.String("key-file", "", "`FILE` holding the upstream key, owner-only (or STREAMDEMO_GATEWAY_KEY_FILE; or the key in "+gateway.KeyEnv+"; never on the command line)")
		agentPath := fs.String("agent-path", "", "the upstream's `PATH` of the Agent API, e.g. v1/agent for one without v1/responses (or STREAMDEMO_GATEWAY_AGENT_PATH); none: the student's path")
		agentOnly := fs.Bool("agent-only", false, "the upstream answers only the Agent API: answer chat completions through it (or STREAMDEMO_GATEWAY_AGENT_ONLY=1; always so for api.perplexity.ai)")
		models := fs.String("models", "", "the models and presets allowed until the teacher sets a list, a comma-separated `LIST` (or "+gateway.ModelsEnv+"); none: any model")
		place := ledgerFlags(fs)
		return func(args []string) error {
			if err := wantNames(args, 0, "no arguments, only flags"); err != nil {
				return err
			}
			*upstream = cmp.Or(*upstream, os.Getenv("STREAMDEMO_GATEWAY_UPSTREAM"))
			*upstreamSocket = cmp.Or(*upstreamSocket, os.Getenv("STREAMDEMO_GATEWAY_UPSTREAM_SOCKET"))
			*keyFile = cmp.Or(*keyFile, os.Getenv("STREAMDEMO_GATEWAY_KEY_FILE"))
			*agentPath = cmp.Or(*agentPath, os.Getenv("STREAMDEMO_GATEWAY_AGENT_PATH"))
			*models = cmp.Or(*models, os.Getenv(gateway.ModelsEnv))
			*agentOnly = *agentOnly || os.Getenv("STREAMDEMO_GATEWAY_AGENT_ONLY") == "1"
			if *upstream == "" {
				return errors.New("no upstream: pass --upstream URL (e.g. https://api.perplexity.ai/v1 or http://127.0.0.1:11434/v1)")
			}
			key, err := gateway.LoadKey(*keyFile)
			if errors.Is(err, gateway.ErrKeyFileOpen) {
				return fmt.Errorf(`%w: run "chmod 600 %s" and start the gateway again`, err, *keyFile)
			}
			if err != nil {
				return err
			}
			hub := gateway.HubFromEnv()
			prefix := "/"
			if hub != nil {
				prefix = hub.Prefix
				if *addr == "" {
					if *addr, err = hub.ListenAddr(); err != nil {
						return err
					}
				}
			}
			*addr = cmp.Or(*addr, "127.0.0.1:8790")
			l, err := place.open()
			if err != nil {
				return err
			}
			defer l.Close()
			secret, err := l.CookieSecret(place.dir())
			if err != nil {
				return err
			}
			gw, err := gateway.New(gateway.Config{Upstream: *upstream, UpstreamSocket: *upstreamSocket, AgentPath: *agentPath, AgentOnly: *agentOnly, Key: key, Ledger: l, Prefix: prefix, Hub: hub,
				CookieSecret: secret, Log: os.Stderr, Models: ledger.ParseModels(*models)})
			if err != nil {
				return err
			}
			ln, err := listen(*addr)
			if err != nil {
				return fmt.Errorf("cannot listen on %s: %w", *addr, err)
			}
			upstreamNote := *upstream
			if *upstreamSocket != "" {
				upstreamNote += " through " + unixPrefix + *upstreamSocket
			}
			announce(ln, prefix, hub, upstreamNote, key != "")
			return serveUntilSignal(gw, ln)
		}
	},
}

// announce says on stderr where the gateway listens, and warns when it
// listens beyond this machine over plain http.
func announce(ln net.Listener, prefix string, hub *gateway.Hub, upstream string, withKey bool) {
	mode := "standalone: students use tokens from \"streamdemo gateway token add\""
	if hub != nil {
		mode = "JupyterHub service " + hub.Service + ": students use their hub token"
	}
	keyNote := "with the upstream key"
	if !withKey {
		keyNote = "without an upstream key"
	}
	at := where(ln)
	fmt.Fprintf(os.Stderr, "class gateway on %s%s (%s); base URL %s%sv1, teacher's page %s%s; upstream %s %s\n",
		at, prefix, mode, at, prefix, at, prefix, upstream, keyNote)
	if hub == nil && ln.Addr().Network() == "tcp" && !isLoopback(ln.Addr().String()) {
		fmt.Fprintln(os.Stderr, "class gateway: it listens beyond this machine over plain http, so students' tokens cross the network unencrypted; on a network you do not trust, put it behind HTTPS.")
	}
}

// serveUntilSignal serves gw on ln until SIGINT or SIGTERM, then finishes
// the answers in flight (5 s at most). It handles the signals itself: a hub
// may start services with SIGINT ignored.
func serveUntilSignal(gw *gateway.Gateway, ln net.Listener) error {
	srv := gw.Server()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case sig := <-stop:
		fmt.Fprintf(os.Stderr, "class gateway: %s, finishing the answers in flight (5s at most)\n", strings.ToLower(sig.String()))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		srv.Close()
		return nil
	}
}
