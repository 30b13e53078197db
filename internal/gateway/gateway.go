// Package gateway is the class gateway: an OpenAI-compatible reverse proxy
// that keeps the teacher's upstream key on the server, knows each student
// (by a JupyterHub token or a token of its own), holds every answer to the
// student's budget, records what each answer used in a crash-safe ledger,
// and shows the teacher who used what.
package gateway

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/streamdemo/streamdemo/internal/redact"
)

// Config is how a gateway is set up.
type Config struct {
	Upstream string // the upstream's base URL, ending in /v1
	// AgentPath is where the upstream's Agent API answers, e.g. "v1/agent"
	// for one without the v1/responses alias; empty: the path the student used.
	AgentPath string
	Key       string  // the upstream key; never forwarded to a student, logged or stored
	Ledger    *Ledger // where students, limits and usage live
	Prefix    string  // URL prefix the gateway serves under, e.g. /services/llm/; default /
	Hub       *Hub    // JupyterHub service settings; nil for a standalone gateway
	// CookieSecret signs the teacher page's session cookie (32+ bytes).
	CookieSecret []byte
	Transport    http.RoundTripper // to the upstream; nil for a default one
	Log          io.Writer         // one line per answer and per problem; nil for none
	// Models is the default allow-list of models and presets (until the
	// teacher sets one in the ledger); empty allows any.
	Models []string
	// BodyTimeout bounds how long a client may take to send a request
	// body; 0 for 30 s.
	BodyTimeout time.Duration
}

// Gateway is the class gateway; Handler serves it.
type Gateway struct {
	upstream  *url.URL
	agentPath string
	key       []byte
	hide      *redact.Key // keeps the key out of what leaves
	ledger    *Ledger
	prefix    string
	hub       *Hub
	auth      authenticator
	sessions  *sessions
	transport http.RoundTripper
	proxy     http.Handler
	log       *log.Logger
	errorLog  *log.Logger
	models    []string
	bodyWait  time.Duration
	keyBad    atomic.Bool // the upstream last refused the class's key
	underWay  underWay    // each student's requests under way here
}

// authenticator says who holds a bearer token.
type authenticator interface {
	identify(r *http.Request, token string) (Identity, bool, error)
}

// New makes a gateway from cfg.
func New(cfg Config) (*Gateway, error) {
	u, err := url.Parse(strings.TrimRight(cfg.Upstream, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("the upstream %q is %w", cfg.Upstream, ErrBadUpstream)
	}
	if u.User != nil {
		return nil, ErrUpstreamUser
	}
	if len(cfg.CookieSecret) < 32 {
		return nil, errors.New("the cookie secret is shorter than 32 bytes")
	}
	g := &Gateway{upstream: u, agentPath: strings.Trim(cfg.AgentPath, "/"), key: []byte(cfg.Key), hide: redact.New(cfg.Key), ledger: cfg.Ledger, prefix: cleanPrefix(cfg.Prefix), hub: cfg.Hub,
		transport: cfg.Transport, log: log.New(io.Discard, "", 0), models: cfg.Models, bodyWait: cfg.BodyTimeout}
	if g.bodyWait == 0 {
		g.bodyWait = 30 * time.Second
	}
	if cfg.Log != nil {
		g.log = log.New(cfg.Log, "gateway ", log.LstdFlags)
	}
	g.errorLog = log.New(&redactingWriter{w: g.log.Writer(), hide: g.hide}, "gateway proxy ", log.LstdFlags)
	if g.transport == nil {
		g.transport = upstreamTransport()
	}
	g.sessions = newSessions(cfg.CookieSecret, g.prefix)
	g.sessions.store, g.sessions.logf = g.ledger, g.logf
	if g.hub != nil {
		g.auth = newHubAuth(g.hub)
	} else {
		g.auth = tokenAuth{ledger: g.ledger}
	}
	if g.ledger.log == nil { // the first gateway on a ledger logs its lease
		g.ledger.log = g.logf
	}
	if n, err := g.ledger.closeInterrupted(); err != nil {
		return nil, err
	} else if n > 0 {
		g.logf("%d answers were streaming when the gateway last stopped: each charged its reservation", n)
	}
	if kr, err := g.ledger.keyRefusal(); err != nil {
		return nil, err
	} else if kr != nil {
		g.keyBad.Store(true)
	}
	g.proxy = g.newProxy()
	return g, nil
}

// upstreamTransport is the connection pool to the upstream: no idle or
// total timeout on a body (answers may take minutes), but a bound on how
// long the upstream may take to start answering.
func upstreamTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 5 * time.Minute
	t.MaxIdleConnsPerHost = 256
	t.Proxy = nil // the teacher's key goes to the upstream named, not to an environment proxy
	return t
}

func cleanPrefix(p string) string {
	return "/" + strings.Trim(p, "/") + strings.Repeat("/", min(1, len(strings.Trim(p, "/"))))
}

// Handler serves the gateway's endpoints under its prefix.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	p := g.prefix
	for _, path := range []string{"v1/agent", "v1/responses", "v1/chat/completions"} {
		mux.HandleFunc("POST "+p+path, g.llm)
	}
	mux.HandleFunc("GET "+p+"v1/models", g.llm)
	mux.HandleFunc("GET "+p+"usage", g.usage)
	mux.HandleFunc("POST "+p+"teacher/pause", g.pause)
	mux.HandleFunc("POST "+p+"teacher/limits", g.limits)
	mux.HandleFunc("POST "+p+"teacher/logout", g.logout)
	mux.HandleFunc("GET "+p+"{$}", g.page)
	mux.HandleFunc("POST "+p+"login", g.login)
	mux.HandleFunc("GET "+p+"oauth_callback", g.oauthCallback)
	mux.HandleFunc("GET "+p+"healthz", g.healthz)
	mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
		failure(w, shapeOf(strings.TrimPrefix(r.URL.Path, p)), http.StatusNotFound,
			"The class gateway serves v1/agent, v1/responses, v1/chat/completions and v1/models; check the base URL.")
	})
	return g.bodyDeadline(mux)
}

// upstreamURL is where a student's path goes: the upstream's base URL (which
// ends in /v1) plus the fixed endpoint. Nothing a student sends changes it.
func (g *Gateway) upstreamURL(path string) *url.URL {
	u := *g.upstream
	if g.agentPath != "" && shapeOf(path) == agentShape {
		path = g.agentPath
	}
	u.Path = strings.TrimSuffix(u.Path, "/v1") + "/" + path
	u.RawQuery = ""
	return &u
}

// bearer is the token in an Authorization header: "Bearer X" (as OpenAI
// clients send it) or "token X" (as JupyterHub's clients do).
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	for _, scheme := range []string{"bearer ", "token "} {
		if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) {
			return strings.TrimSpace(h[len(scheme):])
		}
	}
	return ""
}

// student says who sent r, or why it is refused.
func (g *Gateway) student(r *http.Request) (Identity, *Refusal) {
	id, ok, err := g.auth.identify(r, bearer(r))
	if err != nil {
		g.logf("auth: %v", err)
		return Identity{}, refuseCannotCheck
	}
	if !ok || !id.Student {
		return Identity{}, refuseNoToken
	}
	if g.hub != nil {
		if err := g.ledger.ensureStudent(r.Context(), id.Name); err != nil {
			g.logf("ledger: %v", err)
		}
	}
	return id, nil
}

// maxLogLine bounds a line of the gateway's log: no line grows with what
// a request holds.
const maxLogLine = 2048

func (g *Gateway) logf(format string, args ...any) {
	g.log.Print(cutLine(g.hide.String(fmt.Sprintf(format, args...))))
}

// cutLine is line cut to maxLogLine bytes, saying so.
func cutLine(line string) string {
	if len(line) <= maxLogLine {
		return line
	}
	return strings.ToValidUTF8(line[:maxLogLine], "") + fmt.Sprintf(" [%d bytes more]", len(line)-maxLogLine)
}

// redactingWriter keeps the key out of what the proxy and the server log,
// each line cut to maxLogLine.
type redactingWriter struct {
	w    io.Writer
	hide *redact.Key
}

func (r *redactingWriter) Write(p []byte) (int, error) {
	line := strings.TrimSuffix(cutLine(r.hide.String(string(p))), "\n") + "\n"
	if _, err := io.WriteString(r.w, line); err != nil {
		return 0, err
	}
	return len(p), nil
}
