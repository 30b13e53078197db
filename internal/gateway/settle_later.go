package gateway

import "time"

// settleRetryFor bounds how long a gateway keeps trying to record what an
// answer used while its database is away (a restart of PostgreSQL, a
// network cut); the answer stays open, held at its reservation, meanwhile.
var settleRetryFor = 2 * time.Minute

// settleLater retries recording an answer's outcome in the background,
// once a second: the student's stream has ended and need not wait. An
// answer never recorded stays open and is charged its reservation when
// this gateway stops (by another replica's sweep, or by the next start).
func (g *Gateway) settleLater(c *call, o outcome, err error) {
	g.logf("ledger: could not record request %d of %s (%v); retrying for %s", c.id, c.student, err, settleRetryFor)
	go func() {
		for deadline := time.Now().Add(settleRetryFor); time.Now().Before(deadline); {
			time.Sleep(time.Second)
			if err = g.ledger.settle(c.id, o); err == nil {
				g.logf("ledger: recorded request %d of %s after the database came back", c.id, c.student)
				return
			}
		}
		g.logf("ledger: gave up recording request %d of %s (%v): it stays held at its reservation", c.id, c.student, err)
	}()
}
