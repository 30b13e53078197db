package gateway

import (
	"bytes"
	"net/http"
	"sync/atomic"

	"github.com/streamdemo/streamdemo/internal/classwire"
	"github.com/streamdemo/streamdemo/internal/ledger"
)

// refusesKey says whether an upstream answer refuses the class's key: any
// 401, or a 403 that speaks of the key or authentication (Perplexity's 403
// for a retired endpoint is passed on as it is).
func refusesKey(status int, body []byte) bool {
	if status == http.StatusUnauthorized {
		return true
	}
	if status != http.StatusForbidden {
		return false
	}
	b := bytes.ToLower(body)
	for _, w := range []string{"api key", "api_key", "apikey", "authenticat", "unauthorized", "credential"} {
		if bytes.Contains(b, []byte(w)) {
			return true
		}
	}
	return false
}

// keyWatch keeps the teacher's page told whether the upstream refuses the
// class's key: recorded in the ledger when it does, cleared when it
// answers again.
type keyWatch struct {
	ledger *ledger.Ledger
	logf   func(string, ...any)
	bad    atomic.Bool // the upstream last refused the key
}

// refused replaces the upstream's refusal of the class's key by the
// class's own refusal, in the shape of the endpoint at path, and records it.
func (k *keyWatch) refused(resp *http.Response, path string) []byte {
	if err := k.ledger.NoteKeyRefused(resp.StatusCode); err != nil {
		k.logf("ledger: %v", err)
	}
	k.bad.Store(true)
	k.logf("the upstream refused the class's key (HTTP %d): check the key file", resp.StatusCode)
	resp.StatusCode, resp.Status = http.StatusBadGateway, "502 Bad Gateway"
	resp.Header = http.Header{"X-Should-Retry": {"false"}}
	return errorBody(shapeOf(path), http.StatusBadGateway, classwire.KeyRefused, classwire.KeyRefusedSentence)
}

// accepted clears the record once the upstream answers again.
func (k *keyWatch) accepted() {
	if k.bad.Swap(false) {
		if err := k.ledger.NoteKeyRefused(0); err != nil {
			k.logf("ledger: %v", err)
		}
	}
}
