// Package gateway is the class gateway: an OpenAI-compatible reverse proxy
// that keeps the teacher's upstream key on the server, knows each student
// (by a JupyterHub token or a token of its own), holds every answer to the
// student's budget in the class's ledger (package ledger), and shows the
// teacher who used what.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/redact"
)

// Config is how a gateway is set up.
type Config struct {
	Upstream string // the upstream's base URL, ending in /v1
	// AgentPath is where the upstream's Agent API answers, e.g. "v1/agent"
	// for one without the v1/responses alias; empty: the path the student used.
	AgentPath string
	// AgentOnly says the upstream answers only the Agent API, as Perplexity
	// does since it retired chat completions: the gateway answers a chat
	// completion by putting it to the Agent API and translating the answer
	// back. An upstream at api.perplexity.ai is always taken so.
	AgentOnly bool
	Key       string         // the upstream key; never forwarded to a student, logged or stored
	Ledger    *ledger.Ledger // where students, limits and usage live
	Prefix    string         // URL prefix the gateway serves under, e.g. /services/llm/; default /
	Hub       *Hub           // JupyterHub service settings; nil for a standalone gateway
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
	// UpstreamSocket, if set, is a Unix socket the default transport dials
	// for every upstream request, whatever host Upstream names: a server
	// only the gateway's account may reach.
	UpstreamSocket string
}

// Gateway is the class gateway; Handler serves it.
type Gateway struct {
	prefix   string
	hub      *Hub
	auth     authenticator
	sessions *sessions
	proxy    *proxy
	desk     *desk
	ledger   *ledger.Ledger
	log      logger
	bodyWait time.Duration
}

// New makes a gateway from cfg, and closes the answers that gateways which
// stopped left open on its ledger (see ledger.Ledger.CloseInterrupted).
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
	hide := redact.New(cfg.Key)
	g := &Gateway{prefix: cleanPrefix(cfg.Prefix), hub: cfg.Hub, ledger: cfg.Ledger, log: newLogger(cfg.Log, hide), bodyWait: cfg.BodyTimeout}
	if g.bodyWait == 0 {
		g.bodyWait = 30 * time.Second
	}
	logf := g.log.logf
	g.auth = tokenAuth{ledger: cfg.Ledger}
	if g.hub != nil {
		g.auth = newHubAuth(g.hub)
	}
	g.sessions = newSessions(cfg.CookieSecret, g.prefix, cfg.Ledger, logf)
	g.desk = &desk{ledger: cfg.Ledger, auth: g.auth, sessions: g.sessions, hub: g.hub, prefix: g.prefix, models: cfg.Models, logf: logf}
	if g.hub != nil {
		g.desk.hubLogin = &hubLogin{hub: g.hub, auth: g.auth, sessions: g.sessions, prefix: g.prefix, logf: logf}
	}
	transport := cfg.Transport
	if transport == nil {
		transport = upstreamTransport(cfg.UpstreamSocket)
	}
	g.proxy = &proxy{ledger: cfg.Ledger, auth: g.auth, route: route{upstream: u, agentPath: strings.Trim(cfg.AgentPath, "/"), agentOnly: cfg.AgentOnly || u.Hostname() == perplexityHost},
		key: []byte(cfg.Key), hide: hide, models: cfg.Models, keys: &keyWatch{ledger: cfg.Ledger, logf: logf}, prefix: g.prefix, logf: logf}
	if g.hub == nil {
		g.proxy.tokens = newRememberedTokens(cfg.Ledger)
		g.proxy.auth = g.proxy.tokens
	}
	g.proxy.rp = &httputil.ReverseProxy{Rewrite: g.proxy.rewrite, Transport: transport, FlushInterval: -1,
		ModifyResponse: g.proxy.modifyResponse, ErrorHandler: g.proxy.proxyError, ErrorLog: g.log.errorLog()}
	if n, err := cfg.Ledger.CloseInterrupted(logf); err != nil {
		return nil, err
	} else if n > 0 {
		logf("%d answers were streaming when the gateway last stopped: each charged its reservation", n)
	}
	if kr, err := cfg.Ledger.KeyRefusal(context.Background()); err != nil {
		return nil, err
	} else if kr != nil {
		g.proxy.keys.bad.Store(true)
	}
	return g, nil
}

// perplexityHost answers only the Agent API since Perplexity retired chat
// completions (27 September 2026).
const perplexityHost = "api.perplexity.ai"

// upstreamTransport is the connection pool to the upstream (through socket,
// a Unix socket's path, if not empty): no idle or total timeout on a body
// (answers may take minutes), but a bound on how long the upstream may take
// to start answering.
func upstreamTransport(socket string) http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 5 * time.Minute
	t.MaxIdleConnsPerHost = 256
	t.Proxy = nil // the teacher's key goes to the upstream named, not to an environment proxy
	if socket != "" {
		var d net.Dialer
		t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", socket)
		}
	}
	return t
}

func cleanPrefix(p string) string {
	return "/" + strings.Trim(p, "/") + strings.Repeat("/", min(1, len(strings.Trim(p, "/"))))
}

// Handler serves the gateway's endpoints under its prefix: the routing
// table, one line per endpoint.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	p := g.prefix
	for _, path := range []string{"v1/agent", "v1/responses", "v1/chat/completions"} {
		mux.Handle("POST "+p+path, g.proxy)
	}
	mux.Handle("GET "+p+"v1/models", g.proxy)
	mux.HandleFunc("GET "+p+"usage", g.desk.usage)
	mux.HandleFunc("POST "+p+"teacher/pause", g.desk.pause)
	mux.HandleFunc("POST "+p+"teacher/limits", g.desk.limits)
	mux.HandleFunc("POST "+p+"teacher/logout", g.desk.logout)
	mux.HandleFunc("GET "+p+"{$}", g.desk.page)
	mux.HandleFunc("POST "+p+"login", g.desk.login)
	if g.desk.hubLogin != nil {
		mux.HandleFunc("GET "+p+"oauth_callback", g.desk.hubLogin.callback)
	} else {
		mux.HandleFunc("GET "+p+"oauth_callback", http.NotFound)
	}
	mux.Handle("GET "+p+"healthz", healthz(g.ledger, g.log.logf))
	mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
		failure(w, shapeOf(strings.TrimPrefix(r.URL.Path, p)), http.StatusNotFound,
			"The class gateway serves v1/agent, v1/responses, v1/chat/completions and v1/models; check the base URL.")
	})
	return bodyDeadline(g.bodyWait, mux)
}

// Server is an http.Server for the gateway's Handler, with its timeouts.
func (g *Gateway) Server() *http.Server {
	return &http.Server{Handler: g.Handler(), ReadHeaderTimeout: headerTimeout, IdleTimeout: idleTimeout,
		MaxHeaderBytes: maxHeaderBytes, ErrorLog: g.log.errorLog()}
}
