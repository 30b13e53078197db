package ledger

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // PostgreSQL through database/sql: the ledger's SQL stays one
)

// migrateLockKey is the advisory lock that serialises migrations of
// gateways starting at once (replicas hold locks of their own: lease.go).
const migrateLockKey int64 = 0x5d6c_0001

// postgres is the ledger in a PostgreSQL database that several gateways
// share, each one a replica with a lease (lease.go). A reservation locks
// its student's row, so one student's are serialised on every replica
// while other students' go on in parallel.
type postgres struct {
	bound sync.Map // the ledger's SQL → the same with $N placeholders
	lease *lease   // this process as a replica, once it closed the others' answers
}

// openPostgres opens the ledger in the PostgreSQL database at rawURL
// (postgres://...), bringing its schema up to date.
func openPostgres(rawURL string) (*sql.DB, *postgres, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, nil, ErrNotPostgres
	}
	// Named in errors without its password or parameters (which may hold one).
	shown := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	if u.User != nil {
		shown.User = url.User(u.User.Username())
	}
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open the ledger database %s: %w", shown.String(), err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxIdleTime(5 * time.Minute)
	p := &postgres{}
	if err := p.migrate(context.Background(), db); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("cannot open the ledger database %s: %w", shown.String(), err)
	}
	return db, p, nil
}

// migratePostgres applies the missing migrations in one transaction under
// an advisory lock: replicas starting at once wait for the first, then find
// the schema current. PostgreSQL's DDL is transactional, so a failed step
// leaves the previous version whole.
func (p *postgres) migrate(ctx context.Context, db *sql.DB) error {
	return transact(ctx, db, p, func(tx q) error {
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, migrateLockKey); err != nil {
			return fmt.Errorf("lock for migrating: %w", err)
		}
		if _, err := tx.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)`); err != nil {
			return err
		}
		var version int
		err := tx.row(ctx, `SELECT version FROM schema_version`).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			_, err = tx.exec(ctx, `INSERT INTO schema_version VALUES (0)`)
		}
		if err != nil {
			return err
		}
		if version > len(migrations) {
			return fmt.Errorf("schema version %d is newer than this gateway's %d: upgrade the gateway", version, len(migrations))
		}
		for i := version; i < len(migrations); i++ {
			if err := tx.script(ctx, migrations[i].postgres); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		_, err = tx.exec(ctx, `UPDATE schema_version SET version = ?`, len(migrations))
		return err
	})
}

// bind turns ? and ?N outside string literals into $N, once per query.
func (p *postgres) bind(query string) string {
	if b, ok := p.bound.Load(query); ok {
		return b.(string)
	}
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
	p.bound.Store(query, b.String())
	return b.String()
}

func (*postgres) locking(clause string) string { return clause }

func (*postgres) prepared(string, bool) *sql.Stmt { return nil }

func (p *postgres) replica() int64 {
	if p.lease == nil {
		return 0
	}
	return p.lease.id
}

func (p *postgres) close() {
	if p.lease != nil {
		p.lease.end()
		p.lease = nil
	}
}

// pipeline sends BEGIN and the reads in one batch, then the write (if
// any) and COMMIT in another: two round trips, however many reads. Each
// statement runs at READ COMMITTED with a snapshot of its own, so a read
// after one that waited for a row lock sees what the lock's holder committed.
func (p *postgres) pipeline(ctx context.Context, db *sql.DB, reads []step, write *step, then func() (bool, error)) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		err := p.transact(ctx, c, reads, write, then)
		if c.PgConn().TxStatus() != 'I' { // left in a transaction: end it, or drop the connection
			if _, rerr := c.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil || c.PgConn().TxStatus() != 'I' {
				return errors.Join(err, rerr, driver.ErrBadConn)
			}
		}
		return err
	})
}

func (p *postgres) transact(ctx context.Context, c *pgx.Conn, reads []step, write *step, then func() (bool, error)) error {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	for _, s := range reads {
		b.Queue(p.bind(s.query), s.args...)
	}
	br := c.SendBatch(ctx, b)
	_, err := br.Exec()
	for _, s := range reads {
		if err != nil {
			break
		}
		err = br.QueryRow().Scan(s.dest...)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if ok, err := then(); err != nil || !ok {
		return err
	}
	b = &pgx.Batch{}
	b.Queue(p.bind(write.query), write.args...)
	b.Queue("COMMIT")
	br = c.SendBatch(ctx, b)
	if write.dest == nil {
		_, err = br.Exec()
	} else {
		err = br.QueryRow().Scan(write.dest...)
	}
	if err == nil {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// cookieSecret is one settings row, made by the first gateway and read by
// every other, so a cookie signed by one replica verifies on all.
func (p *postgres) cookieSecret(ctx context.Context, db *sql.DB, _ string) ([]byte, error) {
	b := make([]byte, 32)
	rand.Read(b)
	_, err := q{e: db, d: p}.exec(ctx, `INSERT INTO settings VALUES ('cookie_secret', ?) ON CONFLICT (key) DO NOTHING`,
		base64.RawStdEncoding.EncodeToString(b))
	if err != nil {
		return nil, fmt.Errorf("cannot keep the cookie secret in the ledger database: %w", err)
	}
	v, err := q{e: db, d: p}.setting(ctx, "cookie_secret")
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

// closeInterrupted makes this process a replica (once) and closes the
// open answers of replicas that no longer run.
func (p *postgres) closeInterrupted(ctx context.Context, db *sql.DB, _ time.Time, logf func(string, ...any)) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if p.lease == nil {
		ls, err := startLease(ctx, db, logf)
		if err != nil {
			return 0, fmt.Errorf("cannot register this gateway as a replica in the ledger database: %w", err)
		}
		p.lease = ls
	}
	return p.lease.sweep(ctx)
}
