package ledger

import (
	"context"
	"time"
)

// Outcome is what an answer really used, known when its stream ends.
type Outcome struct {
	State        string // done, broken, stopped, failed
	Status       int    // the upstream's HTTP status; 0 for none
	Model        string // the model that ran, as the upstream named it; "" keeps the one asked for
	InputTokens  int64
	OutputTokens int64
	CostUSD      float64
	Estimated    bool // no usage arrived: charged by what streamed
}

// Settle replaces request id's reservation by what it used, in one
// statement. An answer already settled (or closed as interrupted) is left
// as it is.
func (l *Ledger) Settle(ctx context.Context, id int64, o Outcome) error {
	_, err := l.q().exec(ctx, `UPDATE requests SET state = ?, ended_at = ?, status = ?, model = CASE WHEN ? = '' THEN model ELSE ? END,
		input_tokens = ?, output_tokens = ?, cost_usd = ?, estimated = ? WHERE id = ? AND state = 'open'`,
		o.State, millis(l.now()), o.Status, o.Model, o.Model, max(o.InputTokens, 0), max(o.OutputTokens, 0), max(o.CostUSD, 0),
		flag(o.Estimated), id)
	return err
}

// CloseInterrupted settles the answers that gateways which stopped left
// open: what they streamed is unknown, so each is charged its reservation,
// marked estimated. On SQLite that is every open answer (the gateway is
// starting); on PostgreSQL, where it also makes this process a replica
// with a lease that a goroutine renews until Close, only those of replicas
// that no longer run. logf says what the lease does later (nil: nothing).
func (l *Ledger) CloseInterrupted(logf func(format string, args ...any)) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return l.dialect.closeInterrupted(ctx, l.db, l.now(), logf)
}
