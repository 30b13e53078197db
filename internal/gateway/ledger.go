package gateway

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite: no C toolchain, nothing fetched at run time
)

// LedgerFile is the ledger's file name inside the data folder.
const LedgerFile = "ledger.sqlite"

// Ledger is the gateway's crash-safe record: students, limits, prices, every
// request and every switch, in one SQLite file in WAL mode or in a
// PostgreSQL database shared by several gateways. Each change is one
// transaction, committed with a full sync, so a killed gateway loses no
// committed record.
type Ledger struct {
	db  *sql.DB
	pg  bool
	now func() time.Time
	// PostgreSQL: this process as one replica (lease_pg.go), and where
	// the lease says what it did.
	replica int64
	lease   *replicaLease
	log     func(format string, args ...any)
}

// Open opens the ledger: in PostgreSQL when database is a postgres:// URL,
// else the SQLite ledger in dir.
func Open(dir, database string) (*Ledger, error) {
	if database != "" {
		return OpenPostgres(database)
	}
	return OpenLedger(dir)
}

// OpenLedger opens (creating if needed) the ledger in dir and brings its
// schema up to date. The folder is made owner-only: it holds token hashes.
func OpenLedger(dir string) (*Ledger, error) {
	if dir == "" {
		return nil, ErrNoLedger
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the data folder %s: %w", dir, err)
	}
	path := filepath.Join(dir, LedgerFile)
	dsn := "file:" + path + "?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	// One connection: every ledger change is serialised in this process, so a
	// reservation's check and insert cannot interleave with another's.
	db.SetMaxOpenConns(1)
	l := &Ledger{db: db, now: time.Now}
	if err := l.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot open the ledger %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot make the ledger %s owner-only: %w", path, err)
	}
	return l, nil
}

// Close closes the ledger.
func (l *Ledger) Close() error {
	l.endLease()
	return l.db.Close()
}

// q runs SQL on the pool.
func (l *Ledger) q() dbq { return dbq{e: l.db, pg: l.pg} }

func (l *Ledger) migrate() error {
	var version int
	if err := l.db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	for i := version; i < len(migrations); i++ {
		err := l.tx(context.Background(), func(tx dbq) error {
			if _, err := tx.Exec(migrations[i].sqlite); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
			_, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, i+1))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// tx runs fn in one transaction, committed only if fn returns nil.
// PostgreSQL runs it at READ COMMITTED: each statement sees what committed
// before it, so a reservation that waited for a row lock then counts the
// rows its predecessor inserted (see reserve).
func (l *Ledger) tx(ctx context.Context, fn func(dbq) error) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(dbq{e: tx, pg: l.pg}); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// millis is a time as stored in the ledger.
func millis(t time.Time) int64 { return t.UnixMilli() }

// day is the ledger's calendar day of t, in the gateway's time zone.
func day(t time.Time) string { return t.Format(time.DateOnly) }

// logSwitch records a teacher's switch inside the transaction that makes it.
func logSwitch(tx dbq, at time.Time, who, what string) error {
	_, err := tx.Exec(`INSERT INTO switches (at, who, what) VALUES (?, ?, ?)`, millis(at), who, what)
	return err
}

// setting reads one settings value.
func setting(q dbq, key string) (string, error) {
	var v string
	err := q.QueryRow(`SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	return v, err
}
