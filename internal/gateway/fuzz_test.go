package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzParseAsked feeds request bodies to the accounting parser: it must not
// panic; what it accepts, encoding/json reads the same way, every cap lies
// in 1..MaxOutputCap and n and best_of in 1..MaxAnswers, and the rewritten
// body is JSON with the cap it was given.
func FuzzParseAsked(f *testing.F) {
	for _, s := range []string{chatBody(`,"max_tokens":100`), agentBody(`,"max_output_tokens":5`), `{"MAX_TOKENS":9223372036854775807}`,
		`{"max_tokens":1,"max_tokens":2}`, `{"max_toKens":3}`, `{"stream":true,"stream_options":{"include_usage":false}}`,
		`{"models":["a/b","c/d"],"preset":"pro-search"}`, `[]`, `{"max_tokens":-1}`, `{} {}`, `{"max_tokens":1e2}`,
		`{"n":64,"best_of":128}`, `{"n":0}`, `{"N":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := parseAsked(body)
		if err != nil {
			return
		}
		var plain struct {
			Model     string `json:"model"`
			MaxTokens *int64 `json:"max_tokens"`
		}
		if json.Unmarshal(body, &plain) == nil && plain.Model != a.Model {
			t.Fatalf("model %q, encoding/json reads %q", a.Model, plain.Model)
		}
		if plain.MaxTokens != nil && *plain.MaxTokens != a.caps["max_tokens"] {
			t.Fatalf("max_tokens %d, encoding/json reads %d", a.caps["max_tokens"], *plain.MaxTokens)
		}
		for name, v := range a.caps {
			if v < 1 || v > MaxOutputCap {
				t.Fatalf("%s = %d accepted", name, v)
			}
		}
		if a.answers < 0 || a.answers > MaxAnswers {
			t.Fatalf("%d answers accepted", a.answers)
		}
		out, err := rewrite(body, a, 77, "max_tokens", true)
		if err != nil {
			return // stream_options that is not an object: refused as a bad body
		}
		b, err := parseAsked(out)
		if err != nil || b.outputCap() != 77 {
			t.Fatalf("rewritten body %s: cap %d, %v", out, b.outputCap(), err)
		}
	})
}

// FuzzBearer reads any Authorization header without panicking, and never
// returns a token with surrounding space or a scheme left in it.
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
	s := newSessions(bytes.Repeat([]byte("k"), 32), "/")
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
		if ok && (!sent || sess.name != "tina") {
			t.Fatalf("cookie %q opened a session", v)
		}
	})
}
