package gateway

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// execer is what runs SQL: the pool or one transaction.
type execer interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// dbq runs the ledger's SQL, written once with SQLite's ? and ?N
// placeholders, on either database: for PostgreSQL the placeholders become
// $N and booleans 0 or 1 (the ledger's flags are integers in both).
type dbq struct {
	e  execer
	pg bool
}

func (d dbq) adapt(query string, args []any) (string, []any) {
	if !d.pg {
		return query, args
	}
	for i, a := range args {
		if b, ok := a.(bool); ok {
			args[i] = map[bool]int64{false: 0, true: 1}[b]
		}
	}
	return rebind(query), args
}

// rebind turns ? and ?N outside string literals into $N.
func rebind(query string) string {
	var b strings.Builder
	n, quoted := 0, false
	for i := 0; i < len(query); i++ {
		c := query[i]
		if c == '\'' {
			quoted = !quoted
		}
		if c != '?' || quoted {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(query) && query[j] >= '0' && query[j] <= '9' {
			j++
		}
		if j > i+1 {
			b.WriteString("$" + query[i+1:j])
			i = j - 1
			continue
		}
		n++
		b.WriteString("$" + strconv.Itoa(n))
	}
	return b.String()
}

func (d dbq) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query, args = d.adapt(query, args)
	return d.e.ExecContext(ctx, query, args...)
}

func (d dbq) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query, args = d.adapt(query, args)
	return d.e.QueryContext(ctx, query, args...)
}

func (d dbq) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	query, args = d.adapt(query, args)
	return d.e.QueryRowContext(ctx, query, args...)
}

func (d dbq) Exec(query string, args ...any) (sql.Result, error) {
	return d.ExecContext(context.Background(), query, args...)
}

func (d dbq) QueryRow(query string, args ...any) *sql.Row {
	return d.QueryRowContext(context.Background(), query, args...)
}
