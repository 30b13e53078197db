package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// Hub is what a JupyterHub service learns from its environment.
type Hub struct {
	APIURL       string // JUPYTERHUB_API_URL, e.g. http://127.0.0.1:8081/hub/api
	Service      string // JUPYTERHUB_SERVICE_NAME, e.g. llm
	Prefix       string // JUPYTERHUB_SERVICE_PREFIX, e.g. /services/llm/
	ServiceURL   string // JUPYTERHUB_SERVICE_URL: where to listen
	ClientID     string // JUPYTERHUB_CLIENT_ID, for the teacher page's OAuth
	APIToken     string // JUPYTERHUB_API_TOKEN: the OAuth client secret
	CallbackURL  string // JUPYTERHUB_OAUTH_CALLBACK_URL
	AuthorizeURL string // the browser's way to the hub's authorize endpoint
	// CacheFor is how long a token's answer from the hub is trusted; short,
	// because a server's token is revoked when the server stops.
	CacheFor time.Duration
	Client   *http.Client // to the hub; nil for a default one
}

// HubFromEnv reads the settings JupyterHub gives a service, or returns nil
// when JUPYTERHUB_SERVICE_URL is not set (a standalone gateway).
func HubFromEnv() *Hub {
	if os.Getenv("JUPYTERHUB_SERVICE_URL") == "" {
		return nil
	}
	h := &Hub{
		APIURL:      strings.TrimRight(os.Getenv("JUPYTERHUB_API_URL"), "/"),
		Service:     os.Getenv("JUPYTERHUB_SERVICE_NAME"),
		Prefix:      os.Getenv("JUPYTERHUB_SERVICE_PREFIX"),
		ServiceURL:  os.Getenv("JUPYTERHUB_SERVICE_URL"),
		ClientID:    os.Getenv("JUPYTERHUB_CLIENT_ID"),
		APIToken:    os.Getenv("JUPYTERHUB_API_TOKEN"),
		CallbackURL: os.Getenv("JUPYTERHUB_OAUTH_CALLBACK_URL"),
	}
	if h.Service == "" {
		h.Service = "llm"
	}
	if h.Prefix == "" {
		h.Prefix = "/services/" + h.Service + "/"
	}
	if pub := os.Getenv("JUPYTERHUB_PUBLIC_HUB_URL"); pub != "" {
		h.AuthorizeURL = strings.TrimRight(pub, "/") + "/api/oauth2/authorize"
	} else {
		base := os.Getenv("JUPYTERHUB_BASE_URL")
		if base == "" {
			base = "/"
		}
		h.AuthorizeURL = strings.TrimRight(base, "/") + "/hub/api/oauth2/authorize"
	}
	if h.CallbackURL == "" {
		h.CallbackURL = h.Prefix + "oauth_callback"
	}
	return h
}

// ListenAddr is host:port of JUPYTERHUB_SERVICE_URL, or unix:PATH when it
// names a Unix socket as JupyterHub writes one (http+unix://%2Fpath%2Fto.sock).
func (h *Hub) ListenAddr() (string, error) {
	if rest, ok := strings.CutPrefix(h.ServiceURL, "http+unix://"); ok {
		escaped, _, _ := strings.Cut(rest, "/")
		if path, err := url.PathUnescape(escaped); err == nil && strings.HasPrefix(path, "/") {
			return "unix:" + path, nil
		}
		return "", fmt.Errorf("JUPYTERHUB_SERVICE_URL %q is %w", h.ServiceURL, ErrBadServiceURL)
	}
	u, err := url.Parse(h.ServiceURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("JUPYTERHUB_SERVICE_URL %q is %w", h.ServiceURL, ErrBadServiceURL)
	}
	return u.Host, nil
}

// AccessScope is the scope a student's token needs to use the gateway.
func (h *Hub) AccessScope() string { return "access:services!service=" + h.Service }

// TeacherScope is the custom scope that makes a token a teacher's: a hub
// user's (through a role), or a service's, for the teacher's scripts.
// Being a hub admin is not enough: the token itself must carry the scope.
func (h *Hub) TeacherScope() string { return "custom:" + h.Service + ":teacher" }

// hubUser is what GET {hub}/api/user says of a token's owner.
type hubUser struct {
	Kind   string   `json:"kind"` // user or service
	Name   string   `json:"name"`
	Admin  bool     `json:"admin"`
	Scopes []string `json:"scopes"`
}

// hubAuth checks tokens against the hub, remembering answers briefly.
type hubAuth struct {
	hub    *Hub
	client *http.Client
	now    func() time.Time
	cache  *tokenCache
	merge  lookups
}

func newHubAuth(h *Hub) *hubAuth {
	if h.CacheFor == 0 {
		h.CacheFor = 20 * time.Second
	}
	c := h.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	return &hubAuth{hub: h, client: c, now: time.Now, cache: newTokenCache(maxCachedTokens, maxCachedRefusals)}
}

func (a *hubAuth) identify(r *http.Request, token string) (Identity, bool, error) {
	if token == "" {
		return Identity{}, false, nil
	}
	sum := sha256.Sum256([]byte(token))
	if id, ok, hit := a.cache.get(sum, a.now()); hit {
		return id, ok, nil
	}
	// Identical look-ups at once make one request to the hub; it does not
	// end when the first asker leaves.
	ctx := context.WithoutCancel(r.Context())
	res := a.merge.do(sum, func() lookup {
		id, ok, err := a.ask(ctx, token)
		if err == nil {
			a.cache.put(sum, id, ok, a.now().Add(a.hub.CacheFor))
		}
		return lookup{id, ok, err}
	})
	return res.id, res.ok, res.err
}

// ask forwards the token to the hub: the gateway needs no scope of its own.
func (a *hubAuth) ask(ctx context.Context, token string) (Identity, bool, error) {
	u, err := a.user(ctx, token)
	if err != nil || u == nil {
		return Identity{}, false, err
	}
	return a.identity(u), true, nil
}

func (a *hubAuth) user(ctx context.Context, token string) (*hubUser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.hub.APIURL+"/user", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "token "+token)
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the hub did not answer: %v", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, nil
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("the hub answered HTTP %d to GET /user", resp.StatusCode)
	}
	var u hubUser
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&u); err != nil || u.Name == "" {
		return nil, fmt.Errorf("the hub's answer to GET /user has no name")
	}
	return &u, nil
}

// identity reads what a token may do from the token's own scopes, as the
// hub lists them: never from the owner's admin flag, which the hub reports
// for every token of an admin, however little that token may do.
func (a *hubAuth) identity(u *hubUser) Identity {
	id := Identity{Name: u.Name}
	if u.Kind == "service" {
		id.Name = "service:" + u.Name
	}
	id.Student = slices.Contains(u.Scopes, a.hub.AccessScope()) || slices.Contains(u.Scopes, "access:services")
	id.Teacher = slices.Contains(u.Scopes, a.hub.TeacherScope())
	return id
}

// students are the hub's users who are not admins, asked with the
// gateway's own token (the teacher's page lists them from the start).
func (h *Hub) students(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.APIURL+"/users?limit=1000", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "token "+h.APIToken)
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("listing users: HTTP %d", resp.StatusCode)
	}
	var users []struct {
		Name  string `json:"name"`
		Admin bool   `json:"admin"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&users); err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	var names []string
	for _, u := range users {
		if u.Name != "" && !u.Admin {
			names = append(names, u.Name)
		}
	}
	return names, nil
}
