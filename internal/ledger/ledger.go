// Package ledger is the class gateway's crash-safe record: students and
// their tokens, limits, prices and the class's switches, every answer with
// its reservation and then what it used, and the teacher's sessions. It
// lives in one SQLite file in WAL mode (one gateway) or in a PostgreSQL
// database shared by several gateways, each one a replica with a lease.
// Each change is one transaction, committed with a full sync, so a killed
// gateway loses no committed record.
//
// The reservation is the model for money: one transaction that locks the
// student (PostgreSQL: her row, FOR UPDATE; SQLite: the whole database),
// counts what her open and settled answers hold, and records the new
// answer as open with what it may use, or refuses it. What admission reads
// besides (the class's settings, prices, limits and models) is a Class,
// cached behind a version every teacher's change bumps and checked inside
// each reservation.
package ledger

import (
	"context"
	"database/sql"
	"time"
)

// Config says where the ledger is.
type Config struct {
	Dir      string // the folder of the SQLite ledger
	Database string // a postgres:// URL: the ledger in PostgreSQL instead of Dir
	// Now is the ledger's clock (days, minutes, sessions); nil for time.Now.
	Now func() time.Time
}

// Ledger is an open ledger; its methods are safe for concurrent use.
type Ledger struct {
	db      *sql.DB
	dialect dialect
	now     func() time.Time
	class   classCache
}

// Open opens the ledger cfg names, creating it and bringing its schema up
// to date as needed: in PostgreSQL when cfg.Database is set, else in the
// folder cfg.Dir.
func Open(cfg Config) (*Ledger, error) {
	var l *Ledger
	var err error
	if cfg.Database != "" {
		l, err = openPostgres(cfg.Database)
	} else {
		l, err = openSQLite(cfg.Dir)
	}
	if err != nil {
		return nil, err
	}
	if cfg.Now != nil {
		l.now = cfg.Now
	}
	return l, nil
}

// Close ends the replica's lease, if any, and closes the database.
func (l *Ledger) Close() error {
	l.dialect.close()
	return l.db.Close()
}

// Ping runs one query on the ledger's database.
func (l *Ledger) Ping(ctx context.Context) error {
	var one int
	return l.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// q runs SQL on the pool.
func (l *Ledger) q() q { return q{e: l.db, d: l.dialect} }

// tx runs fn in one transaction, committed only if fn returns nil.
// PostgreSQL runs it at READ COMMITTED: each statement sees what committed
// before it, so a reservation that waited for a row lock then counts the
// rows its predecessor inserted (see Reserve).
func (l *Ledger) tx(ctx context.Context, fn func(q) error) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(q{e: tx, d: l.dialect}); err != nil {
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
