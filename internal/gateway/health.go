package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
)

// healthWait bounds how long the health check waits for the ledger.
const healthWait = 2 * time.Second

// healthz answers 200 while the ledger's database answers a query and 503
// when it does not, so an orchestrator sends students only to a gateway
// that can reserve and record their answers. Its answer names no host.
func healthz(l *ledger.Ledger, logf func(string, ...any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), healthWait)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := l.Ping(ctx); err != nil {
			logf("health check: the ledger's database does not answer: %v", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("the ledger's database does not answer\n"))
			return
		}
		w.Write([]byte("ok\n"))
	}
}
