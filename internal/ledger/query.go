package ledger

import (
	"context"
	"database/sql"
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
	return q.e.ExecContext(ctx, q.d.bind(query), args...)
}

func (q q) rows(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.e.QueryContext(ctx, q.d.bind(query), args...)
}

func (q q) row(ctx context.Context, query string, args ...any) *sql.Row {
	return q.e.QueryRowContext(ctx, q.d.bind(query), args...)
}

// setting reads one settings value.
func (q q) setting(ctx context.Context, key string) (string, error) {
	var v string
	err := q.row(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	return v, err
}
