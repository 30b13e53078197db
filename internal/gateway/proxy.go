package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	"github.com/streamdemo/streamdemo/internal/classwire"
	"github.com/streamdemo/streamdemo/internal/sizes"
)

type callKey struct{}

// newProxy is the reverse proxy to the upstream: it replaces every header a
// student sent by the few the upstream needs (and the key), flushes each
// event at once, and reads answers for accounting on their way back.
func (g *Gateway) newProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			c := pr.In.Context().Value(callKey{}).(*call)
			pr.Out.URL = c.target
			pr.Out.Host = ""
			h := http.Header{
				"Content-Type":    {"application/json"},
				"Accept":          {"text/event-stream, application/json"},
				"Accept-Encoding": {"identity"},
				"User-Agent":      {"streamdemo-gateway"},
			}
			if len(c.key) > 0 {
				h.Set("Authorization", "Bearer "+string(c.key))
			}
			pr.Out.Header = h
		},
		Transport:      g.transport,
		FlushInterval:  -1,
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.proxyError,
		ErrorLog:       g.errorLog,
	}
}

// modifyResponse strips what must not reach a student and wraps the body so
// accounting can read it as it passes.
func (g *Gateway) modifyResponse(resp *http.Response) error {
	c := resp.Request.Context().Value(callKey{}).(*call)
	c.status = resp.StatusCode
	resp.Header.Del("Set-Cookie")
	for name, values := range resp.Header {
		for i, v := range values {
			values[i] = c.hide.String(v)
		}
		resp.Header[name] = values
	}
	if resp.StatusCode == http.StatusOK {
		g.keyAccepted()
	}
	if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body = newEventFilter(resp.Body, c)
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxWholeBytes+1))
	resp.Body.Close()
	if err != nil {
		return err
	}
	if len(body) > maxWholeBytes {
		return errTooLarge
	}
	if resp.StatusCode == http.StatusOK {
		c.observe(body)
		c.whole = true
	}
	if refusesKey(resp.StatusCode, body) {
		body = g.keyRefused(resp, c)
		resp.Header.Set("Content-Type", "application/json")
	}
	body = c.hide.Bytes(body)
	resp.Body = nopBody(body)
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// proxyError answers when the upstream could not be reached or its answer
// could not be forwarded; a student who left needs no answer.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	c := r.Context().Value(callKey{}).(*call)
	c.proxyErr = err
	if r.Context().Err() != nil {
		return
	}
	msg := "The class gateway could not reach the model server; tell your teacher."
	if errors.Is(err, errTooLarge) {
		msg = "The model server sent an answer too large to forward; tell your teacher."
	}
	failure(w, shapeOf(c.path), http.StatusBadGateway, msg)
}

// llm serves the model endpoints: authenticate, reserve, proxy, settle.
func (g *Gateway) llm(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, g.prefix)
	sh := shapeOf(path)
	// Bounded before the body is read: who asks, how large, how many at once.
	id, refusal := g.student(r)
	if refusal == nil && r.ContentLength > sizes.MaxRequest {
		refusal = refuseTooLarge
	}
	if refusal == nil {
		refusal = g.takeSlot(r.Context(), id.Name)
	}
	if refusal != nil {
		refuseUnread(w, r, sh, refusal)
		return
	}
	defer g.underWay.done(id.Name)
	c := &call{student: id.Name, path: path, target: g.upstreamURL(path), key: g.key, hide: g.hide}
	var body []byte
	if r.Method == http.MethodPost {
		var err error
		body, err = readBody(w, r)
		var tooBig *http.MaxBytesError
		if err != nil && !errors.As(err, &tooBig) {
			failure(w, sh, http.StatusRequestTimeout, "The request body did not arrive in time; send it again.")
			return
		}
		if err != nil {
			refuse(w, sh, refuseTooLarge)
			return
		}
		if body, refusal = g.admit(r.Context(), c, body); refusal != nil {
			refuse(w, sh, refusal)
			return
		}
	} else if refusal = g.count(r.Context(), c); refusal != nil {
		refuse(w, sh, refusal)
		return
	}
	start := time.Now()
	out := r.Clone(context.WithValue(r.Context(), callKey{}, c))
	out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	out.URL.RawQuery = ""
	if c.id != 0 {
		// Deferred: the proxy aborts the handler (panics) when a stream is cut.
		defer func() { g.settle(c, r.Context().Err() != nil, time.Since(start)) }()
	}
	g.proxy.ServeHTTP(w, out)
}

// refuseTooLarge refuses a body over sizes.MaxRequest.
var refuseTooLarge = newRefusal(http.StatusRequestEntityTooLarge, classwire.GatewayError,
	fmt.Sprintf("The request is larger than the class gateway accepts (%d KiB); send a shorter conversation.", sizes.MaxRequest>>10))

// readBody reads a request body of at most sizes.MaxRequest, in a buffer
// of the size announced.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(int(min(max(r.ContentLength, 0), sizes.MaxRequest)) + bytes.MinRead)
	_, err := b.ReadFrom(http.MaxBytesReader(w, r.Body, sizes.MaxRequest))
	return b.Bytes(), err
}

// admit reads the request, checks its model, reserves its budget and
// returns the body to send (its output cap lowered to what the budget has
// left, and a streamed chat asking for its usage).
func (g *Gateway) admit(ctx context.Context, c *call, body []byte) ([]byte, *Refusal) {
	a, err := parseAsked(body)
	if err != nil {
		return nil, badBody(c.path, err)
	}
	engines := a.engines()
	c.engines, c.model, c.chat, c.stream = engines, strings.Join(engines, ","), c.path == "v1/chat/completions", a.Stream
	if refusal := g.checkModels(ctx, engines); refusal != nil {
		return nil, refusal
	}
	includeUsage := false
	if c.chat {
		if includeUsage, err = wantsUsage(a); err != nil {
			return nil, badBody(c.path, err)
		}
		c.hideUsage = includeUsage
	}
	p, err := g.planFor(ctx, c, a, len(body))
	var gr grant
	if err == nil {
		var refusal *Refusal
		if gr, refusal, err = g.ledger.reserve(ctx, c.student, c.path, c.model, p); refusal != nil {
			return nil, refusal
		}
	}
	if err != nil {
		g.logf("ledger: %v", err)
		return nil, refuseLedger
	}
	c.id, c.reserved = gr.ID, gr.Held
	field := "max_output_tokens"
	if c.chat {
		field = "max_tokens"
	}
	if body, err = rewrite(body, a, gr.Cap, field, includeUsage); err != nil {
		return nil, badBody(c.path, err) // cannot happen: the body was read above
	}
	return body, nil
}

// badBody is the refusal of a body the gateway cannot account for, in the
// upstream's own words for a bad request.
func badBody(path string, err error) *Refusal {
	typ := "invalid_request_error"
	if shapeOf(path) == agentShape {
		typ = "invalid_request"
	}
	msg := "The request body is not valid JSON."
	var bad *badRequest
	if errors.As(err, &bad) {
		msg = bad.message
	}
	return &Refusal{Status: http.StatusBadRequest, Type: typ, Message: msg}
}

// planFor is what an answer asks of the budget: its input (estimated at 4
// bytes a token), its output cap, and the price of its model.
func (g *Gateway) planFor(ctx context.Context, c *call, a askedFor, bodyLen int) (plan, error) {
	outTokens, minUSD, err := g.ledger.reserveSettings(ctx)
	if err != nil {
		return plan{}, err
	}
	c.inputEst = int64(bodyLen+3) / 4
	p, unpriced, err := g.ledger.priceOf(ctx, c.engines)
	if err != nil {
		return plan{}, err
	}
	c.priced, c.minUSD = len(c.engines) > 0 && unpriced == "", minUSD
	return plan{InputTokens: c.inputEst, Cap: a.outputCap(), Answers: a.answers, DefaultOut: outTokens,
		Price: p, Priced: c.priced, Unpriced: unpriced, MinUSD: minUSD}, nil
}

// count admits a request that costs nothing (v1/models): it meets the
// switches and the rate limits and is counted, but holds and is charged nothing.
func (g *Gateway) count(ctx context.Context, c *call) *Refusal {
	_, refusal, err := g.ledger.reserve(ctx, c.student, c.path, "", plan{CountOnly: true})
	if err != nil {
		g.logf("ledger: %v", err)
		return refuseLedger
	}
	return refusal
}

// settle records what the answer used: the usage the upstream reported; or,
// for an answer cut before its usage arrived (by the student, the network or
// a hanging upstream), what streamed at the model's known price but never
// less than the smallest reservation. The whole reservation is the charge
// where no price is known, and for a request not streamed that was cut
// before its answer was read: the upstream bills that answer whole. Only an
// answer the upstream refused, or never received, is free; what the upstream
// reported an answer (or a step of it) cost, fees included, is the least charge.
func (g *Gateway) settle(c *call, stopped bool, took time.Duration) {
	ctx := context.Background()
	o := outcome{Status: c.status, Model: c.upstreamModel}
	switch {
	case c.usage != nil:
		o.State = "done"
		o.InputTokens, o.OutputTokens = c.usage.tokens()
		o.CostUSD = g.usedCost(ctx, c, o.InputTokens, o.OutputTokens)
	case c.status != http.StatusOK && c.status != 0 && c.chars == 0:
		o.State = "failed" // refused upstream: nothing to charge
	case c.status == 0 && !stopped && unreachable(c.proxyErr):
		o.State = "failed" // never reached the upstream
	default:
		o.State, o.Estimated = "broken", true
		if stopped {
			o.State = "stopped"
		} else if c.failed {
			o.State = "failed"
		}
		o.InputTokens, o.OutputTokens = c.inputEst, (c.chars+3)/4
		o.CostUSD = c.reserved.USD
		if c.priced && (c.stream || c.whole) {
			if p, _, err := g.ledger.priceOf(ctx, c.engines); err != nil {
				g.logf("ledger: no price for request %d of %s, charged its reservation: %v", c.id, c.student, err)
			} else {
				o.CostUSD = max(p.cost(o.InputTokens, o.OutputTokens), c.minUSD)
			}
		}
	}
	o.CostUSD = max(o.CostUSD, c.fees) // what the upstream says it cost is the least charge
	if err := g.ledger.settle(c.id, o); err != nil {
		g.settleLater(c, o, err)
	}
	g.logf("%s %s model=%q status=%d %s tokens=%d+%d usd=%.6f estimated=%t %s",
		c.student, c.path, c.model, c.status, o.State, o.InputTokens, o.OutputTokens, o.CostUSD, o.Estimated, took.Round(time.Millisecond))
}

// usedCost is what a completed answer cost: what the upstream reported;
// else its usage at the price of the model that ran, or of those asked
// for; where neither is priced, or the price cannot be read, what it held:
// an unknown price must not make an answer free.
func (g *Gateway) usedCost(ctx context.Context, c *call, in, out int64) float64 {
	if c.usage.Cost != nil {
		return c.usage.Cost.TotalCost
	}
	var p price
	priced, unpriced, err := false, "", error(nil)
	if c.upstreamModel != "" {
		p, unpriced, err = g.ledger.priceOf(ctx, []string{c.upstreamModel})
		priced = unpriced == ""
	}
	if !priced && err == nil {
		p, unpriced, err = g.ledger.priceOf(ctx, c.engines)
		priced = len(c.engines) > 0 && unpriced == ""
	}
	if err != nil {
		g.logf("ledger: no price for request %d of %s, charged its reservation: %v", c.id, c.student, err)
	}
	if err != nil || !priced {
		return c.reserved.USD
	}
	return p.cost(in, out)
}

// unreachable says whether err means the request never left the gateway.
func unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
