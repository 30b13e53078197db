package gateway

import (
	"context"
	"net/http"
	"time"
)

// healthWait bounds how long the health check waits for the ledger.
const healthWait = 2 * time.Second

// healthz answers 200 while the ledger's database answers a query and 503
// when it does not, so an orchestrator sends students only to a gateway
// that can reserve and record their answers. Its answer names no host.
func (g *Gateway) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthWait)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := g.ledger.ping(ctx); err != nil {
		g.logf("health check: the ledger's database does not answer: %v", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("the ledger's database does not answer\n"))
		return
	}
	w.Write([]byte("ok\n"))
}

// ping runs one query on the ledger's database.
func (l *Ledger) ping(ctx context.Context) error {
	var one int
	return l.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}
