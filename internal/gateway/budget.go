package gateway

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"net/http"
	"time"
)

// Refusal is a request the gateway turns away, with the one sentence the
// student reads. Its Type is what the library recognises.
type Refusal struct {
	Status     int
	Type       string // class_token_rejected, class_paused, class_rate_limited, class_budget_exceeded, ...
	Message    string
	RetryAfter time.Duration // sent as Retry-After when waiting helps
}

func (r *Refusal) Error() string { return r.Message }

// The refusals a student can meet.
var (
	refuseNoToken = &Refusal{Status: http.StatusUnauthorized, Type: "class_token_rejected",
		Message: "The class gateway did not accept your token: check the key your teacher gave you."}
	refuseClassPaused = &Refusal{Status: http.StatusForbidden, Type: "class_paused",
		Message: "Your teacher has paused the model for the whole class (exam mode); ask your teacher."}
	refuseStudentPaused = &Refusal{Status: http.StatusForbidden, Type: "class_paused",
		Message: "Your teacher has paused your access to the model; ask your teacher."}
	refuseDayBudget = &Refusal{Status: http.StatusTooManyRequests, Type: "class_budget_exceeded",
		Message: "Your class budget for today is used up; ask your teacher."}
	refuseTotalBudget = &Refusal{Status: http.StatusTooManyRequests, Type: "class_budget_exceeded",
		Message: "Your class budget is used up; ask your teacher."}
	refuseNotTeacher = &Refusal{Status: http.StatusForbidden, Type: "class_teacher_only",
		Message: "Only the teacher can see this page or flip these switches."}
	refuseNotFromPage = &Refusal{Status: http.StatusForbidden, Type: "class_teacher_only",
		Message: "Switches are flipped from the teacher's page only: open the page itself and use its buttons."}
	refuseSessionEnded = &Refusal{Status: http.StatusUnauthorized, Type: "class_token_rejected",
		Message: "Your teacher's session ended (its token was revoked or is no longer a teacher's): reload the page to log in again."}
	refuseCannotCheck = &Refusal{Status: http.StatusBadGateway, Type: "class_gateway_error",
		Message: "The class gateway could not check your token; try again in a moment."}
)

// tooMany is the rate-limit refusal, with the wait that helps.
func tooMany(wait time.Duration) *Refusal {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return &Refusal{Status: http.StatusTooManyRequests, Type: "class_rate_limited",
		Message: fmt.Sprintf("Too many requests; wait %d seconds.", secs), RetryAfter: time.Duration(secs) * time.Second}
}

// concurrencyWait is how long a student over the concurrent-stream limit is
// asked to wait: about how long a short answer takes.
const concurrencyWait = 2 * time.Second

// reservation is what an answer may use, held while it streams.
type reservation struct {
	Tokens int64
	USD    float64
}

// reserve checks every switch and limit for student and, if the request may
// go ahead, records it as open with its reservation, in one transaction.
// Answers already streaming count with their reservation, so concurrent
// streams of one student overshoot a budget by at most one reservation.
func (l *Ledger) reserve(ctx context.Context, student, path, model string, res reservation) (int64, *Refusal, error) {
	now := l.now()
	var id int64
	var refusal *Refusal
	err := l.tx(ctx, func(tx *sql.Tx) error {
		refusal = nil
		if v, err := setting(tx, "paused_all"); err != nil {
			return err
		} else if v == "1" {
			refusal = refuseClassPaused
			return nil
		}
		var paused bool
		if err := tx.QueryRow(`SELECT paused FROM students WHERE name = ?`, student).Scan(&paused); err != nil {
			return err
		}
		if paused {
			refusal = refuseStudentPaused
			return nil
		}
		lim, err := effectiveLimits(tx, ctx, student)
		if err != nil {
			return err
		}
		if refusal, err = checkLimits(tx, student, now, lim); err != nil || refusal != nil {
			return err
		}
		r, err := tx.Exec(`INSERT INTO requests (student, day, started_at, path, model, state, reserved_tokens, reserved_usd)
			VALUES (?, ?, ?, ?, ?, 'open', ?, ?)`, student, day(now), millis(now), path, model, res.Tokens, res.USD)
		if err != nil {
			return err
		}
		id, err = r.LastInsertId()
		return err
	})
	return id, refusal, err
}

// charged sums what a set of requests used: settled ones as charged, open
// ones as reserved.
const charged = `COALESCE(SUM(CASE state WHEN 'open' THEN reserved_tokens ELSE input_tokens + output_tokens END), 0),
	COALESCE(SUM(CASE state WHEN 'open' THEN reserved_usd ELSE cost_usd END), 0)`

func checkLimits(tx *sql.Tx, student string, now time.Time, lim effective) (*Refusal, error) {
	if lim.ConcurrentStreams > 0 {
		var open int64
		if err := tx.QueryRow(`SELECT COUNT(*) FROM requests WHERE student = ? AND state = 'open'`, student).Scan(&open); err != nil {
			return nil, err
		}
		if open >= lim.ConcurrentStreams {
			return tooMany(concurrencyWait), nil
		}
	}
	if lim.RequestsPerMinute > 0 {
		var n, oldest int64
		err := tx.QueryRow(`SELECT COUNT(*), COALESCE(MIN(started_at), 0) FROM requests WHERE student = ? AND started_at > ?`,
			student, millis(now.Add(-time.Minute))).Scan(&n, &oldest)
		if err != nil {
			return nil, err
		}
		if n >= lim.RequestsPerMinute {
			return tooMany(time.UnixMilli(oldest).Add(time.Minute).Sub(now)), nil
		}
	}
	var dayTokens, totalTokens int64
	var dayUSD, totalUSD float64
	if err := tx.QueryRow(`SELECT `+charged+` FROM requests WHERE student = ? AND day = ?`, student, day(now)).Scan(&dayTokens, &dayUSD); err != nil {
		return nil, err
	}
	if (lim.TokensPerDay > 0 && dayTokens >= lim.TokensPerDay) || (lim.USDPerDay > 0 && dayUSD >= lim.USDPerDay) {
		return refuseDayBudget, nil
	}
	if lim.TokensTotal > 0 || lim.USDTotal > 0 {
		if err := tx.QueryRow(`SELECT `+charged+` FROM requests WHERE student = ?`, student).Scan(&totalTokens, &totalUSD); err != nil {
			return nil, err
		}
		if (lim.TokensTotal > 0 && totalTokens >= lim.TokensTotal) || (lim.USDTotal > 0 && totalUSD >= lim.USDTotal) {
			return refuseTotalBudget, nil
		}
	}
	return nil, nil
}

// outcome is what an answer really used, known when its stream ends.
type outcome struct {
	State        string // done, broken, stopped, failed
	Status       int
	Model        string
	InputTokens  int64
	OutputTokens int64
	CostUSD      float64
	Estimated    bool
}

// settle replaces a request's reservation by what it used.
func (l *Ledger) settle(id int64, o outcome) error {
	return l.tx(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE requests SET state = ?, ended_at = ?, status = ?, model = CASE WHEN ? = '' THEN model ELSE ? END,
			input_tokens = ?, output_tokens = ?, cost_usd = ?, estimated = ? WHERE id = ? AND state = 'open'`,
			o.State, millis(l.now()), o.Status, o.Model, o.Model, o.InputTokens, o.OutputTokens, o.CostUSD, o.Estimated, id)
		return err
	})
}

// closeInterrupted settles the answers a killed gateway left open: what they
// streamed is unknown, so each is charged its reservation, marked estimated.
func (l *Ledger) closeInterrupted() (int64, error) {
	var n int64
	err := l.tx(context.Background(), func(tx *sql.Tx) error {
		r, err := tx.Exec(`UPDATE requests SET state = 'interrupted', ended_at = COALESCE(ended_at, ?),
			output_tokens = reserved_tokens, cost_usd = reserved_usd, estimated = 1 WHERE state = 'open'`, millis(l.now()))
		if err != nil {
			return err
		}
		n, err = r.RowsAffected()
		return err
	})
	return n, err
}
