package gateway

import (
	"net/http"
	"strings"

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
