package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
)

// settleRetryFor bounds how long a gateway keeps trying to record what an
// answer used while its database is away (a restart of PostgreSQL, a
// network cut); the answer stays open, held at its reservation, meanwhile.
const settleRetryFor = 2 * time.Minute

// outcome is what the answer used: the usage the upstream reported; or,
// for an answer cut before its usage arrived (by the student, the network or
// a hanging upstream), what streamed at the model's known price but never
// less than the smallest reservation. The whole reservation is the charge
// where no price is known, and for a request not streamed that was cut
// before its answer was read: the upstream bills that answer whole. Only an
// answer the upstream refused, or never received, is free; what the upstream
// reported an answer (or a step of it) cost, fees included, is the least
// charge. Prices are the class's as admission read them.
func outcome(c *call, stopped bool) ledger.Outcome {
	o := ledger.Outcome{Status: c.status, Model: c.Ran}
	switch {
	case c.Usage != nil:
		o.State = "done"
		o.InputTokens, o.OutputTokens = c.Usage.Tokens()
		o.CostUSD = usedCost(c, o.InputTokens, o.OutputTokens)
	case c.status != http.StatusOK && c.status != 0 && c.Chars == 0:
		o.State = "failed" // refused upstream: nothing to charge
	case c.status == 0 && !stopped && unreachable(c.proxyErr):
		o.State = "failed" // never reached the upstream
	default:
		o.State, o.Estimated = "broken", true
		if stopped {
			o.State = "stopped"
		} else if c.Failed {
			o.State = "failed"
		}
		o.InputTokens, o.OutputTokens = c.inputEst, (c.Chars+3)/4
		o.CostUSD = c.reserved.USD
		if c.priced && (c.stream || c.whole) {
			p, _ := c.class.Price(c.engines)
			o.CostUSD = max(p.Cost(o.InputTokens, o.OutputTokens), c.minUSD)
		}
	}
	o.CostUSD = max(o.CostUSD, c.Fees) // what the upstream says it cost is the least charge
	return o
}

// usedCost is what a completed answer cost: what the upstream reported;
// else its usage at the price of the model that ran, or of those asked
// for; where neither is priced, what it held: an unknown price must not
// make an answer free.
func usedCost(c *call, in, out int64) float64 {
	if c.Usage.Cost != nil {
		return c.Usage.Cost.TotalCost
	}
	if c.Ran != "" {
		if p, unpriced := c.class.Price([]string{c.Ran}); unpriced == "" {
			return p.Cost(in, out)
		}
	}
	if p, unpriced := c.class.Price(c.engines); len(c.engines) > 0 && unpriced == "" {
		return p.Cost(in, out)
	}
	return c.reserved.USD
}

// unreachable says whether err means the request never left the gateway.
func unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// settleLater retries recording an answer's outcome, once a second for
// settleRetryFor: the student's stream has ended and need not wait. An
// answer never recorded stays open and is charged its reservation when
// this gateway stops (by another replica's sweep, or by the next start).
func settleLater(l *ledger.Ledger, c *call, o ledger.Outcome, logf func(string, ...any)) {
	var err error
	for deadline := time.Now().Add(settleRetryFor); time.Now().Before(deadline); {
		time.Sleep(time.Second)
		if err = l.Settle(context.Background(), c.id, o); err == nil {
			logf("ledger: recorded request %d of %s after the database came back", c.id, c.student)
			return
		}
	}
	logf("ledger: gave up recording request %d of %s (%v): it stays held at its reservation", c.id, c.student, err)
}
