package gateway

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL through database/sql: the ledger's SQL stays one
)

// migrateLockKey is the advisory lock that serialises migrations of
// gateways starting at once (replicas hold locks of their own: lease_pg.go).
const migrateLockKey int64 = 0x5d6c_0001

// OpenPostgres opens the ledger in the PostgreSQL database at rawURL
// (postgres://...), bringing its schema up to date.
func OpenPostgres(rawURL string) (*Ledger, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, ErrNotPostgres
	}
	// Named in errors without its password or parameters (which may hold one).
	shown := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	if u.User != nil {
		shown.User = url.User(u.User.Username())
	}
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, fmt.Errorf("cannot open the ledger database %s: %w", shown.String(), err)
	}
	db.SetMaxOpenConns(32)
	db.SetConnMaxIdleTime(5 * time.Minute)
	l := &Ledger{db: db, pg: true, now: time.Now}
	if err := l.migratePG(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot open the ledger database %s: %w", shown.String(), err)
	}
	return l, nil
}

// migratePG applies the missing migrations in one transaction under an
// advisory lock: replicas starting at once wait for the first, then find
// the schema current. PostgreSQL's DDL is transactional, so a failed step
// leaves the previous version whole.
func (l *Ledger) migratePG(ctx context.Context) error {
	return l.tx(ctx, func(tx dbq) error {
		if _, err := tx.Exec(`SELECT pg_advisory_xact_lock(?)`, migrateLockKey); err != nil {
			return fmt.Errorf("lock for migrating: %w", err)
		}
		if _, err := tx.Exec(`CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)`); err != nil {
			return err
		}
		var version int
		err := tx.QueryRow(`SELECT version FROM schema_version`).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			_, err = tx.Exec(`INSERT INTO schema_version VALUES (0)`)
		}
		if err != nil {
			return err
		}
		if version > len(migrations) {
			return fmt.Errorf("schema version %d is newer than this gateway's %d: upgrade the gateway", version, len(migrations))
		}
		for i := version; i < len(migrations); i++ {
			if _, err := tx.Exec(migrations[i].postgres); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		_, err = tx.Exec(`UPDATE schema_version SET version = ?`, len(migrations))
		return err
	})
}

// CookieSecret is the secret that signs the teacher page's cookies: with
// PostgreSQL one settings row, made by the first gateway and read by every
// other, so a cookie signed by one replica verifies on all; with SQLite the
// file in dir.
func (l *Ledger) CookieSecret(dir string) ([]byte, error) {
	if !l.pg {
		return CookieSecret(dir)
	}
	b := make([]byte, 32)
	rand.Read(b)
	_, err := l.q().Exec(`INSERT INTO settings VALUES ('cookie_secret', ?) ON CONFLICT (key) DO NOTHING`,
		base64.RawStdEncoding.EncodeToString(b))
	if err != nil {
		return nil, fmt.Errorf("cannot keep the cookie secret in the ledger database: %w", err)
	}
	v, err := setting(l.q(), "cookie_secret")
	if err == nil {
		b, err = base64.RawStdEncoding.DecodeString(v)
	}
	if err == nil && len(b) < 32 {
		err = errors.New("shorter than 32 bytes")
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCookieSecret, err)
	}
	return b, nil
}

// lock is a row-locking clause for PostgreSQL; SQLite locks the whole
// database for each write transaction instead.
func (l *Ledger) lock(clause string) string {
	if l.pg {
		return clause
	}
	return ""
}
