package gateway

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/streamdemo/streamdemo/internal/classwire"
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

// keyRefused replaces the upstream's refusal of the class's key by the
// class's own refusal, and records it for the teacher's page.
func (g *Gateway) keyRefused(resp *http.Response, c *call) []byte {
	if err := g.ledger.noteKeyRefused(resp.StatusCode); err != nil {
		g.logf("ledger: %v", err)
	}
	g.keyBad.Store(true)
	g.logf("the upstream refused the class's key (HTTP %d): check the key file", resp.StatusCode)
	resp.StatusCode, resp.Status = http.StatusBadGateway, "502 Bad Gateway"
	resp.Header = http.Header{"X-Should-Retry": {"false"}}
	return errorBody(shapeOf(c.path), http.StatusBadGateway, classwire.KeyRefused, classwire.KeyRefusedSentence)
}

// keyAccepted clears the record once the upstream answers again.
func (g *Gateway) keyAccepted() {
	if g.keyBad.Swap(false) {
		if err := g.ledger.noteKeyRefused(0); err != nil {
			g.logf("ledger: %v", err)
		}
	}
}

// KeyRefusal is the teacher's line about the last refusal of the key.
type KeyRefusal struct {
	At     time.Time `json:"at"`
	Status int       `json:"status"`
}

// noteKeyRefused records (status > 0) or clears the key's refusal.
func (l *Ledger) noteKeyRefused(status int) error {
	return l.tx(context.Background(), func(tx dbq) error {
		if status == 0 {
			_, err := tx.Exec(`DELETE FROM settings WHERE key IN ('key_refused_at', 'key_refused_status')`)
			return err
		}
		_, err := tx.Exec(`INSERT INTO settings VALUES ('key_refused_at', ?), ('key_refused_status', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strconv.FormatInt(millis(l.now()), 10), strconv.Itoa(status))
		return err
	})
}

// keyRefusal is the recorded refusal, or nil.
func (l *Ledger) keyRefusal() (*KeyRefusal, error) {
	at, err := setting(l.q(), "key_refused_at")
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	st, err := setting(l.q(), "key_refused_status")
	if err != nil {
		return nil, err
	}
	ms, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("setting key_refused_at: %w", err)
	}
	status, err := strconv.Atoi(st)
	if err != nil {
		return nil, fmt.Errorf("setting key_refused_status: %w", err)
	}
	return &KeyRefusal{At: time.UnixMilli(ms), Status: status}, nil
}

func nopBody(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }
