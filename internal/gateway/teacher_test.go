package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// jh6 are the answers JupyterHub 6 gives GET /hub/api/user for each kind of
// token: the owner's name and admin flag, and the token's OWN scopes.
var jh6 = map[string]hubUser{
	// A student's server token (server_token_scopes plus the user role's access).
	"student-server": {Kind: "user", Name: "ana", Scopes: []string{"access:servers!server=ana/", "users:activity!user=ana", access}},
	// The OAuth token the hub gives ana's server when the teacher (an admin) opens it:
	// ana's server holds it, and ana controls her server.
	"visit-oauth": {Kind: "user", Name: "teacher", Admin: true, Scopes: []string{"access:servers!server=ana/", "read:users:groups!user=teacher", "read:users:name!user=teacher"}},
	// Tokens of an admin with (almost) no scope.
	"admin-empty":    {Kind: "user", Name: "teacher", Admin: true, Scopes: []string{}},
	"admin-readname": {Kind: "user", Name: "teacher", Admin: true, Scopes: []string{"read:users:name!user=teacher"}},
	// The teacher's own server token: the server runs the teacher's code, not a teacher's switch.
	"teacher-server": {Kind: "user", Name: "teacher", Admin: true, Scopes: []string{"access:servers!server=teacher/", "users:activity!user=teacher", access}},
	// A service without the teacher scope.
	"culler": {Kind: "service", Name: "idle-culler", Scopes: []string{"list:users", "read:users:activity", "read:servers", "delete:servers"}},
	// The ones that are the teacher's: the scripts' service token, and the
	// teacher's OAuth token to this service (oauth_client_allowed_scopes).
	"scripts":       {Kind: "service", Name: "teacher-scripts", Scopes: []string{"admin:users", "tokens", "custom:llm:teacher", access}},
	"teacher-oauth": {Kind: "user", Name: "teacher", Admin: true, Scopes: []string{"custom:llm:teacher", access, "read:users:name!user=teacher"}},
}

var teacherTokens = map[string]bool{"scripts": true, "teacher-oauth": true}

func TestOnlyTokensWithTheTeacherScopeAreTheTeacher(t *testing.T) {
	_, upstream := startPractice(t, fast)
	hub := startHub(t)
	tg := startHubGateway(t, hub, upstream)
	for tok, u := range jh6 {
		hub.give(tok, u)
	}
	if a := tg.post(t, "v1/agent", "student-server", agentBody("")); a.Status != 200 {
		t.Fatalf("the student cannot ask: HTTP %d", a.Status)
	}
	// Expired and revoked tokens: the hub answers 403 for both.
	for _, tok := range append(mapKeys(jh6), "expired", "revoked") {
		for _, c := range []struct{ method, path, body string }{
			{"GET", "usage", ""},
			{"POST", "teacher/pause", `{"all":true}`},
			{"POST", "teacher/pause", `{"student":"ana","paused":true}`},
			{"POST", "teacher/limits", `{"student":"ana","limits":{"usd_per_day":0}}`},
		} {
			a := do(t, c.method, tg.URL+c.path, tok, c.body)
			if ok := a.Status == 200; ok != teacherTokens[tok] {
				t.Errorf("%s %s with the %s token: HTTP %d %s", c.method, c.path, tok, a.Status, a.Body)
			}
			if !teacherTokens[tok] && a.Header.Get("X-Should-Retry") != "false" {
				t.Errorf("%s refusal without x-should-retry: false", tok)
			}
		}
		// Each resume must come from a teacher: undo what the teacher did.
		if teacherTokens[tok] {
			do(t, "POST", tg.URL+"teacher/pause", tok, `{"all":false}`)
			do(t, "POST", tg.URL+"teacher/pause", tok, `{"student":"ana","paused":false}`)
		}
	}
	rep, _ := tg.ledger.Usage(t.Context())
	for _, s := range rep.Switches {
		if !strings.HasPrefix(s.Who, "service:teacher-scripts") && s.Who != "teacher" {
			t.Errorf("a switch by %s: %s", s.Who, s.What)
		}
	}
	if n := len(rep.Switches); n != 2*5 { // two teacher tokens, three switches and two undone each
		t.Errorf("%d switches logged, want 10: %+v", n, rep.Switches)
	}
}

func mapKeys(m map[string]hubUser) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// hubBrowser opens the teacher's page in a browser of its own, logging in
// through the hub's OAuth as the holder of token; the page's response is
// the caller's to close.
func hubBrowser(t *testing.T, tg *testGateway, token string) (*http.Client, *http.Response) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return hubBrowserWith(t, tg, &http.Client{Jar: jar}, token)
}

// hubBrowserWith is hubBrowser in browser c, with the cookies it holds.
func hubBrowserWith(t *testing.T, tg *testGateway, c *http.Client, token string) (*http.Client, *http.Response) {
	t.Helper()
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		req.Header.Set("X-Test-Login-As", token)
		return nil
	}
	resp, err := c.Get(tg.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c, resp
}

// teacherBrowser logs in to the teacher's page through the hub's OAuth as
// the holder of token, and returns the browser and the page's CSRF token.
func teacherBrowser(t *testing.T, tg *testGateway, token string) (*http.Client, string, int) {
	t.Helper()
	c, resp := hubBrowser(t, tg, token)
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return c, "", resp.StatusCode
	}
	return c, pageCSRF(t, string(page)), 200
}

var csrfMeta = regexp.MustCompile(`<meta name="class-csrf" content="([^"]+)">`)

func pageCSRF(t *testing.T, page string) string {
	t.Helper()
	m := csrfMeta.FindStringSubmatch(page)
	if m == nil || m[1] == "{{CSRF}}" {
		t.Fatalf("the page has no CSRF token: %.300s", page)
	}
	return m[1]
}

// send makes one request from a browser, with the headers given.
func send(t *testing.T, c *http.Client, method, url, body string, headers ...string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func hubGatewayWithTokens(t *testing.T) (*testGateway, *fakeHub) {
	_, upstream := startPractice(t, fast)
	hub := startHub(t)
	tg := startHubGateway(t, hub, upstream)
	tg.gw.hub.CallbackURL = tg.URL + "oauth_callback"
	for tok, u := range jh6 {
		hub.give(tok, u)
	}
	return tg, hub
}

func TestThePageLogsInOnlyWithTheTeacherScope(t *testing.T) {
	tg, _ := hubGatewayWithTokens(t)
	for tok := range jh6 {
		_, _, status := teacherBrowser(t, tg, tok)
		if ok := status == 200; ok != teacherTokens[tok] {
			t.Errorf("the page after an OAuth login with the %s token: HTTP %d", tok, status)
		}
	}
}

func TestSwitchesFromTheSessionNeedThePagesCSRFToken(t *testing.T) {
	tg, _ := hubGatewayWithTokens(t)
	tg.post(t, "v1/agent", "student-server", agentBody(""))
	c, csrf, status := teacherBrowser(t, tg, "teacher-oauth")
	other, otherCSRF, _ := teacherBrowser(t, tg, "teacher-oauth")
	if status != 200 || csrf == otherCSRF {
		t.Fatalf("login: HTTP %d; two sessions with one CSRF token: %v", status, csrf == otherCSRF)
	}
	pause := `{"student":"ana","paused":true}`
	for _, c2 := range []struct {
		what    string
		headers []string
	}{
		{"no CSRF token", nil},
		{"a same-origin page without the token (a student's server)", []string{"Sec-Fetch-Site", "same-origin"}},
		{"another session's token", []string{csrfHeader, otherCSRF}},
		{"a wrong token", []string{csrfHeader, csrf[:len(csrf)-2] + "xx"}},
		{"the token, from another site", []string{csrfHeader, csrf, "Sec-Fetch-Site", "cross-site"}},
		{"the token, from a sibling site", []string{csrfHeader, csrf, "Sec-Fetch-Site", "same-site"}},
	} {
		for _, path := range []string{"teacher/pause", "teacher/limits", "teacher/logout"} {
			body := pause
			if path == "teacher/limits" {
				body = `{"student":"ana","limits":{"usd_per_day":0}}`
			}
			if got := send(t, c, "POST", tg.URL+path, body, c2.headers...); got != 403 {
				t.Errorf("%s with %s: HTTP %d, want 403", path, c2.what, got)
			}
		}
		if got := send(t, c, "GET", tg.URL+"usage", "", c2.headers...); got != 403 {
			t.Errorf("usage with %s: HTTP %d, want 403", c2.what, got)
		}
	}
	// A forged cookie is no session at all.
	forged := &http.Client{}
	for _, v := range []string{"x.y", "", "AAAA." + strings.Repeat("A", 43), strings.Repeat("a", 300)} {
		req, _ := http.NewRequest("POST", tg.URL+"teacher/pause", strings.NewReader(pause))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(csrfHeader, csrf)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: v})
		if resp, err := forged.Do(req); err != nil || resp.StatusCode != 401 {
			t.Errorf("forged cookie %.20q: %v %v", v, resp.StatusCode, err)
		}
	}
	if rep, _ := tg.ledger.Usage(t.Context()); len(rep.Switches) != 0 {
		t.Fatalf("a switch without the page's token took effect: %+v", rep.Switches)
	}
	// The page itself: fetched by a script (not a navigation) it is refused, so
	// a student's page on the same origin cannot read the token from it.
	if got := send(t, c, "GET", tg.URL, "", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Mode", "cors"); got != 403 {
		t.Errorf("the page fetched by a script: HTTP %d, want 403", got)
	}
	if got := send(t, c, "GET", tg.URL, "", "Sec-Fetch-Dest", "iframe"); got != 403 {
		t.Errorf("the page in a frame: HTTP %d, want 403", got)
	}
	// With the token, from the page: it works; logout ends the session.
	if got := send(t, c, "POST", tg.URL+"teacher/pause", pause, csrfHeader, csrf, "Sec-Fetch-Site", "same-origin"); got != 200 {
		t.Fatalf("the page's own switch: HTTP %d", got)
	}
	if got := send(t, c, "POST", tg.URL+"teacher/logout", "", csrfHeader, csrf); got != 200 {
		t.Fatalf("logout: HTTP %d", got)
	}
	if got := send(t, other, "GET", tg.URL+"usage", "", csrfHeader, otherCSRF); got != 200 {
		t.Errorf("logout ended the other session too: HTTP %d", got)
	}
	jar := c.Jar
	c.Jar = nil // the cookie as it was, even if a browser kept it
	req, _ := http.NewRequest("GET", tg.URL+"usage", nil)
	for _, ck := range jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	req.Header.Set(csrfHeader, csrf)
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 401 {
		t.Errorf("the session after logout: HTTP %d, want 401", resp.StatusCode)
	}
}

// fakeClock is a clock the tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestATeachersSessionEndsWithItsTokenAndItsTime(t *testing.T) {
	tg, hub := hubGatewayWithTokens(t)
	clock := &fakeClock{t: time.Now()}
	tg.gw.sessions.now = clock.now
	tg.gw.auth.(*hubAuth).now = clock.now
	usage := func(c *http.Client, csrf string) int { return send(t, c, "GET", tg.URL+"usage", "", csrfHeader, csrf) }

	// Revoked at the hub: the session dies once the cached answer expires.
	c, csrf, _ := teacherBrowser(t, tg, "teacher-oauth")
	if got := usage(c, csrf); got != 200 {
		t.Fatalf("fresh session: HTTP %d", got)
	}
	hub.revoke("teacher-oauth")
	clock.add(time.Second) // the hub-token cache in the test lasts 300 ms
	if got := usage(c, csrf); got != 401 {
		t.Errorf("session of a revoked token: HTTP %d, want 401", got)
	}
	hub.give("teacher-oauth", jh6["teacher-oauth"])
	if got := usage(c, csrf); got != 401 {
		t.Errorf("a dead session came back: HTTP %d", got)
	}
	// The token loses the teacher scope (the role was taken away).
	c, csrf, _ = teacherBrowser(t, tg, "teacher-oauth")
	hub.give("teacher-oauth", hubUser{Kind: "user", Name: "teacher", Admin: true, Scopes: []string{access}})
	clock.add(time.Second)
	if got := usage(c, csrf); got != 401 {
		t.Errorf("session of a token without the scope: HTTP %d, want 401", got)
	}
	hub.give("teacher-oauth", jh6["teacher-oauth"])

	// Idle for more than an hour: gone.
	c, csrf, _ = teacherBrowser(t, tg, "teacher-oauth")
	clock.add(sessionIdle + time.Minute)
	if got := usage(c, csrf); got != 401 {
		t.Errorf("after %v idle: HTTP %d, want 401", sessionIdle+time.Minute, got)
	}
	// In use all day: gone after eight hours anyway.
	c, csrf, _ = teacherBrowser(t, tg, "teacher-oauth")
	for elapsed := time.Duration(0); elapsed < sessionMax-time.Hour; elapsed += 50 * time.Minute {
		clock.add(50 * time.Minute)
		if got := usage(c, csrf); got != 200 {
			t.Fatalf("in use after %v: HTTP %d", elapsed, got)
		}
	}
	clock.add(2 * time.Hour)
	if got := usage(c, csrf); got != 401 {
		t.Errorf("after more than %v: HTTP %d, want 401", sessionMax, got)
	}
}

func TestAStandaloneSessionEndsWhenItsTokenIsRevoked(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	c, csrf := tokenLogin(t, tg.URL, tg.teacherToken(t))
	if got := send(t, c, "GET", tg.URL+"usage", "", csrfHeader, csrf); got != 200 {
		t.Fatalf("session: HTTP %d", got)
	}
	if err := tg.ledger.RevokeToken("tina", "test"); err != nil {
		t.Fatal(err)
	}
	if got := send(t, c, "GET", tg.URL+"usage", "", csrfHeader, csrf); got != 401 {
		t.Errorf("the session of a revoked teacher token: HTTP %d, want 401", got)
	}
}

// tokenLogin logs a browser in on the page of the gateway at base with a
// standalone teacher token; it returns the browser and the page's CSRF token.
func tokenLogin(t *testing.T, base, token string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(base+"login", map[string][]string{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return c, pageCSRF(t, string(page))
}

// TestTheTeachersSwitchesAnswerInSentences: a switch that cannot be made
// says why in a sentence the teacher can act on; what the database said
// goes to the log, never to the page.
func TestTheTeachersSwitchesAnswerInSentences(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	tok := tg.teacherToken(t)
	message := func(path, body string) (int, string) {
		a := do(t, "POST", tg.URL+path, tok, body)
		var e struct{ Error struct{ Message string } }
		json.Unmarshal([]byte(a.Body), &e)
		return a.Status, e.Error.Message
	}
	for _, c := range []struct{ path, body, want string }{
		{"teacher/pause", `{"student":"zed","paused":true}`, `No student called "zed": check the name against the table above.`},
		{"teacher/limits", `{"student":"zed","limits":{"requests_per_minute":5}}`, `No student called "zed": check the name against the table above.`},
		{"teacher/limits", `{"student":"*","limits":{"usd_per_day":-1}}`, "A limit cannot be negative: use 0 for no limit."},
	} {
		if status, got := message(c.path, c.body); status != 400 || got != c.want {
			t.Errorf("%s %s: HTTP %d %q, want 400 %q", c.path, c.body, status, got, c.want)
		}
	}
	if _, err := tg.db.Exec(`DROP TABLE switches`); err != nil { // every switch now fails in the database
		t.Fatal(err)
	}
	status, got := message("teacher/pause", `{"all":true}`)
	if status != 503 || !strings.HasPrefix(got, "The class gateway could not save the switch") || strings.Contains(got, "switches") {
		t.Errorf("a ledger failure: HTTP %d %q, want 503 and one sentence without the database's words", status, got)
	}
	if !strings.Contains(tg.log.String(), "switches") {
		t.Errorf("the log does not say what the database said:\n%s", tg.log.String())
	}
}
