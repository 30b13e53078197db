package streamdemo_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// TestHostileServerCannotEchoTheKeyIntoAnError: a server that repeats the
// Authorization header in its error, in pieces, must not get the key shown.
func TestHostileServerCannotEchoTheKeyIntoAnError(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 401, 429, 500, 200} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			msg := fmt.Sprintf("bad key %s (starts %s, ends %s)", key, key[:10], key[len(key)-9:])
			if status == 200 {
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprintf(w, "data: {\"type\":\"response.failed\",\"error\":{\"message\":%q}}\n\n", msg)
				return
			}
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"error":{"message":%q,"type":"x"}}`, msg)
		}))
		cfg := streamdemo.Config{Provider: streamdemo.Perplexity, BaseURL: ts.URL + "/v1", APIKey: testKey, Retries: -1}
		r := collect(t, context.Background(), cfg, streamdemo.Request{Messages: seedMessages})
		ts.Close()
		var e *streamdemo.Error
		if !errors.As(r.err, &e) {
			t.Fatalf("HTTP %d: got %v, want *Error", status, r.err)
		}
		for _, shown := range []string{r.err.Error(), streamdemo.Hint(r.err), e.Message, fmt.Sprintf("%+v", e)} {
			for i := 0; i+8 <= len(testKey); i++ {
				if strings.Contains(shown, testKey[i:i+8]) {
					t.Fatalf("HTTP %d: output holds part of the key %q: %s", status, testKey[i:i+8], shown)
				}
			}
		}
		if !strings.Contains(e.Message, "[redacted]") {
			t.Errorf("HTTP %d: message %q should mark what it hid", status, e.Message)
		}
	}
}
