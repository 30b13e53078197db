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
	"fmt"
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
	l := &Ledger{now: cfg.Now}
	if l.now == nil {
		l.now = time.Now
	}
	var err error
	if cfg.Database != "" {
		l.db, l.dialect, err = openPostgres(cfg.Database)
	} else {
		l.db, err = openSQLite(cfg.Dir)
		l.dialect = &sqlite{db: l.db}
	}
	if err != nil {
		return nil, err
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
	return transact(ctx, l.db, l.dialect, fn)
}

// Class is the class as this gateway last read it, read again first when
// a change here made it stale. It may lag another replica's (or a
// command's) change until this gateway's next reservation, which checks.
func (l *Ledger) Class(ctx context.Context) (*Class, error) {
	l.class.mu.Lock()
	defer l.class.mu.Unlock()
	if l.class.cur != nil && !l.class.stale {
		return l.class.cur, nil
	}
	return l.readClass(ctx)
}

// Refresh reads the class again if another replica or a command changed
// it since this gateway last read it (one query when none did).
func (l *Ledger) Refresh(ctx context.Context) (*Class, error) {
	var version int64
	if err := l.q().row(ctx, `SELECT version FROM class_version`).Scan(&version); err != nil {
		return nil, err
	}
	l.class.mu.Lock()
	defer l.class.mu.Unlock()
	if c := l.class.cur; c != nil && c.Version == version && !l.class.stale {
		return c, nil
	}
	return l.readClass(ctx)
}

// readClass reads the class in one transaction; l.class.mu is held.
func (l *Ledger) readClass(ctx context.Context) (*Class, error) {
	var c *Class
	err := l.tx(ctx, func(tx q) (err error) {
		c, err = readClass(ctx, tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the class's settings: %w", err)
	}
	l.class.cur, l.class.stale = c, false
	return c, nil
}

// changed marks the class stale after a change this gateway made, or saw.
func (l *Ledger) changed() {
	l.class.mu.Lock()
	l.class.stale = true
	l.class.mu.Unlock()
}
