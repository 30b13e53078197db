package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"
)

// MaxRequestBytes is the largest request body a student may send.
const MaxRequestBytes = 1 << 20

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
			values[i] = string(redactKey([]byte(v), c.key))
		}
		resp.Header[name] = values
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
	}
	body = redactKey(body, c.key)
	resp.Body = io.NopCloser(bytes.NewReader(body))
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
	id, refusal := g.student(r)
	if refusal != nil {
		refuse(w, sh, refusal)
		return
	}
	c := &call{student: id.Name, path: path, target: g.upstreamURL(path), key: g.key}
	var body []byte
	if r.Method == http.MethodPost {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
		if err != nil {
			failure(w, sh, http.StatusRequestEntityTooLarge, fmt.Sprintf("The request is larger than the class gateway accepts (%d KiB); send a shorter conversation.", MaxRequestBytes>>10))
			return
		}
		if body, refusal = g.admit(r.Context(), c, body); refusal != nil {
			refuse(w, sh, refusal)
			return
		}
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

// admit reads the request, reserves its budget and returns the body to send.
func (g *Gateway) admit(ctx context.Context, c *call, body []byte) ([]byte, *Refusal) {
	a, err := parseAsked(body)
	if err != nil {
		return nil, &Refusal{Status: http.StatusBadRequest, Type: "invalid_request", Message: "The request body is not valid JSON."}
	}
	c.model, c.chat = a.Model, c.path == "v1/chat/completions"
	if c.chat {
		if body, c.hideUsage, err = askForUsage(body, a); err != nil {
			return nil, &Refusal{Status: http.StatusBadRequest, Type: "invalid_request", Message: "The request's stream_options is not a JSON object."}
		}
	}
	res, err := g.reservationFor(ctx, c, a, len(body))
	if err == nil {
		var refusal *Refusal
		if c.id, refusal, err = g.ledger.reserve(ctx, c.student, c.path, c.model, res); refusal != nil {
			return nil, refusal
		}
	}
	if err != nil {
		g.logf("ledger: %v", err)
		return nil, &Refusal{Status: http.StatusServiceUnavailable, Type: "class_gateway_error",
			Message: "The class gateway cannot write its ledger right now; tell your teacher."}
	}
	return body, nil
}

// reservationFor is what an answer holds while it streams: its input
// (estimated at 4 bytes a token) and its output cap, priced.
func (g *Gateway) reservationFor(ctx context.Context, c *call, a askedFor, bodyLen int) (reservation, error) {
	outTokens, minUSD, err := g.ledger.reserveSettings(ctx)
	if err != nil {
		return reservation{}, err
	}
	if cap := a.outputCap(); cap > 0 {
		outTokens = cap
	}
	c.inputEst = int64(bodyLen+3) / 4
	p, err := g.ledger.price(ctx, c.model)
	if err != nil {
		return reservation{}, err
	}
	return reservation{Tokens: c.inputEst + outTokens, USD: max(p.cost(c.inputEst, outTokens), minUSD)}, nil
}

// settle records what the answer used: the usage the upstream reported, or,
// for a stream that ended without it, an estimate of what streamed.
func (g *Gateway) settle(c *call, stopped bool, took time.Duration) {
	o := outcome{Status: c.status, Model: c.upstreamModel}
	switch {
	case c.usage != nil:
		o.State = "done"
		o.InputTokens, o.OutputTokens = c.usage.tokens()
		if c.usage.Cost != nil {
			o.CostUSD = c.usage.Cost.TotalCost
		} else {
			p, _ := g.ledger.price(context.Background(), c.model)
			o.CostUSD = p.cost(o.InputTokens, o.OutputTokens)
		}
	case c.status != http.StatusOK && c.chars == 0:
		o.State = "failed" // refused upstream or unreachable: nothing to charge
	default:
		o.State, o.Estimated = "broken", true
		if stopped {
			o.State = "stopped"
		} else if c.failed {
			o.State = "failed"
		}
		o.InputTokens, o.OutputTokens = c.inputEst, (c.chars+3)/4
		p, _ := g.ledger.price(context.Background(), c.model)
		o.CostUSD = p.cost(o.InputTokens, o.OutputTokens)
	}
	if err := g.ledger.settle(c.id, o); err != nil {
		g.logf("ledger: could not settle request %d of %s: %v", c.id, c.student, err)
	}
	g.logf("%s %s model=%q status=%d %s tokens=%d+%d usd=%.6f estimated=%t %s",
		c.student, c.path, c.model, c.status, o.State, o.InputTokens, o.OutputTokens, o.CostUSD, o.Estimated, took.Round(time.Millisecond))
}
