package main

import (
	"strings"
	"testing"
)

// A database password on the command line is readable by every account:
// each gateway command refuses it, without echoing it; a URL that is not
// PostgreSQL's gets one sentence.
func TestGatewayDatabaseFlagRefusesPasswordsAndOtherURLs(t *testing.T) {
	for _, cmd := range [][]string{
		{"gateway", "usage"}, {"gateway", "token", "add", "ana"}, {"gateway", "token", "revoke", "ana"},
		{"gateway", "limits", "--rpm", "5"}, {"gateway", "pause", "--all"}, {"gateway", "resume", "--all"},
		{"gateway", "price", "sonar", "--input", "1", "--output", "1"}, {"gateway", "models"},
		{"gateway", "serve", "--upstream", "http://127.0.0.1:9/v1"},
	} {
		for _, url := range []string{"postgres://class:hunter2secret@127.0.0.1:9/class", "postgres://class@127.0.0.1:9/class?password=hunter2secret"} {
			t.Setenv("STREAMDEMO_UPSTREAM_KEY", "sk-test")
			out, errOut, code := run(t, append(cmd, "--database", url)...)
			if code == 0 || !strings.Contains(errOut, "STREAMDEMO_GATEWAY_DATABASE") || strings.Contains(out+errOut, "hunter2") {
				t.Errorf("%s with a password in --database: exit %d %q %q", strings.Join(cmd, " "), code, out, errOut)
			}
		}
	}
	_, errOut, code := run(t, "gateway", "usage", "--database", "mysql://class@127.0.0.1/class")
	if code == 0 || !strings.Contains(errOut, "not a postgres:// URL") {
		t.Errorf("a MySQL URL: exit %d %q", code, errOut)
	}
	for _, url := range []string{"postgres://class:hunter2secret@127.0.0.1:9/class", "postgres://class@127.0.0.1:9/class?password=hunter2secret"} {
		t.Setenv("STREAMDEMO_GATEWAY_DATABASE", url)
		_, errOut, code = run(t, "gateway", "usage")
		if code == 0 || strings.Contains(errOut, "STREAMDEMO_GATEWAY_DATABASE") || strings.Contains(errOut, "hunter2") ||
			!strings.Contains(errOut, "Cannot open the ledger database postgres://class@127.0.0.1:9/class:") {
			t.Errorf("the URL from the environment, server down: exit %d %q", code, errOut)
		}
	}
}

// A flag's usage never shows what the environment holds: the database URL
// there may carry its password, and -h or a wrong flag prints the usage.
func TestUsageNeverShowsTheDatabaseURLOfTheEnvironment(t *testing.T) {
	t.Setenv("STREAMDEMO_GATEWAY_DATABASE", "postgres://class:hunter2secret@127.0.0.1:9/class")
	for _, args := range [][]string{{"gateway", "usage", "-h"}, {"gateway", "usage", "--no-such-flag"}, {"gateway", "serve", "-h"}} {
		out, errOut, code := run(t, args...)
		if strings.Contains(out+errOut, "hunter2") || (code == 0) != strings.Contains(out, "--database URL") {
			t.Errorf("%s: exit %d %q %q", strings.Join(args, " "), code, out, errOut)
		}
	}
}
