package gateway

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTeacherCookiesAreSecureBehindTheFrontDoor(t *testing.T) {
	for _, c := range []struct {
		name, proto string
		secure      bool
	}{
		{"the loopback class, plain HTTP", "", false},
		{"the hub's proxy alone", "http", false},
		{"the HTTPS front door, then the hub's proxy", "https,http", true},
		{"the HTTPS front door alone", "https", true},
	} {
		r := httptest.NewRequest("GET", "/services/llm/", nil)
		if c.proto != "" {
			r.Header.Set("X-Forwarded-Proto", c.proto)
		}
		w := httptest.NewRecorder()
		newSessions(make([]byte, 32), "/services/llm/", nil, nil).set(w, r, sessionCookie, "v", 60, http.SameSiteStrictMode)
		cookies := w.Result().Cookies()
		if len(cookies) != 1 || cookies[0].Secure != c.secure {
			t.Errorf("%s: Set-Cookie %q, want Secure=%v", c.name, w.Header().Get("Set-Cookie"), c.secure)
		}
	}
}

// plant is a student's page setting a cookie of name, as the teacher's
// browser then keeps it, at path under the gateway's origin.
func plant(t *testing.T, c *http.Client, base, path, name, value string) {
	t.Helper()
	u := mustURL(t, base)
	u.Path = path
	c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: path}})
}

// TestPlantedCookiesCannotShadowTheTeachersOwn: a student's page can plant
// cookies of the gateway's names at longer paths, which the browser sends
// first; the gateway reads every cookie of a name (up to maxSameName) and
// takes the one that verifies, so the teacher's login and buttons still work.
func TestPlantedCookiesCannotShadowTheTeachersOwn(t *testing.T) {
	tg, _ := hubGatewayWithTokens(t)
	tg.post(t, "v1/agent", "student-server", agentBody(""))
	// The login: a state cookie planted at the callback's path comes first.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	plant(t, browser, tg.URL, "/services/llm/oauth_callback", stateCookie, "planted-state")
	c, resp := hubBrowserWith(t, tg, browser, "teacher-oauth")
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the login with a planted state cookie: HTTP %d %.300s", resp.StatusCode, page)
	}
	csrf := pageCSRF(t, string(page))
	// The buttons: session cookies planted at every longer path the switches use.
	for _, path := range []string{"/services/llm/teacher", "/services/llm/teacher/", "/services/llm/teacher/pause", "/services/llm/usage"} {
		plant(t, c, tg.URL, path, sessionCookie, "planted.session")
	}
	pause := `{"student":"ana","paused":true}`
	if got := send(t, c, "POST", tg.URL+"teacher/pause", pause, csrfHeader, csrf, "Sec-Fetch-Site", "same-origin"); got != 200 {
		t.Errorf("pause under planted cookies: HTTP %d", got)
	}
	if got := send(t, c, "GET", tg.URL+"usage", "", csrfHeader, csrf); got != 200 {
		t.Errorf("usage under planted cookies: HTTP %d", got)
	}
	// As many as can come before the gateway's own, and then some.
	genuine := c.Jar.Cookies(mustURL(t, tg.URL))
	var own string
	for _, ck := range genuine {
		if ck.Name == sessionCookie {
			own = ck.Value
		}
	}
	for _, planted := range []int{maxSameName - 1, 2000} {
		var h strings.Builder
		for i := range planted {
			fmt.Fprintf(&h, "%s=p%d.x; ", sessionCookie, i)
		}
		h.WriteString(sessionCookie + "=" + own)
		req, _ := http.NewRequest("GET", tg.URL+"usage", nil)
		req.Header.Set("Cookie", h.String())
		req.Header.Set(csrfHeader, csrf)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{true: 200, false: 401}[planted < maxSameName]; resp.StatusCode != want {
			t.Errorf("%d planted cookies before the teacher's: HTTP %d, want %d", planted, resp.StatusCode, want)
		}
	}
}
