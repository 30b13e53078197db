package ledger

import (
	"context"
	"database/sql"
	"time"
)

// execer is what runs SQL: the pool or one transaction.
type execer interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// q runs the ledger's SQL, written once with SQLite's ? and ?N
// placeholders, on either database: the dialect binds it.
type q struct {
	e execer
	d dialect
}

func (q q) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := q.prepared(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.e.ExecContext(ctx, q.d.bind(query), args...)
}

func (q q) rows(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.prepared(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.e.QueryContext(ctx, q.d.bind(query), args...)
}

func (q q) row(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.prepared(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.e.QueryRowContext(ctx, q.d.bind(query), args...)
}

// script runs statements, several at once as a migration holds them.
func (q q) script(ctx context.Context, statements string) error {
	_, err := q.e.ExecContext(ctx, q.d.bind(statements))
	return err
}

// prepared is the dialect's statement for query, if it keeps them, in q's
// transaction if q is one; nil to run query as it is.
func (q q) prepared(ctx context.Context, query string) *sql.Stmt {
	tx, inTx := q.e.(*sql.Tx)
	st := q.d.prepared(query, !inTx)
	if inTx && st != nil {
		return tx.StmtContext(ctx, st)
	}
	return st
}

// setting reads one settings value.
func (q q) setting(ctx context.Context, key string) (string, error) {
	var v string
	err := q.row(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	return v, err
}

// transact runs fn in one transaction on db, committed only if fn returns
// nil. PostgreSQL runs it at READ COMMITTED: each statement sees what
// committed before it.
func transact(ctx context.Context, db *sql.DB, d dialect, fn func(q) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(q{e: tx, d: d}); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// millis is a time as stored in the ledger.
func millis(t time.Time) int64 { return t.UnixMilli() }

// day is the ledger's calendar day of t, in the gateway's time zone.
func day(t time.Time) string { return t.Format(time.DateOnly) }

// flag is a boolean as the ledger stores it: 0 or 1 in both databases.
func flag(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
