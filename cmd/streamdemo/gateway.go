package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/streamdemo/streamdemo/internal/gateway"
)

const gatewayUsage = `usage:
  streamdemo gateway serve [--addr HOST:PORT|unix:PATH] --upstream URL [--upstream-socket PATH] [--key-file FILE] [--models LIST] --data DIR
  streamdemo gateway token add NAME --data DIR [--teacher] [LIMITS]   prints the new token as the last line
  streamdemo gateway token revoke NAME --data DIR
  streamdemo gateway usage --data DIR [--json]
  streamdemo gateway limits [NAME] --data DIR LIMITS                   no NAME: the class defaults
  streamdemo gateway pause|resume [NAME | --all] --data DIR
  streamdemo gateway price MODEL --input USD --output USD --data DIR   USD per million tokens; MODEL "*" for any other
  streamdemo gateway models [--set A,B | --default] --data DIR         the models and presets students may use
LIMITS: --tokens-per-day N --usd-per-day X --tokens-total N --usd-total X --rpm N --concurrent N (0: no limit)
--models LIST (or STREAMDEMO_GATEWAY_MODELS): the models and presets (e.g. sonar-pro,pro-search) allowed until the
teacher sets a list with "gateway models --set"; with neither, a standalone gateway allows any model.
--agent-path v1/agent (or STREAMDEMO_GATEWAY_AGENT_PATH): for an upstream whose Agent API answers there only, what
students send to v1/agent or v1/responses goes there.
Perplexity's models and presets have default prices (Perplexity's public pricing); change them with "gateway price".
Every command takes --database postgres://user@host/dbname (or STREAMDEMO_GATEWAY_DATABASE) instead of --data DIR:
the ledger in PostgreSQL, shared by several gateways (the password in the variable or ~/.pgpass, never on the command line).
The upstream key comes from --key-file (owner-only) or STREAMDEMO_UPSTREAM_KEY, never from the command line.`

// cliWho is how switches made from the command line appear in the log.
const cliWho = "command line"

// errShown marks an error whose sentence the flag package already printed:
// the command exits with status 2 and prints nothing more.
var errShown = errors.New("the flags were refused (the flag package said why)")

// gatewayCmd runs a gateway command; what it returns is a sentence.
func gatewayCmd(args []string) error { return gatewaySentence(gatewayRun(args)) }

func gatewayRun(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", gatewayUsage)
	}
	rest := args[1:]
	switch args[0] {
	case "serve":
		return gatewayServe(rest)
	case "token":
		if len(rest) > 0 && rest[0] == "add" {
			return gatewayTokenAdd(rest[1:])
		}
		if len(rest) > 0 && rest[0] == "revoke" {
			return withLedger("token revoke", rest[1:], 1, nil, func(l *gateway.Ledger, names []string) error {
				if err := l.RevokeToken(names[0], cliWho); err != nil {
					return err
				}
				fmt.Printf("The token of %s no longer works; their usage stays in the ledger.\n", names[0])
				return nil
			})
		}
		return fmt.Errorf("streamdemo gateway token: use \"token add NAME\" or \"token revoke NAME\".\n%s", gatewayUsage)
	case "usage":
		return gatewayUsageCmd(rest)
	case "limits":
		return gatewayLimits(rest)
	case "pause", "resume":
		return gatewayPause(args[0] == "pause", rest)
	case "price":
		return gatewayPrice(rest)
	case "models":
		return gatewayModels(rest)
	case "-h", "-help", "--help", "help":
		fmt.Println(gatewayUsage)
		return nil
	}
	return fmt.Errorf("streamdemo gateway: unknown command %q\n%s", args[0], gatewayUsage)
}

// parseAll parses flags placed before or after the positional arguments
// ("token add ana --data class" reads as well as "token add --data class ana").
func parseAll(fs *flag.FlagSet, args []string) ([]string, error) {
	var names []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return names, nil
		}
		names = append(names, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// ledgerFlags are --data and --database, defaulting to
// STREAMDEMO_GATEWAY_DATA and STREAMDEMO_GATEWAY_DATABASE.
type ledgerFlags struct {
	fs             *flag.FlagSet
	data, database *string
}

func dataFlag(fs *flag.FlagSet) ledgerFlags {
	return ledgerFlags{fs: fs,
		data: fs.String("data", os.Getenv("STREAMDEMO_GATEWAY_DATA"), "folder of the gateway's SQLite ledger (or STREAMDEMO_GATEWAY_DATA)"),
		database: fs.String("database", os.Getenv(databaseEnv),
			"postgres://user@host/dbname: keep the ledger in PostgreSQL, shared by several gateways (or "+databaseEnv+")")}
}

// databaseEnv names the PostgreSQL ledger without putting it on a command line.
const databaseEnv = "STREAMDEMO_GATEWAY_DATABASE"

// open opens the ledger the flags name. A password must not be on the
// command line, where every account on the machine can read it.
func (f ledgerFlags) open() (*gateway.Ledger, error) {
	onCommandLine := false
	f.fs.Visit(func(fl *flag.Flag) { onCommandLine = onCommandLine || fl.Name == "database" })
	if onCommandLine && hasPassword(*f.database) {
		return nil, fmt.Errorf("The --database URL holds a password, which any account can read on a command line: " +
			"put the URL in " + databaseEnv + " or the password in ~/.pgpass instead.")
	}
	return gateway.Open(*f.data, *f.database)
}

func hasPassword(database string) bool {
	u, err := url.Parse(database)
	if err != nil {
		return strings.Contains(database, "password")
	}
	_, set := u.User.Password()
	return set || u.Query().Has("password")
}

// withLedger parses args (wanting exactly n names), opens the ledger and runs fn.
func withLedger(cmd string, args []string, n int, setup func(*flag.FlagSet), fn func(*gateway.Ledger, []string) error) error {
	fs := flag.NewFlagSet("gateway "+cmd, flag.ContinueOnError)
	data := dataFlag(fs)
	if setup != nil {
		setup(fs)
	}
	names, err := parseAll(fs, args)
	if err != nil {
		return errShown
	}
	if len(names) != n && n >= 0 {
		return fmt.Errorf("streamdemo gateway %s takes %d name(s), got %d: %q.\n%s", cmd, n, len(names), names, gatewayUsage)
	}
	l, err := data.open()
	if err != nil {
		return err
	}
	defer l.Close()
	return fn(l, names)
}

// limitFlags adds the LIMITS flags; the returned func gives the ones set.
func limitFlags(fs *flag.FlagSet) func() gateway.Limits {
	tpd := fs.Int64("tokens-per-day", 0, "tokens a day (0: no limit)")
	upd := fs.Float64("usd-per-day", 0, "US dollars a day (0: no limit)")
	tt := fs.Int64("tokens-total", 0, "tokens in total (0: no limit)")
	ut := fs.Float64("usd-total", 0, "US dollars in total (0: no limit)")
	rpm := fs.Int64("rpm", 0, "requests per minute (0: no limit)")
	conc := fs.Int64("concurrent", 0, "answers streaming at once (0: no limit)")
	return func() gateway.Limits {
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		return gateway.Limits{
			TokensPerDay:      ifGiven(given["tokens-per-day"], tpd),
			USDPerDay:         ifGiven(given["usd-per-day"], upd),
			TokensTotal:       ifGiven(given["tokens-total"], tt),
			USDTotal:          ifGiven(given["usd-total"], ut),
			RequestsPerMinute: ifGiven(given["rpm"], rpm),
			ConcurrentStreams: ifGiven(given["concurrent"], conc),
		}
	}
}

// ifGiven is v for a flag given on the command line, else nil: a limit not set.
func ifGiven[T any](given bool, v *T) *T {
	if given {
		return v
	}
	return nil
}

func gatewayTokenAdd(args []string) error {
	var teacher *bool
	var limits func() gateway.Limits
	setup := func(fs *flag.FlagSet) {
		teacher = fs.Bool("teacher", false, "a teacher's token: opens the teacher's page and GET /usage")
		limits = limitFlags(fs)
	}
	return withLedger("token add", args, 1, setup, func(l *gateway.Ledger, names []string) error {
		token, err := l.AddToken(names[0], *teacher, limits(), cliWho)
		if err != nil {
			return err
		}
		role := "student"
		if *teacher {
			role = "teacher"
		}
		fmt.Printf("New token for %s %s (shown only now; the ledger keeps only its hash; a new \"token add\" replaces it):\n%s\n", role, names[0], token)
		return nil
	})
}

func gatewayLimits(args []string) error {
	var limits func() gateway.Limits
	return withLedger("limits", args, -1, func(fs *flag.FlagSet) { limits = limitFlags(fs) }, func(l *gateway.Ledger, names []string) error {
		if len(names) > 1 {
			return fmt.Errorf("streamdemo gateway limits takes one name at most.")
		}
		name := "*"
		if len(names) == 1 {
			name = names[0]
		}
		lim := limits()
		if lim == (gateway.Limits{}) {
			return fmt.Errorf("Say which limit to set, e.g. --tokens-per-day 20000 (0: no limit).")
		}
		return l.SetLimits(name, lim, cliWho)
	})
}

func gatewayPause(on bool, args []string) error {
	var all *bool
	return withLedger("pause", args, -1, func(fs *flag.FlagSet) { all = fs.Bool("all", false, "the whole class (exam mode)") }, func(l *gateway.Ledger, names []string) error {
		switch {
		case *all && len(names) == 0:
			return l.PauseAll(on, cliWho)
		case !*all && len(names) == 1:
			return l.PauseStudent(names[0], on, cliWho)
		}
		return fmt.Errorf("Say whom: a student's NAME, or --all for the whole class.")
	})
}

func gatewayPrice(args []string) error {
	var in, out *float64
	setup := func(fs *flag.FlagSet) {
		in = fs.Float64("input", 0, "USD per million input tokens")
		out = fs.Float64("output", 0, "USD per million output tokens")
	}
	return withLedger("price", args, 1, setup, func(l *gateway.Ledger, names []string) error {
		return l.SetPrice(names[0], *in, *out, cliWho)
	})
}

func gatewayModels(args []string) error {
	var set *string
	var back *bool
	setup := func(fs *flag.FlagSet) {
		set = fs.String("set", "", "comma-separated models and presets students may use, e.g. sonar-pro,pro-search")
		back = fs.Bool("default", false, "go back to the server's --models (or any model)")
	}
	return withLedger("models", args, 0, setup, func(l *gateway.Ledger, _ []string) error {
		switch {
		case *back:
			if err := l.SetModels(nil, cliWho); err != nil {
				return err
			}
		case *set != "":
			if err := l.SetModels(gateway.ParseModels(*set), cliWho); err != nil {
				return err
			}
		}
		list, ok, err := l.Models(context.Background())
		switch {
		case err != nil:
			return err
		case ok:
			fmt.Printf("Students may use: %s\n", strings.Join(list, ", "))
		default:
			fmt.Println("No list set: the gateway allows what its --models (or " + gateway.ModelsEnv + ") says, or any model without it.")
		}
		return nil
	})
}

func gatewayUsageCmd(args []string) error {
	var asJSON *bool
	return withLedger("usage", args, 0, func(fs *flag.FlagSet) { asJSON = fs.Bool("json", false, "print the report as JSON (as GET /usage)") }, func(l *gateway.Ledger, _ []string) error {
		rep, err := l.Usage(context.Background())
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "student\trequests\ttoday\ttokens today\tUSD today\ttokens total\tUSD total\tlast activity\tstate\t")
		for _, s := range rep.Students {
			last, state := "never", "active"
			if s.LastActivity != nil {
				last = s.LastActivity.Format("2006-01-02 15:04:05")
			}
			switch {
			case s.Revoked:
				state = "revoked"
			case s.Paused:
				state = "paused"
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.4f\t%d\t%.4f\t%s\t%s\t\n", s.Name, s.Requests, s.RequestsToday, s.TokensToday,
				s.USDToday, s.TokensTotal, s.USDTotal, last, state)
		}
		tw.Flush()
		paused := ""
		if rep.PausedAll {
			paused = "; the class is PAUSED (resume: streamdemo gateway resume --all)"
		}
		fmt.Printf("class: %d answers, %d tokens, %.4f USD%s\n", rep.Totals.Requests, rep.Totals.InputTokens+rep.Totals.OutputTokens, rep.Totals.USD, paused)
		if rep.KeyRefused != nil {
			fmt.Printf("The model service refused the class's key at %s (HTTP %d): fix the key file and restart the gateway.\n",
				rep.KeyRefused.At.Format("2006-01-02 15:04:05"), rep.KeyRefused.Status)
		}
		return nil
	})
}

func gatewayServe(args []string) error {
	fs := flag.NewFlagSet("gateway serve", flag.ContinueOnError)
	addr := fs.String("addr", "", "address to listen on: HOST:PORT or unix:PATH (default 127.0.0.1:8790, or JUPYTERHUB_SERVICE_URL's as a hub service)")
	upstream := fs.String("upstream", os.Getenv("STREAMDEMO_GATEWAY_UPSTREAM"), "upstream base URL ending in /v1 (or STREAMDEMO_GATEWAY_UPSTREAM)")
	upstreamSocket := fs.String("upstream-socket", os.Getenv("STREAMDEMO_GATEWAY_UPSTREAM_SOCKET"), "a Unix socket to reach the upstream through, whatever host --upstream names (or STREAMDEMO_GATEWAY_UPSTREAM_SOCKET)")
	keyFile := fs.String("key-file", os.Getenv("STREAMDEMO_GATEWAY_KEY_FILE"), "file holding the upstream key, owner-only (or STREAMDEMO_GATEWAY_KEY_FILE; or the key in "+gateway.KeyEnv+")")
	agentPath := fs.String("agent-path", os.Getenv("STREAMDEMO_GATEWAY_AGENT_PATH"), "the upstream's path of the Agent API, e.g. v1/agent for one without v1/responses (or STREAMDEMO_GATEWAY_AGENT_PATH); none: the student's path")
	models := fs.String("models", os.Getenv(gateway.ModelsEnv), "comma-separated models and presets allowed until the teacher sets a list (or "+gateway.ModelsEnv+"); none: any model")
	data := dataFlag(fs)
	if _, err := parseAll(fs, args); err != nil {
		return errShown
	}
	if *upstream == "" {
		return fmt.Errorf("No upstream: pass --upstream URL (e.g. https://api.perplexity.ai/v1 or http://127.0.0.1:11434/v1).")
	}
	key, err := gateway.LoadKey(*keyFile)
	if err != nil {
		if errors.Is(err, gateway.ErrKeyFileOpen) {
			return say(err, `run "chmod 600 `+*keyFile+`" and start the gateway again`)
		}
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
	if *addr == "" {
		*addr = "127.0.0.1:8790"
	}
	ledger, err := data.open()
	if err != nil {
		return err
	}
	defer ledger.Close()
	secret, err := ledger.CookieSecret(*data.data)
	if err != nil {
		return err
	}
	gw, err := gateway.New(gateway.Config{Upstream: *upstream, UpstreamSocket: *upstreamSocket, AgentPath: *agentPath, Key: key, Ledger: ledger,
		Prefix: prefix, Hub: hub, CookieSecret: secret, Log: os.Stderr, Models: gateway.ParseModels(*models)})
	if err != nil {
		return err
	}
	ln, err := listen(*addr)
	if err != nil {
		return fmt.Errorf("Cannot listen on %s: %v.", *addr, err)
	}
	mode := "standalone: students use tokens from \"streamdemo gateway token add\""
	if hub != nil {
		mode = "JupyterHub service " + hub.Service + ": students use their hub token"
	}
	keyNote := "with the upstream key"
	if key == "" {
		keyNote = "without an upstream key"
	}
	if *upstreamSocket != "" {
		keyNote += " through " + unixPrefix + *upstreamSocket
	}
	fmt.Fprintf(os.Stderr, "class gateway on %s%s (%s); base URL %s%sv1, teacher's page %s%s; upstream %s %s\n",
		where(ln), prefix, mode, where(ln), prefix, where(ln), prefix, *upstream, keyNote)
	if hub == nil && !isLoopback(*addr) {
		fmt.Fprintln(os.Stderr, "class gateway: it listens beyond this machine over plain http, so students' tokens cross the network unencrypted; on a network you do not trust, put it behind HTTPS.")
	}
	srv := gw.Server()
	// Own signal handling: a hub may start services with SIGINT ignored.
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
