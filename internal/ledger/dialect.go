package ledger

import (
	"context"
	"database/sql"
	"time"
)

// dialect is what differs between the ledger's two databases, chosen when
// the ledger opens: SQLite in a file of one gateway's (sqlite.go), or
// PostgreSQL shared by replicas (postgres.go, lease.go). The ledger's SQL
// is written once, with SQLite's ? and ?N placeholders.
type dialect interface {
	// bind is query as the database takes it.
	bind(query string) string
	// prepared is query prepared once on the ledger's database, where
	// preparing costs (SQLite: a quarter of a reservation); nil where the
	// driver keeps its own (PostgreSQL's pgx) or it cannot be prepared.
	// Only kept ones are given where prepare is false: a transaction may
	// hold the database's one connection.
	prepared(query string, prepare bool) *sql.Stmt
	// locking is clause (FOR UPDATE, FOR SHARE) where rows are locked one
	// by one, or "" where a write transaction holds the whole database.
	locking(clause string) string
	// pipeline runs reads in one transaction, each scanning its row into
	// its dest, then write if then says so (its args set by then), and
	// commits. PostgreSQL sends the reads at once, and the write with its
	// commit: two round trips in all.
	pipeline(ctx context.Context, db *sql.DB, reads []step, write *step, then func() (bool, error)) error
	// cookieSecret is the secret that signs the teacher page's cookies,
	// the same for every gateway on the ledger.
	cookieSecret(ctx context.Context, db *sql.DB, dir string) ([]byte, error)
	// closeInterrupted charges the answers that gateways which stopped
	// left open their reservations, as of now; logf says later what it does.
	closeInterrupted(ctx context.Context, db *sql.DB, now time.Time, logf func(string, ...any)) (int64, error)
	// replica is the id this process tags the answers it opens with; 0 for none.
	replica() int64
	// close stops what the dialect runs in the background.
	close()
}

// step is one statement of a pipeline, and where its row goes (nil: it
// returns none).
type step struct {
	query string
	args  []any
	dest  []any
}
