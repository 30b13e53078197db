package gateway

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/streamdemo/streamdemo/internal/classwire"
)

// Refusal is a request the gateway turns away, with the one sentence the
// student reads. Its Type is what the library recognises.
type Refusal struct {
	Status     int
	Type       string // one of classwire's refusal types
	Message    string
	RetryAfter time.Duration // sent as Retry-After when waiting helps
}

func (r *Refusal) Error() string { return r.Message }

// The refusals a student can meet.
var (
	refuseNoToken       = newRefusal(http.StatusUnauthorized, classwire.TokenRejected, "The class gateway did not accept your token: check the key your teacher gave you.")
	refuseClassPaused   = newRefusal(http.StatusForbidden, classwire.Paused, "Your teacher has paused the model for the whole class (exam mode); ask your teacher.")
	refuseStudentPaused = newRefusal(http.StatusForbidden, classwire.Paused, "Your teacher has paused your access to the model; ask your teacher.")
	refuseDayBudget     = newRefusal(http.StatusTooManyRequests, classwire.BudgetExceeded, "Your class budget for today is used up; ask your teacher.")
	refuseTotalBudget   = newRefusal(http.StatusTooManyRequests, classwire.BudgetExceeded, "Your class budget is used up; ask your teacher.")
	refuseNotTeacher    = newRefusal(http.StatusForbidden, classwire.TeacherOnly, "Only the teacher can see this page or flip these switches.")
	refuseNotFromPage   = newRefusal(http.StatusForbidden, classwire.TeacherOnly, "Switches are flipped from the teacher's page only: open the page itself and use its buttons.")
	refuseSessionEnded  = newRefusal(http.StatusUnauthorized, classwire.TokenRejected, "Your teacher's session ended (its token was revoked or is no longer a teacher's): reload the page to log in again.")
	refuseLedger        = newRefusal(http.StatusServiceUnavailable, classwire.GatewayError, "The class gateway cannot write its ledger right now; tell your teacher.")
	refuseCannotCheck   = newRefusal(http.StatusBadGateway, classwire.GatewayError, "The class gateway could not check your token; try again in a moment.")
)

// refuseUnpriced refuses a student with a dollar limit a model the price
// table does not know, which no dollar limit can bound.
func refuseUnpriced(model string) *Refusal {
	msg := fmt.Sprintf("The class has no price for %s, and your budget is in dollars: ask your teacher to set its price.", model)
	if model == "" {
		msg = "The request names no model, and your budget is in dollars: name one of the class's models."
	}
	return newRefusal(http.StatusBadRequest, classwire.ModelNotAllowed, msg)
}

// newRefusal is a refusal with no wait to honour.
func newRefusal(status int, typ, message string) *Refusal {
	return &Refusal{Status: status, Type: typ, Message: message}
}

// tooMany is the rate-limit refusal, with the wait that helps.
func tooMany(wait time.Duration) *Refusal {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return &Refusal{Status: http.StatusTooManyRequests, Type: classwire.RateLimited,
		Message: classwire.WaitSentence(secs), RetryAfter: time.Duration(secs) * time.Second}
}

// concurrencyWait is how long a student over the concurrent-stream limit is
// asked to wait: about how long a short answer takes.
const concurrencyWait = 2 * time.Second

// reservation is what an answer may use, held while it streams.
type reservation struct {
	Tokens int64
	USD    float64
}

// minAnswerTokens is the smallest output cap worth sending: a student whose
// budget leaves less is told it is used up.
const minAnswerTokens = 16

// plan is what a request asks of the budget.
type plan struct {
	InputTokens int64 // estimated from the body
	Cap         int64 // the output cap asked for; 0: none
	Answers     int64 // answers generated (n, best_of), each up to the cap; 0: one
	DefaultOut  int64 // what an uncapped answer is reserved for
	Price       price
	Priced      bool    // Price is known (else the reservation is the charge)
	Unpriced    string  // a model the price table lacks; "" for none named
	MinUSD      float64 // the smallest reservation
	CountOnly   bool    // v1/models: switches and rate limits only, nothing held
}

// grant is an admitted request: its ledger row, what it holds, and the
// output cap its body must carry (0: leave the body's as it is).
type grant struct {
	ID   int64
	Held reservation
	Cap  int64
}

// reserve checks every switch and limit for student and, if the request may
// go ahead, records it as open with its reservation, in one transaction.
// The output cap is lowered to what the budget has left, and a request
// whose reservation does not fit is refused: open answers count with their
// reservations, so concurrent answers cannot share out the same dollars.
func (l *Ledger) reserve(ctx context.Context, student, path, model string, p plan) (grant, *Refusal, error) {
	now := l.now()
	var g grant
	var refusal *Refusal
	err := l.tx(ctx, func(tx dbq) error {
		refusal, g = nil, grant{}
		// Atomic across replicas: SQLite's transactions take the write
		// lock first (_txlock=immediate); PostgreSQL's lock the student's
		// row FOR UPDATE, so one student's check-then-insert is serialised
		// on every replica while other students go on in parallel, and the
		// pause-all row FOR SHARE, so pausing the class waits for the
		// reservations under way and every later one sees it.
		var pausedAll string
		if err := tx.QueryRow(`SELECT value FROM settings WHERE key = 'paused_all'` + l.lock(" FOR SHARE")).Scan(&pausedAll); err != nil {
			return err
		} else if pausedAll == "1" {
			refusal = refuseClassPaused
			return nil
		}
		var paused bool
		if err := tx.QueryRow(`SELECT paused FROM students WHERE name = ?`+l.lock(" FOR UPDATE"), student).Scan(&paused); err != nil {
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
		if refusal, err = checkRate(tx, student, now, lim); err != nil || refusal != nil {
			return err
		}
		if !p.CountOnly {
			left, err := remaining(tx, student, now, lim)
			if err != nil {
				return err
			}
			if g, refusal = p.fit(left); refusal != nil {
				return nil
			}
		}
		state := "open"
		if p.CountOnly {
			state = "done"
		}
		var ended sql.NullInt64
		if p.CountOnly {
			ended = sql.NullInt64{Int64: millis(now), Valid: true}
		}
		return tx.QueryRow(`INSERT INTO requests (student, day, started_at, ended_at, path, model, state, reserved_tokens, reserved_usd, replica)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, student, day(now), millis(now), ended,
			path, model, state, g.Held.Tokens, g.Held.USD, l.replica).Scan(&g.ID)
	})
	return g, refusal, err
}

// charged sums what a set of requests used: settled ones as charged, open
// ones as reserved.
const charged = `COALESCE(SUM(CASE state WHEN 'open' THEN reserved_tokens ELSE input_tokens + output_tokens END), 0),
	COALESCE(SUM(CASE state WHEN 'open' THEN reserved_usd ELSE cost_usd END), 0)`

func checkRate(tx dbq, student string, now time.Time, lim effective) (*Refusal, error) {
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
	return nil, nil
}

// budgetLeft is what a student may still use, by the tightest limit of
// each kind, with the refusal that limit gives.
type budgetLeft struct {
	hasTokens, hasUSD bool
	tokens            int64
	usd               float64
	tokensRefusal     *Refusal
	usdRefusal        *Refusal
}

func remaining(tx dbq, student string, now time.Time, lim effective) (budgetLeft, error) {
	var b budgetLeft
	var dayTokens, totalTokens int64
	var dayUSD, totalUSD float64
	if err := tx.QueryRow(`SELECT `+charged+` FROM requests WHERE student = ? AND day = ?`, student, day(now)).Scan(&dayTokens, &dayUSD); err != nil {
		return b, err
	}
	if lim.TokensTotal > 0 || lim.USDTotal > 0 {
		if err := tx.QueryRow(`SELECT `+charged+` FROM requests WHERE student = ?`, student).Scan(&totalTokens, &totalUSD); err != nil {
			return b, err
		}
	}
	tokenLimit := func(limit, used int64, r *Refusal) {
		if left := limit - used; limit > 0 && (!b.hasTokens || left < b.tokens) {
			b.hasTokens, b.tokens, b.tokensRefusal = true, left, r
		}
	}
	usdLimit := func(limit, used float64, r *Refusal) {
		if left := limit - used; limit > 0 && (!b.hasUSD || left < b.usd) {
			b.hasUSD, b.usd, b.usdRefusal = true, left, r
		}
	}
	tokenLimit(lim.TokensPerDay, dayTokens, refuseDayBudget)
	tokenLimit(lim.TokensTotal, totalTokens, refuseTotalBudget)
	usdLimit(lim.USDPerDay, dayUSD, refuseDayBudget)
	usdLimit(lim.USDTotal, totalUSD, refuseTotalBudget)
	return b, nil
}

// fit is what the request may hold within what is left: its output cap
// lowered so that input and all its answers' output fit at its price, or
// the refusal.
func (p plan) fit(left budgetLeft) (grant, *Refusal) {
	if left.hasUSD && !p.Priced { // a dollar limit cannot bound what has no price
		if left.usd <= 0 {
			return grant{}, left.usdRefusal
		}
		return grant{}, refuseUnpriced(p.Unpriced)
	}
	answers := max(p.Answers, 1)
	out, capped := int64(MaxOutputCap), false
	if left.hasTokens {
		out, capped = min(out, satAdd(left.tokens, -p.InputTokens)/answers), true
		if out < minAnswerTokens {
			return grant{}, left.tokensRefusal
		}
	}
	if left.hasUSD && p.Priced && p.Price.Output > 0 {
		room := (left.usd - p.Price.Input*float64(p.InputTokens)/1e6) / (p.Price.Output / 1e6) / float64(answers)
		if room < minAnswerTokens {
			return grant{}, left.usdRefusal
		}
		if room < float64(out) {
			out = int64(room)
		}
		capped = true
	}
	g := grant{Cap: p.Cap}
	if capped && (g.Cap == 0 || g.Cap > out) {
		g.Cap = out
	}
	held := g.Cap
	if held == 0 {
		held = p.DefaultOut
	}
	held *= answers // at most MaxOutputCap (or the setting) times MaxAnswers: no overflow
	g.Held = reservation{Tokens: satAdd(p.InputTokens, held), USD: max(p.Price.cost(p.InputTokens, held), p.MinUSD)}
	switch {
	case left.hasUSD && left.usd <= 0:
		return grant{}, left.usdRefusal
	case left.hasTokens && g.Held.Tokens > left.tokens:
		return grant{}, left.tokensRefusal
	case left.hasUSD && g.Held.USD > left.usd:
		return grant{}, left.usdRefusal
	}
	if g.Cap == p.Cap {
		g.Cap = 0 // the body's own cap stands
	}
	return g, nil
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
	o.InputTokens, o.OutputTokens, o.CostUSD = max(o.InputTokens, 0), max(o.OutputTokens, 0), max(o.CostUSD, 0)
	return l.tx(context.Background(), func(tx dbq) error {
		_, err := tx.Exec(`UPDATE requests SET state = ?, ended_at = ?, status = ?, model = CASE WHEN ? = '' THEN model ELSE ? END,
			input_tokens = ?, output_tokens = ?, cost_usd = ?, estimated = ? WHERE id = ? AND state = 'open'`,
			o.State, millis(l.now()), o.Status, o.Model, o.Model, o.InputTokens, o.OutputTokens, o.CostUSD, o.Estimated, id)
		return err
	})
}

// closeInterrupted settles the answers a killed gateway left open: what they
// streamed is unknown, so each is charged its reservation, marked estimated.
// With PostgreSQL only those of replicas that no longer run (lease_pg.go).
func (l *Ledger) closeInterrupted() (int64, error) {
	if l.pg {
		return l.closeInterruptedPG()
	}
	return l.closeOpen()
}

// closeOpen charges every open answer its reservation.
func (l *Ledger) closeOpen() (int64, error) {
	var n int64
	err := l.tx(context.Background(), func(tx dbq) error {
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
