package gateway

import (
	"strings"
	"testing"

	"github.com/streamdemo/streamdemo/internal/practice"
)

// The readiness probe: no token needed, 200 while the ledger answers, 503
// with a sentence naming no host once it does not.
func TestHealthzChecksTheLedger(t *testing.T) {
	_, upstream := startPractice(t, practice.Options{})
	tg := startGateway(t, upstream)
	if a := do(t, "GET", tg.URL+"healthz", "", ""); a.Status != 200 || a.Body != "ok\n" {
		t.Fatalf("healthz with the ledger up: %d %q", a.Status, a.Body)
	}
	tg.ledger.Close()
	a := do(t, "GET", tg.URL+"healthz", "", "")
	if a.Status != 503 || !strings.Contains(a.Body, "does not answer") {
		t.Fatalf("healthz with the ledger closed: %d %q", a.Status, a.Body)
	}
	if strings.Contains(a.Body, tg.dir) || strings.Contains(a.Body, "postgres") || strings.Contains(a.Body, "sql") {
		t.Fatalf("healthz tells where the ledger is: %q", a.Body)
	}
	if !strings.Contains(tg.log.String(), "health check") {
		t.Fatalf("the failed health check is not in the log: %q", tg.log.String())
	}
}
