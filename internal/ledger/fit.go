package ledger

// MaxOutputCap is the largest output cap a student may ask for.
const MaxOutputCap = 128000

// MaxAnswers is the most answers (n, best_of) one request may ask for.
const MaxAnswers = 128

// minAnswerTokens is the smallest output cap worth sending: a student whose
// budget leaves less is told it is used up.
const minAnswerTokens = 16

// Plan is what a request asks of the budget, made from a Class.
type Plan struct {
	InputTokens int64 // estimated from the body
	Cap         int64 // the output cap asked for; 0: none
	Answers     int64 // answers generated (n, best_of), each up to the cap; 0: one
	DefaultOut  int64 // what an uncapped answer is reserved for
	Price       Price
	Priced      bool    // Price is known (else the reservation is the charge)
	Unpriced    string  // a model the price table lacks; "" for none named
	MinUSD      float64 // the smallest reservation
	CountOnly   bool    // v1/models: switches and rate limits only, nothing held
}

// Reservation is what an answer may use, held while it streams.
type Reservation struct {
	Tokens int64
	USD    float64
}

// Grant is an admitted request: its ledger row, what it holds, and the
// output cap its body must carry (0: leave the body's as it is).
type Grant struct {
	ID   int64
	Held Reservation
	Cap  int64
}

// budgetLeft is what a student may still use, by the tightest limit of
// each kind, with the reason that limit refuses for.
type budgetLeft struct {
	hasTokens, hasUSD       bool
	tokens                  int64
	usd                     float64
	tokensReason, usdReason Reason
}

// used is what a student's answers hold: settled ones as charged, open
// ones as reserved; today's and in all.
type used struct {
	dayTokens, totalTokens int64
	dayUSD, totalUSD       float64
}

// left is what lim leaves of u.
func (u used) left(lim Effective) budgetLeft {
	var b budgetLeft
	tokenLimit := func(limit, used int64, r Reason) {
		if left := limit - used; limit > 0 && (!b.hasTokens || left < b.tokens) {
			b.hasTokens, b.tokens, b.tokensReason = true, left, r
		}
	}
	usdLimit := func(limit, used float64, r Reason) {
		if left := limit - used; limit > 0 && (!b.hasUSD || left < b.usd) {
			b.hasUSD, b.usd, b.usdReason = true, left, r
		}
	}
	tokenLimit(lim.TokensPerDay, u.dayTokens, DayBudget)
	tokenLimit(lim.TokensTotal, u.totalTokens, TotalBudget)
	usdLimit(lim.USDPerDay, u.dayUSD, DayBudget)
	usdLimit(lim.USDTotal, u.totalUSD, TotalBudget)
	return b
}

// fit is what the request may hold within what is left: its output cap
// lowered so that input and all its answers' output fit at its price, or
// the refusal.
func (p Plan) fit(left budgetLeft) (Grant, *Refusal) {
	if left.hasUSD && !p.Priced { // a dollar limit cannot bound what has no price
		if left.usd <= 0 {
			return Grant{}, &Refusal{Reason: left.usdReason}
		}
		return Grant{}, &Refusal{Reason: Unpriced, Model: p.Unpriced}
	}
	answers := max(p.Answers, 1)
	out, capped := int64(MaxOutputCap), false
	if left.hasTokens {
		out, capped = min(out, satAdd(left.tokens, -p.InputTokens)/answers), true
		if out < minAnswerTokens {
			return Grant{}, &Refusal{Reason: left.tokensReason}
		}
	}
	if left.hasUSD && p.Priced && p.Price.Output > 0 {
		room := (left.usd - p.Price.Input*float64(p.InputTokens)/1e6) / (p.Price.Output / 1e6) / float64(answers)
		if room < minAnswerTokens {
			return Grant{}, &Refusal{Reason: left.usdReason}
		}
		if room < float64(out) {
			out = int64(room)
		}
		capped = true
	}
	g := Grant{Cap: p.Cap}
	if capped && (g.Cap == 0 || g.Cap > out) {
		g.Cap = out
	}
	held := g.Cap
	if held == 0 {
		held = p.DefaultOut
	}
	held *= answers // at most MaxOutputCap (or the setting) times MaxAnswers: no overflow
	g.Held = Reservation{Tokens: satAdd(p.InputTokens, held), USD: max(p.Price.Cost(p.InputTokens, held), p.MinUSD)}
	switch {
	case left.hasUSD && left.usd <= 0:
		return Grant{}, &Refusal{Reason: left.usdReason}
	case left.hasTokens && g.Held.Tokens > left.tokens:
		return Grant{}, &Refusal{Reason: left.tokensReason}
	case left.hasUSD && g.Held.USD > left.usd:
		return Grant{}, &Refusal{Reason: left.usdReason}
	}
	if g.Cap == p.Cap {
		g.Cap = 0 // the body's own cap stands
	}
	return g, nil
}

// satAdd adds without wrapping past the int64 range.
func satAdd(a, b int64) int64 {
	if b > 0 && a > (1<<63-1)-b {
		return 1<<63 - 1
	}
	if b < 0 && a < -(1<<63)-b {
		return -(1 << 63)
	}
	return a + b
}
