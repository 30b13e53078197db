package ledger

import "time"

// Reason is why the ledger refuses a request.
type Reason int

// The reasons a request is refused.
const (
	ClassPaused    Reason = iota + 1 // the teacher paused the class
	StudentPaused                    // the teacher paused the student
	TooManyStreams                   // her limit of answers at once is reached
	RateLimited                      // her limit of requests a minute is reached: Refusal.Wait says for how long
	DayBudget                        // today's budget is used up
	TotalBudget                      // the whole budget is used up
	Unpriced                         // a dollar limit, and no price for Refusal.Model
	TokenRevoked                     // Ask.Token is no longer hers
)

// Refusal is a request the ledger turns away, and why.
type Refusal struct {
	Reason Reason
	Wait   time.Duration // RateLimited: until the oldest request of the minute leaves it
	Model  string        // Unpriced: the model the price table lacks ("" when none was named)
}
