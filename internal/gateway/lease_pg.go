package gateway

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
)

// replicaLeaseTerm is how long a replica that stopped renewing keeps its
// open answers: longer than a restart of PostgreSQL plus a renewal.
var replicaLeaseTerm = 10 * time.Second

// pgNowMillis is the database's clock in unix milliseconds.
const pgNowMillis = `(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT`

// replicaLease is this process's id, the connection that holds its lock
// (nil while it must be re-dialled), and the renewing goroutine.
type replicaLease struct {
	id      int64
	conn    *sql.Conn
	stop    chan struct{}
	done    chan struct{}
	failing bool
}

// closeInterruptedPG makes this process a replica (once) and closes the
// open answers of replicas that no longer run.
func (l *Ledger) closeInterruptedPG() (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if l.lease == nil {
		if err := l.startLease(ctx); err != nil {
			return 0, fmt.Errorf("cannot register this gateway as a replica in the ledger database: %w", err)
		}
	}
	return l.sweep(ctx)
}

// startLease picks a free replica id, takes its lock, writes its lease and
// starts renewing it.
func (l *Ledger) startLease(ctx context.Context) error {
	ls := &replicaLease{stop: make(chan struct{}), done: make(chan struct{})}
	var err error
	for range 5 {
		var b [4]byte
		rand.Read(b[:])
		ls.id = int64(binary.BigEndian.Uint32(b[:])>>1) + 1 // positive int4: 0 marks answers of no replica
		if err = l.renew(ctx, ls); err == nil {
			break
		}
	}
	if err != nil {
		return err
	}
	l.replica, l.lease = ls.id, ls
	go l.keepLease(ls)
	return nil
}

// renew takes the replica's lock on a fresh connection when it has none,
// then extends its lease on that connection: a renewal that succeeds proves
// the lock is held on the server as it runs now.
func (l *Ledger) renew(ctx context.Context, ls *replicaLease) error {
	if ls.conn == nil {
		conn, err := l.db.Conn(ctx)
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
		ls.id, replicaLeaseTerm.Milliseconds())
	if err != nil {
		ls.conn.Close()
		ls.conn = nil
	}
	return err
}

// sweep charges the open answers of replicas that no longer run their
// reservations (what they streamed is unknown), and forgets long-dead ones.
func (l *Ledger) sweep(ctx context.Context) (int64, error) {
	var n int64
	err := l.tx(ctx, func(tx dbq) error {
		r, err := tx.Exec(`UPDATE requests SET state = 'interrupted', ended_at = COALESCE(ended_at, `+pgNowMillis+`),
			output_tokens = reserved_tokens, cost_usd = reserved_usd, estimated = 1
			WHERE state = 'open' AND replica <> ? AND replica NOT IN (
				SELECT id FROM replicas WHERE expires_at >= `+pgNowMillis+`
				AND NOT (renewed_at > (EXTRACT(EPOCH FROM pg_postmaster_start_time()) * 1000)::BIGINT
					AND pg_try_advisory_xact_lock(?, id::INT)))`, l.replica, replicaLockClass)
		if err != nil {
			return err
		}
		if n, err = r.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.Exec(`DELETE FROM replicas WHERE expires_at < ` + pgNowMillis + ` - 3600000`)
		return err
	})
	return n, err
}

// keepLease renews the lease and sweeps until the ledger closes, saying
// once when the database is lost and once when it is back.
func (l *Ledger) keepLease(ls *replicaLease) {
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
		err := l.renew(ctx, ls)
		var n int64
		if err == nil {
			n, err = l.sweep(ctx)
		}
		cancel()
		switch {
		case err != nil && !ls.failing:
			l.logf("ledger: cannot reach the database to renew replica %d's lease (retrying every %s): %v", ls.id, renewEvery, err)
		case err == nil && ls.failing:
			l.logf("ledger: the database is reachable again; replica %d renewed its lease", ls.id)
		}
		ls.failing = err != nil
		if n > 0 {
			l.logf("ledger: %d answers of replicas that stopped were each charged their reservation", n)
		}
	}
}

// endLease stops renewing and frees the lock: what this replica left open
// is closed by the next sweep of another.
func (l *Ledger) endLease() {
	if l.lease == nil {
		return
	}
	close(l.lease.stop)
	<-l.lease.done
	if l.lease.conn != nil {
		// Best effort: a lease not ended here expires by itself within replicaLeaseTerm.
		_, _ = l.lease.conn.ExecContext(context.Background(), `UPDATE replicas SET expires_at = 0 WHERE id = $1`, l.lease.id)
		l.lease.conn.Close()
	}
	l.lease = nil
}

// logf says what the lease did, where the gateway logs.
func (l *Ledger) logf(format string, args ...any) {
	if l.log != nil {
		l.log(format, args...)
	}
}
