package gateway

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Cookie names; both are scoped to the gateway's prefix and HTTP-only.
const (
	sessionCookie = "streamdemo-gateway-session"
	stateCookie   = "streamdemo-gateway-oauth-state"
	sessionLength = 8 * time.Hour
)

// sessions signs the teacher page's session cookie with HMAC-SHA256.
type sessions struct {
	secret []byte
	path   string
}

type session struct {
	Name    string `json:"n"`
	Teacher bool   `json:"t"`
	Expires int64  `json:"e"`
}

func (s sessions) sign(payload []byte) string {
	mac := hmac.New(sha256.New, s.secret)
	mac.Write(payload)
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (s sessions) verify(value string) ([]byte, bool) {
	p, m, ok := strings.Cut(value, ".")
	if !ok {
		return nil, false
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	sum, err2 := base64.RawURLEncoding.DecodeString(m)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	mac := hmac.New(sha256.New, s.secret)
	mac.Write(payload)
	return payload, hmac.Equal(sum, mac.Sum(nil))
}

// start sets the session cookie for a teacher.
func (s sessions) start(w http.ResponseWriter, r *http.Request, id Identity) {
	b, _ := json.Marshal(session{Name: id.Name, Teacher: id.Teacher, Expires: time.Now().Add(sessionLength).Unix()})
	s.set(w, r, sessionCookie, s.sign(b), int(sessionLength.Seconds()))
}

// current is the session r carries, if valid and unexpired.
func (s sessions) current(r *http.Request) (Identity, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return Identity{}, false
	}
	payload, ok := s.verify(c.Value)
	var sess session
	if !ok || json.Unmarshal(payload, &sess) != nil || time.Now().Unix() > sess.Expires {
		return Identity{}, false
	}
	return Identity{Name: sess.Name, Teacher: sess.Teacher}, true
}

func (s sessions) set(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: s.path, MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"})
}

// CookieSecret returns the secret kept in dir (owner-only), creating it the
// first time, so teachers stay logged in across restarts.
func CookieSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, "cookie-secret")
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return b, nil
	}
	b := make([]byte, 32)
	rand.Read(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("Cannot write the cookie secret in %s: %v.", dir, err)
	}
	return b, nil
}
