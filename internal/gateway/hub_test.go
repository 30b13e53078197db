package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeHub answers GET /hub/api/user for the tokens it knows, and runs the
// OAuth endpoints a service uses, like JupyterHub.
type fakeHub struct {
	*httptest.Server
	mu     sync.Mutex
	tokens map[string]hubUser
	calls  atomic.Int64
	codes  map[string]string // OAuth code -> access token
}

const (
	serviceSecret = "hub-service-api-token-for-llm"
	clientID      = "service-llm"
)

func startHub(t *testing.T) *fakeHub {
	h := &fakeHub{tokens: map[string]hubUser{}, codes: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hub/api/user", func(w http.ResponseWriter, r *http.Request) {
		h.calls.Add(1)
		auth := r.Header.Get("Authorization")
		h.mu.Lock()
		u, ok := h.tokens[strings.TrimPrefix(auth, "token ")]
		h.mu.Unlock()
		switch {
		case auth == "":
			w.WriteHeader(401)
		case !strings.HasPrefix(auth, "token ") || !ok:
			w.WriteHeader(403)
		default:
			json.NewEncoder(w).Encode(u)
		}
	})
	// The browser's side: log the user in (the test says who) and send them back with a code.
	mux.HandleFunc("GET /hub/api/oauth2/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != clientID {
			http.Error(w, "unknown client", 400)
			return
		}
		code := "code-" + q.Get("state")
		h.mu.Lock()
		h.codes[code] = r.Header.Get("X-Test-Login-As")
		h.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /hub/api/oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		h.mu.Lock()
		tok, ok := h.codes[r.PostForm.Get("code")]
		delete(h.codes, r.PostForm.Get("code"))
		h.mu.Unlock()
		if !ok || r.PostForm.Get("client_id") != clientID || r.PostForm.Get("client_secret") != serviceSecret {
			http.Error(w, `{"error":"invalid_grant"}`, 400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer"})
	})
	h.Server = httptest.NewServer(mux)
	t.Cleanup(h.Close)
	return h
}

func (h *fakeHub) give(token string, u hubUser) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tokens[token] = u
}

func (h *fakeHub) revoke(token string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.tokens, token)
}

const access = "access:services!service=llm"

func startHubGateway(t *testing.T, hub *fakeHub, upstream string) *testGateway {
	return startGateway(t, upstream, func(c *Config) {
		c.Prefix = "/services/llm/"
		c.Hub = &Hub{APIURL: hub.URL + "/hub/api", Service: "llm", Prefix: "/services/llm/", ClientID: clientID,
			APIToken: serviceSecret, AuthorizeURL: hub.URL + "/hub/api/oauth2/authorize", CacheFor: 300 * time.Millisecond}
	})
}

func TestHubTokensIdentifyStudents(t *testing.T) {
	_, upstream := startPractice(t, fast)
	hub := startHub(t)
	tg := startHubGateway(t, hub, upstream)
	clock := &fakeClock{t: time.Now()}
	tg.gw.auth.(*hubAuth).now = clock.now
	hub.give("tok-a", hubUser{Kind: "user", Name: "ana", Scopes: []string{"self", access}})
	hub.give("tok-b", hubUser{Kind: "user", Name: "bob", Scopes: []string{access}})
	hub.give("tok-noscope", hubUser{Kind: "user", Name: "carl", Scopes: []string{"users:activity!user"}})

	for _, tok := range []string{"tok-a", "tok-a", "tok-b"} {
		if a := tg.post(t, "v1/agent", tok, agentBody("")); a.Status != 200 {
			t.Fatalf("%s: HTTP %d %s", tok, a.Status, a.Body)
		}
	}
	// "token X", as JupyterHub's clients send it, works too.
	req, _ := http.NewRequest("POST", tg.URL+"v1/chat/completions", strings.NewReader(openAIChatBody("")))
	req.Header.Set("Authorization", "token tok-b")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("token scheme: %v %v", resp, err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := hub.calls.Load(); n != 2 {
		t.Errorf("%d calls to the hub for two tokens used four times, want 2 (cached)", n)
	}
	rows := tg.requests(t)
	if len(rows) != 4 || rows[0].Student != "ana" || rows[1].Student != "ana" || rows[2].Student != "bob" {
		t.Errorf("ledger rows %+v", rows)
	}
	for _, tok := range []string{"", "bogus", "tok-noscope"} {
		if a := tg.post(t, "v1/agent", tok, agentBody("")); a.Status != 401 || refusalType(t, a.Body) != "class_token_rejected" {
			t.Errorf("token %q: HTTP %d %s", tok, a.Status, a.Body)
		}
	}
	// A stopped server's token is revoked: still trusted within the short
	// cache, refused once it ends.
	hub.revoke("tok-a")
	clock.add(250 * time.Millisecond)
	if a := tg.post(t, "v1/agent", "tok-a", agentBody("")); a.Status != 200 {
		t.Errorf("revoked hub token within the 300 ms cache: HTTP %d, want 200 (cached)", a.Status)
	}
	clock.add(100 * time.Millisecond)
	if a := tg.post(t, "v1/agent", "tok-a", agentBody("")); a.Status != 401 {
		t.Errorf("revoked hub token after the 300 ms cache: HTTP %d, want 401", a.Status)
	}
	// A student cannot read the usage; a token with the teacher scope can.
	if a := do(t, "GET", tg.URL+"usage", "tok-b", ""); a.Status != 403 {
		t.Errorf("student reads usage: HTTP %d", a.Status)
	}
	hub.give("tok-teacher", hubUser{Kind: "user", Name: "tina", Scopes: []string{"custom:llm:teacher"}})
	hub.give("tok-bot", hubUser{Kind: "service", Name: "classbot", Scopes: []string{"custom:llm:teacher"}})
	for _, tok := range []string{"tok-teacher", "tok-bot"} {
		if a := do(t, "GET", tg.URL+"usage", tok, ""); a.Status != 200 || !strings.Contains(a.Body, `"name":"bob"`) {
			t.Errorf("%s reads usage: HTTP %d %s", tok, a.Status, a.Body)
		}
	}
	if a := do(t, "POST", tg.URL+"teacher/pause", "tok-bot", `{"all":true}`); a.Status != 200 {
		t.Fatalf("exam mode from the teacher's script: HTTP %d", a.Status)
	}
	if a := tg.post(t, "v1/agent", "tok-b", agentBody("")); a.Status != 403 {
		t.Errorf("student in exam mode: HTTP %d", a.Status)
	}
}

func TestTeacherPageLogsInThroughTheHubsOAuth(t *testing.T) {
	_, upstream := startPractice(t, fast)
	hub := startHub(t)
	tg := startHubGateway(t, hub, upstream)
	tg.gw.hub.CallbackURL = tg.URL + "oauth_callback"
	hub.give("oauth-teacher", hubUser{Kind: "user", Name: "tina", Scopes: []string{"custom:llm:teacher"}})
	hub.give("oauth-student", hubUser{Kind: "user", Name: "ana", Scopes: []string{access}})

	c, resp := hubBrowser(t, tg, "oauth-teacher")
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Pause everyone") {
		t.Fatalf("teacher after OAuth: HTTP %d %.200s", resp.StatusCode, page)
	}
	var sess *http.Cookie
	for _, ck := range c.Jar.Cookies(resp.Request.URL) {
		if ck.Name == sessionCookie {
			sess = ck
		}
	}
	if sess == nil {
		t.Fatal("no session cookie")
	}
	req, _ := http.NewRequest("GET", tg.URL+"usage", nil)
	req.Header.Set(csrfHeader, pageCSRF(t, string(page)))
	usage, _ := c.Do(req)
	usage.Body.Close()
	if usage.StatusCode != 200 {
		t.Errorf("usage with the session cookie: HTTP %d", usage.StatusCode)
	}
	// The switches refuse a cross-site form post even with the cookie.
	form, _ := c.Post(tg.URL+"teacher/pause", "application/x-www-form-urlencoded", strings.NewReader("all=true"))
	form.Body.Close()
	if form.StatusCode != 403 {
		t.Errorf("form post to a switch: HTTP %d, want 403", form.StatusCode)
	}
	// A tampered cookie is no session.
	req, _ = http.NewRequest("GET", tg.URL+"usage", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: strings.Replace(sess.Value, "a", "b", 1) + "x"})
	if r, _ := http.DefaultClient.Do(req); r.StatusCode != 401 {
		t.Errorf("tampered cookie: HTTP %d", r.StatusCode)
	}

	_, resp = hubBrowser(t, tg, "oauth-student")
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("student after OAuth: HTTP %d, want 403", resp.StatusCode)
	}
}
