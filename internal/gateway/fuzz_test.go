package gateway

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func FuzzBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "token abc", "bearer  x ", "Basic abc", "Bearer", "BEARER \t y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", h)
		tok := bearer(r)
		if tok != strings.TrimSpace(tok) {
			t.Fatalf("token %q keeps spaces", tok)
		}
		if tok != "" && !strings.Contains(h, tok) {
			t.Fatalf("token %q is not in %q", tok, h)
		}
	})
}

// FuzzSessionCookie: no Cookie header opens a session unless it holds the
// cookie the gateway signed, and none makes it panic.
func FuzzSessionCookie(f *testing.F) {
	s := newSessions(bytes.Repeat([]byte("k"), 32), "/", nil, nil)
	s.now = func() time.Time { return time.Unix(1e9, 0) }
	w := httptest.NewRecorder()
	s.start(w, httptest.NewRequest("GET", "/", nil), Identity{Name: "tina", Teacher: true}, "tok")
	valid := w.Result().Cookies()[0].Value
	for _, v := range []string{valid, valid + "x", "a.b", ".", "", strings.Repeat("A", 300), valid[:10]} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", sessionCookie+"="+v)
		sess, ok := s.current(r)
		sent := slices.ContainsFunc(r.CookiesNamed(sessionCookie), func(c *http.Cookie) bool { return c.Value == valid })
		if ok && (!sent || sess.Name != "tina") {
			t.Fatalf("cookie %q opened a session", v)
		}
	})
}
