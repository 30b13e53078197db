package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/streamdemo/streamdemo/internal/ledger"
)

var usageCommand = ledgerCommand(command{
	name: "gateway usage",
	does: "Prints who asked how much, today and in total, and the class's totals.",
}, 0, 0, func(fs *flag.FlagSet) func(*ledger.Ledger, []string) error {
	asJSON := fs.Bool("json", false, "print the report as JSON (as GET /usage)")
	return func(l *ledger.Ledger, _ []string) error {
		rep, err := l.Usage(context.Background())
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}
		printUsageReport(rep)
		return nil
	}
})

// printUsageReport prints the report as a table, one student a line.
func printUsageReport(rep *ledger.Report) {
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
}
