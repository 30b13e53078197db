package gateway

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
)

// Cookie names; both are scoped to the gateway's prefix and HTTP-only.
// Not "__Host-" names: those must have Path=/, and would then go with every
// request to the host, to a student's server too where the class shares
// one origin. A cookie a student's page plants under such a name is read
// past instead: only the gateway's signature opens a session.
const (
	sessionCookie = "streamdemo-gateway-session"
	stateCookie   = "streamdemo-gateway-oauth-state"
	// csrfHeader carries the token only the teacher's page has; every
	// switch made with the session cookie must send it.
	csrfHeader = "X-Class-CSRF"
)

// maxSameName bounds how many cookies of one name the gateway reads. A
// page of a student's can plant cookies of the gateway's names that the
// browser sends before the gateway's own (longer paths first, then older):
// one per longer path a request's path matches (at most three, as
// .../teacher, .../teacher/, .../teacher/pause), per domain a page may name
// (the host, and each parent domain that is not a public suffix), and
// partitioned or not: a few dozen at most. 64 is above that, and bounds
// the signatures checked whatever a request's Cookie header holds.
const maxSameName = 64

// cookieValues are the values of r's cookies called name, the first maxSameName.
func cookieValues(r *http.Request, name string) []string {
	var out []string
	for _, c := range r.CookiesNamed(name) {
		if len(out) == maxSameName {
			break
		}
		out = append(out, c.Value)
	}
	return out
}

// Session lifetimes: a teacher's session ends after an hour without use,
// after eight hours in any case, and as soon as the token it was opened with
// no longer makes its holder a teacher (re-checked on every use, through the
// hub-token cache: within CacheFor).
const (
	sessionIdle = time.Hour
	sessionMax  = 8 * time.Hour
	maxSessions = 256
)

// sessions are the teacher page's logins: the cookie holds only a random
// id, signed with HMAC-SHA256. A gateway keeps them in its ledger, so every
// replica on one database shares them; without a ledger they are kept in
// memory. A session dies when the token it was opened with (the hub's
// OAuth token, or a standalone teacher token) is revoked or loses the scope.
type sessions struct {
	secret []byte
	path   string
	now    func() time.Time
	store  *ledger.Ledger
	logf   func(string, ...any)
	mu     sync.Mutex
	live   map[string]*ledger.Session
}

func newSessions(secret []byte, path string, store *ledger.Ledger, logf func(string, ...any)) *sessions {
	return &sessions{secret: secret, path: path, now: time.Now, store: store, logf: logf, live: map[string]*ledger.Session{}}
}

func (s *sessions) mac(purpose, id string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(purpose + ":" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrf is the token bound to a session that the teacher's page sends.
func (s *sessions) csrf(sess *ledger.Session) string { return s.mac("csrf", sess.ID) }

// checkCSRF says whether r carries sess's CSRF token.
func (s *sessions) checkCSRF(r *http.Request, sess *ledger.Session) bool {
	got := r.Header.Get(csrfHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf(sess))) == 1
}

// parseCookie returns the session id a cookie value holds, if its
// signature is right.
func (s *sessions) parseCookie(value string) (string, bool) {
	id, sig, ok := strings.Cut(value, ".")
	if !ok || id == "" || len(value) > 256 {
		return "", false
	}
	return id, subtle.ConstantTimeCompare([]byte(sig), []byte(s.mac("session", id))) == 1
}

// start opens a session for a teacher and sets its cookie.
func (s *sessions) start(w http.ResponseWriter, r *http.Request, id Identity, token string) {
	b := make([]byte, 24)
	rand.Read(b)
	now := s.now()
	sess := &ledger.Session{ID: base64.RawURLEncoding.EncodeToString(b), Name: id.Name, Token: token, Started: now, Seen: now}
	if s.store != nil {
		if err := s.store.SaveSession(sess, now.Add(-sessionIdle), now.Add(-sessionMax), maxSessions); err != nil {
			s.logf("ledger: %v", err)
		}
	} else {
		s.remember(sess, now)
	}
	// Lax, not Strict: the teacher comes to the page from the hub, which on the loopback class is another
	// site (localhost beside llm--service.localhost), and a browser withholds Strict cookies from a
	// navigation another site started, so the page would send her back through the hub's OAuth for ever.
	// What the cookie opens needs the page's CSRF token besides, which no other site can read.
	s.set(w, r, sessionCookie, sess.ID+"."+s.mac("session", sess.ID), int(sessionMax.Seconds()), http.SameSiteLaxMode)
}

// remember keeps a session in memory, within maxSessions.
func (s *sessions) remember(sess *ledger.Session, now time.Time) {
	s.mu.Lock()
	for k, old := range s.live {
		if s.expired(old, now) {
			delete(s.live, k)
		}
	}
	for k := range s.live {
		if len(s.live) < maxSessions {
			break
		}
		delete(s.live, k)
	}
	s.live[sess.ID] = sess
	s.mu.Unlock()
}

func (s *sessions) expired(sess *ledger.Session, now time.Time) bool {
	return now.Sub(sess.Seen) > sessionIdle || now.Sub(sess.Started) > sessionMax
}

// current is the live session a cookie of r names, if any: the first of
// its session cookies whose signature is right and whose session lives.
// Using it keeps it alive for another idle period.
func (s *sessions) current(r *http.Request) (*ledger.Session, bool) {
	for _, v := range cookieValues(r, sessionCookie) {
		if id, ok := s.parseCookie(v); ok {
			if sess, ok := s.lookup(id); ok {
				return sess, true
			}
		}
	}
	return nil, false
}

// lookup is the session id names, if it lives.
func (s *sessions) lookup(id string) (*ledger.Session, bool) {
	now := s.now()
	if s.store != nil {
		return s.stored(id, now)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.live[id]
	if !ok {
		return nil, false
	}
	if s.expired(sess, now) {
		delete(s.live, id)
		return nil, false
	}
	sess.Seen = now
	return sess, true
}

// stored is current's lookup in the ledger.
func (s *sessions) stored(id string, now time.Time) (*ledger.Session, bool) {
	sess, ok, err := s.store.LoadSession(id)
	if err != nil {
		s.logf("ledger: %v", err)
	}
	if !ok {
		return nil, false
	}
	if s.expired(sess, now) {
		s.end(sess)
		return nil, false
	}
	sess.Seen = now
	if err := s.store.TouchSession(id, now); err != nil {
		s.logf("ledger: %v", err)
	}
	return sess, true
}

// end closes a session (logout, or its token stopped being a teacher's).
func (s *sessions) end(sess *ledger.Session) {
	if s.store != nil {
		if err := s.store.DropSession(sess.ID); err != nil {
			s.logf("ledger: %v", err)
		}
		return
	}
	s.mu.Lock()
	delete(s.live, sess.ID)
	s.mu.Unlock()
}

func (s *sessions) set(w http.ResponseWriter, r *http.Request, name, value string, maxAge int, same http.SameSite) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: s.path, MaxAge: maxAge, HttpOnly: true,
		SameSite: same, Secure: servedOverHTTPS(r)})
}

// servedOverHTTPS tells whether the browser reached the class over HTTPS: directly, or through the
// class's front door, whose X-Forwarded-Proto comes first (the hub's proxy appends its own "http").
func servedOverHTTPS(r *http.Request) bool {
	first, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return r.TLS != nil || strings.TrimSpace(first) == "https"
}
