package ledger

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"fmt"
	"time"
)

// Replicas on one PostgreSQL ledger. Each gateway process is a replica with
// a random id that tags every answer it opens (requests.replica). It proves
// it runs in two ways, and a live replica closes, at their reservations, the
// open answers of any replica that fails either:
//
//   - a session advisory lock on its id, held on a connection of its own:
//     PostgreSQL frees it the moment that connection drops, so a replica
//     killed (kill -9, a crashed host whose kernel resets the socket) is
//     seen dead at the next sweep, within seconds;
//   - a lease row, renewed on that same connection every few seconds and
//     timed by the database's clock (not the hosts'): a restart of
//     PostgreSQL frees every lock at once, and until a replica re-dials and
//     renews, only its lease says whether it lives. So the lock counts only
//     for a lease renewed since the server last started; before that, only
//     the lease's expiry does, and a short restart closes nobody's answers.
const (
	replicaLockClass = 0x5d6c_0003 // the advisory lock's first key; the replica id is the second
	renewEvery       = 2 * time.Second
	// leaseTerm is how long a replica that stopped renewing keeps its open
	// answers: longer than a restart of PostgreSQL plus a renewal.
	leaseTerm = 10 * time.Second
)

// pgNowMillis is the database's clock in unix milliseconds.
const pgNowMillis = `(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT`

// lease is this process as a replica: its id, the connection that holds
// its lock (nil while it must be re-dialled), and the renewing goroutine,
// which says where the gateway logs when the database is lost and back.
type lease struct {
	id      int64
	db      *sql.DB
	conn    *sql.Conn
	logf    func(format string, args ...any)
	stop    chan struct{}
	done    chan struct{}
	failing bool
}

// startLease picks a free replica id, takes its lock, writes its lease and
// starts renewing it.
func startLease(ctx context.Context, db *sql.DB, logf func(string, ...any)) (*lease, error) {
	ls := &lease{db: db, logf: logf, stop: make(chan struct{}), done: make(chan struct{})}
	if ls.logf == nil {
		ls.logf = func(string, ...any) {}
	}
	var err error
	for range 5 {
		var b [4]byte
		rand.Read(b[:])
		ls.id = int64(binary.BigEndian.Uint32(b[:])>>1) + 1 // positive int4: 0 marks answers of no replica
		if err = ls.renew(ctx); err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	go ls.keep()
	return ls, nil
}

// renew takes the replica's lock on a fresh connection when it has none,
// then extends its lease on that connection: a renewal that succeeds proves
// the lock is held on the server as it runs now.
func (ls *lease) renew(ctx context.Context) error {
	if ls.conn == nil {
		conn, err := ls.db.Conn(ctx)
		if err != nil {
			return err
		}
		var got bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, $2::INT)`, replicaLockClass, ls.id).Scan(&got); err != nil || !got {
			conn.Close()
			if err == nil {
				err = fmt.Errorf("replica id %d is in use", ls.id)
			}
			return err
		}
		ls.conn = conn
	}
	_, err := ls.conn.ExecContext(ctx, `INSERT INTO replicas (id, started_at, renewed_at, expires_at)
		VALUES ($1, `+pgNowMillis+`, `+pgNowMillis+`, `+pgNowMillis+` + $2)
		ON CONFLICT (id) DO UPDATE SET renewed_at = EXCLUDED.renewed_at, expires_at = EXCLUDED.expires_at`,
		ls.id, leaseTerm.Milliseconds())
	if err != nil {
		ls.conn.Close()
		ls.conn = nil
	}
	return err
}

// sweep charges the open answers of replicas that no longer run their
// reservations (what they streamed is unknown), and forgets long-dead ones.
func (ls *lease) sweep(ctx context.Context) (int64, error) {
	tx, err := ls.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() // after Commit, a no-op
	r, err := tx.ExecContext(ctx, `UPDATE requests SET state = 'interrupted', ended_at = COALESCE(ended_at, `+pgNowMillis+`),
		output_tokens = reserved_tokens, cost_usd = reserved_usd, estimated = 1
		WHERE state = 'open' AND replica <> $1 AND replica NOT IN (
			SELECT id FROM replicas WHERE expires_at >= `+pgNowMillis+`
			AND NOT (renewed_at > (EXTRACT(EPOCH FROM pg_postmaster_start_time()) * 1000)::BIGINT
				AND pg_try_advisory_xact_lock($2, id::INT)))`, ls.id, replicaLockClass)
	if err != nil {
		return 0, err
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, err
	}
	if _, err = tx.ExecContext(ctx, `DELETE FROM replicas WHERE expires_at < `+pgNowMillis+` - 3600000`); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// keep renews the lease and sweeps until the ledger closes, saying once
// when the database is lost and once when it is back.
func (ls *lease) keep() {
	defer close(ls.done)
	tick := time.NewTicker(renewEvery)
	defer tick.Stop()
	for {
		select {
		case <-ls.stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), renewEvery)
		err := ls.renew(ctx)
		var n int64
		if err == nil {
			n, err = ls.sweep(ctx)
		}
		cancel()
		switch {
		case err != nil && !ls.failing:
			ls.logf("ledger: cannot reach the database to renew replica %d's lease (retrying every %s): %v", ls.id, renewEvery, err)
		case err == nil && ls.failing:
			ls.logf("ledger: the database is reachable again; replica %d renewed its lease", ls.id)
		}
		ls.failing = err != nil
		if n > 0 {
			ls.logf("ledger: %d answers of replicas that stopped were each charged their reservation", n)
		}
	}
}

// end stops renewing and frees the lock: what this replica left open is
// closed by the next sweep of another.
func (ls *lease) end() {
	close(ls.stop)
	<-ls.done
	if ls.conn != nil {
		// Best effort: a lease not ended here expires by itself within leaseTerm.
		_, _ = ls.conn.ExecContext(context.Background(), `UPDATE replicas SET expires_at = 0 WHERE id = $1`, ls.id)
		ls.conn.Close()
	}
}
