package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/streamdemo/streamdemo/internal/gateway"
	"github.com/streamdemo/streamdemo/internal/ledger"
)

// The gateway's commands that read or change its ledger, which a running
// gateway shares: a switch applies to its next request.

// cliWho is how switches made from the command line appear in the log.
const cliWho = "command line"

var tokenAddCommand = ledgerCommand(command{
	name: "gateway token add",
	args: "NAME",
	does: "Gives NAME a new token (--teacher: a teacher's), printed once, as the last line.",
}, 1, 1, func(fs *flag.FlagSet) func(*ledger.Ledger, []string) error {
	teacher := fs.Bool("teacher", false, "a teacher's token: opens the teacher's page and GET /usage")
	limits := limitFlags(fs)
	return func(l *ledger.Ledger, names []string) error {
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
	}
})

var tokenRevokeCommand = ledgerCommand(command{
	name: "gateway token revoke",
	args: "NAME",
	does: "Stops NAME's token from working; their usage stays in the ledger.",
}, 1, 1, func(fs *flag.FlagSet) func(*ledger.Ledger, []string) error {
	return func(l *ledger.Ledger, names []string) error {
		if err := l.RevokeToken(names[0], cliWho); err != nil {
			return err
		}
		fmt.Printf("The token of %s no longer works; their usage stays in the ledger.\n", names[0])
		return nil
	}
})

var limitsCommand = ledgerCommand(command{
	name: "gateway limits",
	args: "[NAME]",
	does: "Sets NAME's limits, or without NAME the class's defaults (0: no limit).",
}, 0, 1, func(fs *flag.FlagSet) func(*ledger.Ledger, []string) error {
	limits := limitFlags(fs)
	return func(l *ledger.Ledger, names []string) error {
		lim := limits()
		if lim == (ledger.Limits{}) {
			return usagef("say which limit to set, e.g. --tokens-per-day 20000 (0: no limit)")
		}
		name := "*"
		if len(names) == 1 {
			name = names[0]
		}
		return l.SetLimits(name, lim, cliWho)
	}
})

var pauseCommand, resumeCommand = pausing(true), pausing(false)

// pausing is the command that pauses (on) or resumes a student or the class.
func pausing(on bool) command {
	c := command{name: "gateway resume", args: "[NAME]", does: "Lets NAME, or with --all the class, ask again."}
	if on {
		c = command{name: "gateway pause", args: "[NAME]", does: "Refuses NAME's requests, or with --all the class's (exam mode)."}
	}
	return ledgerCommand(c, 0, 1, func(fs *flag.FlagSet) func(*ledger.Ledger, []string) error {
		all := fs.Bool("all", false, "the whole class")
		return func(l *ledger.Ledger, names []string) error {
			switch {
			case *all && len(names) == 0:
				return l.PauseAll(on, cliWho)
			case !*all && len(names) == 1:
				return l.PauseStudent(names[0], on, cliWho)
			}
			return usagef("say whom: a student's NAME, or --all for the whole class")
		}
	})
}

var priceCommand = ledgerCommand(command{
	name: "gateway price",
	args: "MODEL",
	does: `Sets MODEL's price per million tokens ("*": any other); Perplexity's start at its public prices.`,
}, 1, 1, func(fs *flag.FlagSet) func(*ledger.Ledger, []string) error {
	in := fs.Float64("input", 0, "`USD` per million input tokens")
	out := fs.Float64("output", 0, "`USD` per million output tokens")
	return func(l *ledger.Ledger, names []string) error {
		return l.SetPrice(names[0], *in, *out, cliWho)
	}
})

var modelsCommand = ledgerCommand(command{
	name: "gateway models",
	does: "Says, or sets, the models and presets students may use.",
}, 0, 0, func(fs *flag.FlagSet) func(*ledger.Ledger, []string) error {
	set := fs.String("set", "", "comma-separated models and presets `LIST` students may use, e.g. sonar-pro,pro-search")
	back := fs.Bool("default", false, "go back to the gateway's --models (or any model)")
	return func(l *ledger.Ledger, _ []string) error {
		switch {
		case *back:
			if err := l.SetModels(nil, cliWho); err != nil {
				return err
			}
		case *set != "":
			if err := l.SetModels(ledger.ParseModels(*set), cliWho); err != nil {
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
	}
})

// ledgerCommand completes c as a command that opens the ledger --data or
// --database names and runs with it. setup defines c's own flags and
// returns what it does with the ledger and the names given, of which there
// must be from least to most.
func ledgerCommand(c command, least, most int, setup func(fs *flag.FlagSet) func(*ledger.Ledger, []string) error) command {
	c.names = true
	c.setup = func(fs *flag.FlagSet) func([]string) error {
		place := ledgerFlags(fs)
		do := setup(fs)
		return func(names []string) error {
			if len(names) < least || len(names) > most {
				return usagef("want %s, got %q", cmp.Or(c.args, "no name"), names)
			}
			l, err := place.open()
			if err != nil {
				return err
			}
			defer l.Close()
			return do(l, names)
		}
	}
	return c
}

// databaseEnv names the PostgreSQL ledger without putting it on a command line.
const databaseEnv = "STREAMDEMO_GATEWAY_DATABASE"

// ledgerPlace is where --data and --database (or STREAMDEMO_GATEWAY_DATA
// and STREAMDEMO_GATEWAY_DATABASE) say the ledger is.
type ledgerPlace struct {
	fs             *flag.FlagSet
	data, database *string
}

func ledgerFlags(fs *flag.FlagSet) ledgerPlace {
	return ledgerPlace{fs: fs,
		data: fs.String("data", "", "the folder `DIR` of the gateway's SQLite ledger (or STREAMDEMO_GATEWAY_DATA)"),
		database: fs.String("database", "", "the ledger in PostgreSQL at `URL` postgres://user@host/dbname, shared by several gateways (or "+
			databaseEnv+"; its password there or in ~/.pgpass, never on the command line)")}
}

// dir is the SQLite ledger's folder, or "".
func (f ledgerPlace) dir() string { return cmp.Or(*f.data, os.Getenv("STREAMDEMO_GATEWAY_DATA")) }

// open opens the ledger. A password must not be on the command line, where
// every account on the machine can read it.
func (f ledgerPlace) open() (*ledger.Ledger, error) {
	if hasPassword(*f.database) {
		return nil, fmt.Errorf("the --database URL holds a password, which any account can read on a command line: " +
			"put the URL in " + databaseEnv + " or the password in ~/.pgpass instead")
	}
	return ledger.Open(ledger.Config{Dir: f.dir(), Database: cmp.Or(*f.database, os.Getenv(databaseEnv))})
}

func hasPassword(database string) bool {
	u, err := url.Parse(database)
	if err != nil {
		return strings.Contains(database, "password")
	}
	_, set := u.User.Password()
	return set || u.Query().Has("password")
}

// limitFlags adds the limit flags; the returned func gives the ones set.
func limitFlags(fs *flag.FlagSet) func() ledger.Limits {
	tpd := fs.Int64("tokens-per-day", 0, "`N` tokens a day (0: no limit)")
	upd := fs.Float64("usd-per-day", 0, "`USD` a day (0: no limit)")
	tt := fs.Int64("tokens-total", 0, "`N` tokens in total (0: no limit)")
	ut := fs.Float64("usd-total", 0, "`USD` in total (0: no limit)")
	rpm := fs.Int64("rpm", 0, "`N` requests per minute (0: no limit)")
	conc := fs.Int64("concurrent", 0, "`N` answers streaming at once (0: no limit)")
	return func() ledger.Limits {
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		return ledger.Limits{
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
