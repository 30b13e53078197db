package gateway

import (
	"context"
	"errors"
	"strings"

	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/meter"
)

// maxReplans bounds how often a request is planned again because the
// teacher changed the class meanwhile.
const maxReplans = 3

// admit reads the request, checks its model, reserves its budget and
// returns the body to send (its output cap lowered to what the budget has
// left, and a streamed chat asking for its usage). What the ledger could
// not do is err, said in the gateway's log.
func admit(ctx context.Context, l *ledger.Ledger, defaults []string, c *call, body []byte) ([]byte, *Refusal, error) {
	a, err := meter.Parse(body, meter.Bounds{Cap: ledger.MaxOutputCap, Answers: ledger.MaxAnswers})
	if err != nil {
		return nil, badBody(c.path, err), nil
	}
	c.engines = a.Engines()
	c.model, c.chat, c.stream = strings.Join(c.engines, ","), c.path == "v1/chat/completions" && c.reply == nil, a.Stream
	includeUsage := false
	if c.chat {
		if includeUsage, err = a.WantsUsage(); err != nil {
			return nil, badBody(c.path, err), nil
		}
		c.HideUsage = includeUsage
	}
	g, refusal, err := reserve(ctx, l, c, func(class *ledger.Class) (ledger.Plan, *Refusal) {
		if refusal := checkModels(allowedModels(class, defaults), c.engines); refusal != nil {
			return ledger.Plan{}, refusal
		}
		return plan(c, a, len(body), class), nil
	})
	if refusal != nil || err != nil {
		return nil, refusal, err
	}
	c.id, c.reserved = g.ID, g.Held
	field := "max_output_tokens"
	if c.chat {
		field = "max_tokens"
	}
	if body, err = a.Rewrite(body, g.Cap, field, includeUsage); err != nil {
		return nil, badBody(c.path, err), nil // cannot happen: the body was read above
	}
	return body, nil, nil
}

// count admits a request that costs nothing (v1/models): it meets the
// switches and the rate limits and is counted, but holds and is charged nothing.
func count(ctx context.Context, l *ledger.Ledger, c *call) (*Refusal, error) {
	_, refusal, err := reserve(ctx, l, c, func(*ledger.Class) (ledger.Plan, *Refusal) {
		return ledger.Plan{CountOnly: true}, nil
	})
	return refusal, err
}

// reserve plans the request from the class as the gateway last read it
// and reserves, planning again if the teacher changed the class meanwhile.
// A refusal, or the ledger's error (then refuseLedger), is what the
// student reads.
func reserve(ctx context.Context, l *ledger.Ledger, c *call, planFrom func(*ledger.Class) (ledger.Plan, *Refusal)) (ledger.Grant, *Refusal, error) {
	for try := 0; ; try++ {
		class, err := l.Class(ctx)
		if err != nil {
			return ledger.Grant{}, refuseLedger, err
		}
		p, refusal := planFrom(class)
		if refusal != nil {
			return ledger.Grant{}, refusal, nil
		}
		c.class = class
		g, lr, err := l.Reserve(ctx, ledger.Ask{Student: c.student, Path: c.path, Model: c.model, Token: c.token, Plan: p, Class: class})
		switch {
		case errors.Is(err, ledger.ErrStale) && try < maxReplans:
			continue
		case err != nil:
			return ledger.Grant{}, refuseLedger, err
		case lr != nil:
			return ledger.Grant{}, refusalFor(lr), nil
		}
		return g, nil, nil
	}
}

// plan is what an answer asks of the budget: its input (estimated at 4
// bytes a token), its output cap and answers, and the price of its model,
// as class has it.
func plan(c *call, a meter.Request, bodyLen int, class *ledger.Class) ledger.Plan {
	c.inputEst = int64(bodyLen+3) / 4
	p, unpriced := class.Price(c.engines)
	c.priced, c.minUSD = len(c.engines) > 0 && unpriced == "", class.ReserveMinUSD
	return ledger.Plan{InputTokens: c.inputEst, Cap: a.OutputCap(), Answers: a.Answers(), DefaultOut: class.ReserveOutputTokens,
		Price: p, Priced: c.priced, Unpriced: unpriced, MinUSD: class.ReserveMinUSD}
}

// badBody is the refusal of a body the gateway cannot account for, in the
// upstream's own words for a bad request.
func badBody(path string, err error) *Refusal {
	typ := "invalid_request_error"
	if shapeOf(path) == agentShape {
		typ = "invalid_request"
	}
	msg := "The request body is not valid JSON."
	var bad *meter.BadRequest
	if errors.As(err, &bad) {
		msg = bad.Message
	}
	return &Refusal{Status: 400, Type: typ, Message: msg}
}
