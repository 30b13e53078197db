package ledger

import (
	"context"
	"errors"
	"time"
)

// Ask is a request to reserve for: who asks, on which path, for which
// models (as the ledger shows them), and its plan, made from Class. Token
// is the token the request came with, checked against the student's under
// her lock (so a gateway may remember who holds a token: a revoked one is
// refused here); "" where another (the hub) vouches for her.
type Ask struct {
	Student, Path, Model string
	Token                string
	Plan                 Plan
	Class                *Class
}

// usedQuery is what a student's (?2) answers hold, kept in charges by
// the ledger's triggers: open ones, and today's (?1) and all answers'
// tokens and dollars (settled answers as charged, open ones as reserved);
// then how many requests she started since ?3, and when the oldest did.
const usedQuery = `SELECT CAST(COALESCE(SUM(open), 0) AS BIGINT),
	CAST(COALESCE(SUM(CASE WHEN day = ?1 THEN tokens END), 0) AS BIGINT), COALESCE(SUM(CASE WHEN day = ?1 THEN usd END), 0),
	CAST(COALESCE(SUM(tokens), 0) AS BIGINT), COALESCE(SUM(usd), 0),
	(SELECT COUNT(*) FROM requests WHERE student = ?2 AND started_at > ?3),
	(SELECT COALESCE(MIN(started_at), 0) FROM requests WHERE student = ?2 AND started_at > ?3)
	FROM charges WHERE student = ?2`

// Reserve checks every switch and limit for a.Student and, if the request
// may go ahead, records it as open with its reservation, in one
// transaction. The output cap is lowered to what the budget has left, and
// a request whose reservation does not fit is refused: open answers count
// with their reservations, so concurrent answers cannot share out the same
// dollars. A teacher's change since a.Class was read refuses nothing: it
// returns ErrStale, and the request is planned again from Ledger.Class.
//
// Atomic across replicas: SQLite's transactions take the write lock first;
// PostgreSQL's lock the class's version FOR SHARE (a teacher's change, which
// bumps it first, waits for the reservations under way, and every later
// one sees it) and then the student's row FOR UPDATE (one student's
// check-then-insert is serialised on every replica while other students go
// on in parallel); each statement after the lock sees what committed before it.
func (l *Ledger) Reserve(ctx context.Context, a Ask) (Grant, *Refusal, error) {
	if a.Class == nil {
		return Grant{}, nil, errors.New("a reservation planned from no class")
	}
	now := l.now()
	var version, paused, open, recent, oldest int64
	var tokenHash string
	var u used
	reads := []step{
		{query: `SELECT version FROM class_version` + l.dialect.locking(" FOR SHARE"), dest: []any{&version}},
		{query: `SELECT paused, COALESCE(token_hash, '') FROM students WHERE name = ?` + l.dialect.locking(" FOR UPDATE"),
			args: []any{a.Student}, dest: []any{&paused, &tokenHash}},
		{query: usedQuery, args: []any{day(now), a.Student, millis(now.Add(-time.Minute))},
			dest: []any{&open, &u.dayTokens, &u.dayUSD, &u.totalTokens, &u.totalUSD, &recent, &oldest}},
	}
	var g Grant
	var refusal *Refusal
	presented := ""
	if a.Token != "" {
		presented = hashToken(a.Token)
	}
	insert := &step{query: `INSERT INTO requests (student, day, started_at, ended_at, path, model, state, reserved_tokens, reserved_usd, replica)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, dest: []any{&g.ID}}
	err := l.dialect.pipeline(ctx, l.db, reads, insert, func() (bool, error) {
		g, refusal = Grant{}, nil
		if version != a.Class.Version {
			return false, ErrStale
		}
		if presented != "" && presented != tokenHash {
			refusal = &Refusal{Reason: TokenRevoked}
			return false, nil
		}
		if refusal = a.admits(paused != 0, open, recent, oldest, now); refusal != nil {
			return false, nil
		}
		if !a.Plan.CountOnly {
			if g, refusal = a.Plan.fit(u.left(a.Class.Limits(a.Student))); refusal != nil {
				return false, nil
			}
		}
		state, ended := "open", any(nil)
		if a.Plan.CountOnly {
			state, ended = "done", millis(now)
		}
		insert.args = []any{a.Student, day(now), millis(now), ended, a.Path, a.Model, state, g.Held.Tokens, g.Held.USD, l.dialect.replica()}
		return true, nil
	})
	if errors.Is(err, ErrStale) {
		l.changed()
	}
	if err != nil {
		return Grant{}, nil, err
	}
	return g, refusal, nil
}

// admits checks the switches and the rates: whether the class or the
// student is paused, and the student's open answers and requests of the
// last minute (recent, the oldest of them at oldest) against her limits.
func (a Ask) admits(paused bool, open, recent, oldest int64, now time.Time) *Refusal {
	lim := a.Class.Limits(a.Student)
	switch {
	case a.Class.PausedAll:
		return &Refusal{Reason: ClassPaused}
	case paused:
		return &Refusal{Reason: StudentPaused}
	case lim.ConcurrentStreams > 0 && open >= lim.ConcurrentStreams:
		return &Refusal{Reason: TooManyStreams}
	case lim.RequestsPerMinute > 0 && recent >= lim.RequestsPerMinute:
		return &Refusal{Reason: RateLimited, Wait: time.UnixMilli(oldest).Add(time.Minute).Sub(now)}
	}
	return nil
}
