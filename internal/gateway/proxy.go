package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/streamdemo/streamdemo/internal/agentchat"
	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/meter"
	"github.com/streamdemo/streamdemo/internal/redact"
	"github.com/streamdemo/streamdemo/internal/sizes"
)

// proxy serves the model endpoints: it knows the student, admits her
// request (admit.go), forwards it to the upstream with the class's key,
// reads the answer on its way back (package meter) and settles it (settle.go).
type proxy struct {
	ledger   *ledger.Ledger
	auth     authenticator
	tokens   *rememberedTokens // the standalone gateway's students' (auth); nil on a hub
	recorded sync.Map          // hub users recorded by this gateway
	route    route
	key      []byte
	hide     *redact.Key // keeps the key out of what leaves
	models   []string    // the gateway's default allow-list
	keys     *keyWatch
	underWay underWay
	rp       *httputil.ReverseProxy
	prefix   string
	logf     func(string, ...any)
}

type callKey struct{}

// ServeHTTP serves a model endpoint: authenticate, reserve, proxy, settle.
func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, p.prefix)
	sh := shapeOf(path)
	// Bounded before the body is read: who asks, how large, how many at once.
	id, refusal := p.student(r)
	if refusal == nil && r.ContentLength > sizes.MaxRequest {
		refusal = refuseTooLarge
	}
	if refusal == nil {
		refusal = p.takeSlot(r.Context(), id.Name)
	}
	if refusal != nil {
		refuseUnread(w, r, sh, refusal)
		return
	}
	defer p.underWay.done(id.Name)
	c := &call{student: id.Name, path: path, target: p.route.url(path)}
	if p.tokens != nil {
		c.token = bearer(r) // checked again in the reservation
	}
	var body []byte
	var err error
	if r.Method == http.MethodPost {
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
		if p.route.agentOnly && path == "v1/chat/completions" {
			body, refusal = chatOverAgent(c, body, p.route.url("v1/responses"))
		}
		if refusal == nil {
			body, refusal, err = admit(r.Context(), p.ledger, p.models, c, body)
		}
	} else {
		refusal, err = count(r.Context(), p.ledger, c)
	}
	if err != nil {
		p.logf("ledger: %v", err)
	}
	if refusal == refuseNoToken && p.tokens != nil {
		p.tokens.forget(c.token)
	}
	if refusal != nil {
		refuse(w, sh, refusal)
		return
	}
	start := time.Now()
	out := r.Clone(context.WithValue(r.Context(), callKey{}, c))
	out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	out.URL.RawQuery = ""
	if c.id != 0 {
		// Deferred: the proxy aborts the handler (panics) when a stream is cut.
		defer func() { p.settle(c, r.Context().Err() != nil, time.Since(start)) }()
	}
	p.rp.ServeHTTP(w, out)
}

// student says who sent r, or why it is refused. A hub user is recorded
// in the ledger the first time this gateway sees her.
func (p *proxy) student(r *http.Request) (Identity, *Refusal) {
	id, ok, err := p.auth.identify(r, bearer(r))
	if err != nil {
		p.logf("auth: %v", err)
		return Identity{}, refuseCannotCheck
	}
	if !ok || !id.Student {
		return Identity{}, refuseNoToken
	}
	if _, seen := p.recorded.Load(id.Name); p.tokens == nil && !seen {
		if err := p.ledger.EnsureStudent(r.Context(), id.Name); err != nil {
			p.logf("ledger: %v", err)
		} else {
			p.recorded.Store(id.Name, true)
		}
	}
	return id, nil
}

// takeSlot counts a request of student's under way before its body is
// read, within her limit of streams at once (else maxUnderWay); the caller
// calls p.underWay.done when the answer is settled. Where the class as
// last read refuses, it is read again first: the teacher may have raised
// the limit.
func (p *proxy) takeSlot(ctx context.Context, student string) *Refusal {
	class, err := p.ledger.Class(ctx)
	if err == nil && !p.underWay.take(student, slots(class.Limits(student).ConcurrentStreams)) {
		if class, err = p.ledger.Refresh(ctx); err == nil && !p.underWay.take(student, slots(class.Limits(student).ConcurrentStreams)) {
			return tooMany(concurrencyWait)
		}
	}
	if err != nil {
		p.logf("ledger: %v", err)
		return refuseLedger
	}
	return nil
}

// readBody reads a request body of at most sizes.MaxRequest, in a buffer
// of the size announced.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(int(min(max(r.ContentLength, 0), sizes.MaxRequest)) + bytes.MinRead)
	_, err := b.ReadFrom(http.MaxBytesReader(w, r.Body, sizes.MaxRequest))
	return b.Bytes(), err
}

// rewrite sets the request to the upstream: the call's target, and in place
// of every header the student sent, the few the upstream needs and the key.
func (p *proxy) rewrite(pr *httputil.ProxyRequest) {
	c := pr.In.Context().Value(callKey{}).(*call)
	pr.Out.URL = c.target
	pr.Out.Host = ""
	h := http.Header{
		"Content-Type":    {"application/json"},
		"Accept":          {"text/event-stream, application/json"},
		"Accept-Encoding": {"identity"},
		"User-Agent":      {"streamdemo-gateway"},
	}
	if len(p.key) > 0 {
		h.Set("Authorization", "Bearer "+string(p.key))
	}
	pr.Out.Header = h
}

// modifyResponse strips what must not reach a student and wraps the body so
// accounting can read it as it passes.
func (p *proxy) modifyResponse(resp *http.Response) error {
	c := resp.Request.Context().Value(callKey{}).(*call)
	c.status = resp.StatusCode
	resp.Header.Del("Set-Cookie")
	for name, values := range resp.Header {
		for i, v := range values {
			values[i] = p.hide.String(v)
		}
		resp.Header[name] = values
	}
	if resp.StatusCode == http.StatusOK {
		p.keys.accepted()
	}
	if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		var into meter.Translator // nil: each event passes on as it came
		if c.reply != nil {
			into = c.reply
		}
		resp.Body = meter.NewFilter(resp.Body, &c.Tally, p.hide, into)
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, meter.MaxWhole+1))
	resp.Body.Close()
	if err != nil {
		return err
	}
	if len(body) > meter.MaxWhole {
		return meter.ErrTooLarge
	}
	if resp.StatusCode == http.StatusOK {
		c.Observe(body)
		c.whole = true
	}
	switch {
	case refusesKey(resp.StatusCode, body):
		body = p.keys.refused(resp, c.path)
		resp.Header.Set("Content-Type", "application/json")
	case c.reply != nil && resp.StatusCode == http.StatusOK:
		if answer, ok := c.reply.Whole(body); ok {
			body = answer
		} else {
			body, resp.StatusCode, resp.Status = answer, http.StatusBadGateway, "502 Bad Gateway"
		}
	case c.reply != nil:
		body = agentchat.Error(body)
	}
	body = p.hide.Bytes(body)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// proxyError answers when the upstream could not be reached or its answer
// could not be forwarded; a student who left needs no answer.
func (p *proxy) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	c := r.Context().Value(callKey{}).(*call)
	c.proxyErr = err
	if r.Context().Err() != nil {
		return
	}
	msg := "The class gateway could not reach the model server; tell your teacher."
	if errors.Is(err, meter.ErrTooLarge) {
		msg = "The model server sent an answer too large to forward; tell your teacher."
	}
	failure(w, shapeOf(c.path), http.StatusBadGateway, msg)
}

// settle records what the answer used (see outcome), retrying in the
// background while the ledger's database is away, and logs it.
func (p *proxy) settle(c *call, stopped bool, took time.Duration) {
	o := outcome(c, stopped)
	if err := p.ledger.Settle(context.Background(), c.id, o); err != nil {
		p.logf("ledger: could not record request %d of %s (%v); retrying for %s", c.id, c.student, err, settleRetryFor)
		go settleLater(p.ledger, c, o, p.logf)
	}
	p.logf("%s %s model=%q status=%d %s tokens=%d+%d usd=%.6f estimated=%t %s",
		c.student, c.path, c.model, c.status, o.State, o.InputTokens, o.OutputTokens, o.CostUSD, o.Estimated, took.Round(time.Millisecond))
}

// route is where a student's path goes upstream.
type route struct {
	upstream  *url.URL // the upstream's base URL, ending in /v1
	agentPath string   // where the upstream's Agent API answers; "": the student's path
	agentOnly bool     // chat completions go to the Agent API and back (chatagent.go)
}

// url is where a student's path goes: the upstream's base URL (which ends
// in /v1) plus the fixed endpoint. Nothing a student sends changes it.
func (rt route) url(path string) *url.URL {
	u := *rt.upstream
	if rt.agentPath != "" && shapeOf(path) == agentShape {
		path = rt.agentPath
	}
	u.Path = strings.TrimSuffix(u.Path, "/v1") + "/" + path
	u.RawQuery = ""
	return &u
}
