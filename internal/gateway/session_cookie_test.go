package gateway

import (
	"net/http"
	"net/http/httptest"
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
		newSessions(make([]byte, 32), "/services/llm/").set(w, r, sessionCookie, "v", 60, http.SameSiteStrictMode)
		cookies := w.Result().Cookies()
		if len(cookies) != 1 || cookies[0].Secure != c.secure {
			t.Errorf("%s: Set-Cookie %q, want Secure=%v", c.name, w.Header().Get("Set-Cookie"), c.secure)
		}
	}
}
