package gateway

import (
	"crypto/sha256"
	"net/http"
	"strings"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
)

// Identity is who a request comes from.
type Identity struct {
	Name    string // the student's (or teacher's) name in the ledger
	Teacher bool   // may read everyone's usage and flip switches
	Student bool   // may ask the model through the gateway
}

// authenticator says who holds a bearer token.
type authenticator interface {
	identify(r *http.Request, token string) (Identity, bool, error)
}

// tokenAuth checks the tokens the ledger issued (a standalone gateway's).
type tokenAuth struct{ ledger *ledger.Ledger }

func (a tokenAuth) identify(r *http.Request, token string) (Identity, bool, error) {
	if token == "" {
		return Identity{}, false, nil
	}
	h, ok, err := a.ledger.LookupToken(r.Context(), token)
	return Identity{Name: h.Name, Teacher: h.Teacher, Student: ok}, ok, err
}

// rememberTokensFor is how long a gateway remembers who holds a token it
// found in the ledger (and, meanwhile, a revoked one holds a slot until
// its reservation refuses it).
const rememberTokensFor = time.Minute

// rememberedTokens are the ledger's tokens as this gateway last found
// them, for the model endpoints only: each reservation checks the token
// again under the student's lock (ledger.Ask.Token), so one revoked or
// replaced is refused there, and forgotten. What is not a token is asked
// of the ledger every time: junk pushes nothing out.
type rememberedTokens struct {
	tokenAuth
	cache *tokenCache
	now   func() time.Time
}

func newRememberedTokens(l *ledger.Ledger) *rememberedTokens {
	return &rememberedTokens{tokenAuth: tokenAuth{ledger: l}, cache: newTokenCache(maxCachedTokens, 1), now: time.Now}
}

func (a *rememberedTokens) identify(r *http.Request, token string) (Identity, bool, error) {
	if token == "" {
		return Identity{}, false, nil
	}
	key := sha256.Sum256([]byte(token))
	if id, ok, hit := a.cache.get(key, a.now()); hit && ok {
		return id, true, nil
	}
	id, ok, err := a.tokenAuth.identify(r, token)
	if ok && err == nil {
		a.cache.put(key, id, true, a.now().Add(rememberTokensFor))
	}
	return id, ok, err
}

// forget drops token: the ledger refused it.
func (a *rememberedTokens) forget(token string) { a.cache.forget(sha256.Sum256([]byte(token))) }

// bearer is the token in an Authorization header: "Bearer X" (as OpenAI
// clients send it) or "token X" (as JupyterHub's clients do).
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	for _, scheme := range []string{"bearer ", "token "} {
		if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) {
			return strings.TrimSpace(h[len(scheme):])
		}
	}
	return ""
}
