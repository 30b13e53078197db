package ledger

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite: no C toolchain, nothing fetched at run time
)

// File is the ledger's file name inside its folder.
const File = "ledger.sqlite"

// sqlite is the ledger in one file, used by one gateway (and the commands
// that change it): each write transaction takes the database's write lock
// first, so reservations are serialised whole. Its statements are prepared
// once on db, the one connection, and kept.
type sqlite struct {
	db    *sql.DB // nil while migrating: nothing is kept
	stmts sync.Map
}

// openSQLite opens (creating if needed) the ledger in dir and brings its
// schema up to date. The folder is made owner-only: it holds token hashes.
func openSQLite(dir string) (*sql.DB, error) {
	if dir == "" {
		return nil, ErrNoLedger
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the data folder %s: %w", dir, err)
	}
	path := filepath.Join(dir, File)
	dsn := "file:" + path + "?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	// One connection: every ledger change is serialised in this process, so a
	// reservation's check and insert cannot interleave with another's.
	db.SetMaxOpenConns(1)
	if err := migrateSQLite(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot open the ledger %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot make the ledger %s owner-only: %w", path, err)
	}
	return db, nil
}

// migrateSQLite applies the missing migrations, each in a transaction
// with the version it reaches (SQLite's user_version).
func migrateSQLite(db *sql.DB) error {
	var version int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this gateway's %d: upgrade the gateway", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		err := transact(context.Background(), db, &sqlite{}, func(tx q) error {
			if err := tx.script(context.Background(), migrations[i].sqlite); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
			return tx.script(context.Background(), fmt.Sprintf(`PRAGMA user_version = %d`, i+1))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (*sqlite) bind(query string) string { return query }
func (*sqlite) locking(string) string    { return "" }
func (*sqlite) replica() int64           { return 0 }
func (*sqlite) close()                   {}

func (s *sqlite) prepared(query string, prepare bool) *sql.Stmt {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt)
	}
	if s.db == nil || !prepare {
		return nil
	}
	st, err := s.db.Prepare(query)
	if err != nil {
		return nil // run as it is: its error comes from there
	}
	if old, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return old.(*sql.Stmt)
	}
	return st
}

func (s *sqlite) pipeline(ctx context.Context, db *sql.DB, reads []step, write *step, then func() (bool, error)) error {
	for _, r := range append(reads, *write) { // prepared before the transaction holds the one connection
		s.prepared(r.query, true)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // after Commit, a no-op
	in := q{e: tx, d: s}
	for _, r := range reads {
		if err := in.row(ctx, r.query, r.args...).Scan(r.dest...); err != nil {
			return err
		}
	}
	if ok, err := then(); err != nil || !ok {
		return err
	}
	if write.dest == nil {
		_, err = in.exec(ctx, write.query, write.args...)
	} else {
		err = in.row(ctx, write.query, write.args...).Scan(write.dest...)
	}
	if err != nil {
		return err
	}
	return tx.Commit()
}

// cookieSecret is the secret kept in dir (owner-only), made the first time.
func (*sqlite) cookieSecret(_ context.Context, _ *sql.DB, dir string) ([]byte, error) {
	path := filepath.Join(dir, "cookie-secret")
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return b, nil
	}
	b := make([]byte, 32)
	rand.Read(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("cannot write the cookie secret in %s: %w", dir, err)
	}
	return b, nil
}

// closeInterrupted charges every open answer its reservation: only one
// gateway runs on an SQLite ledger, and it is starting.
func (*sqlite) closeInterrupted(ctx context.Context, db *sql.DB, now time.Time, _ func(string, ...any)) (int64, error) {
	r, err := db.ExecContext(ctx, `UPDATE requests SET state = 'interrupted', ended_at = COALESCE(ended_at, ?),
		output_tokens = reserved_tokens, cost_usd = reserved_usd, estimated = 1 WHERE state = 'open'`, millis(now))
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}
