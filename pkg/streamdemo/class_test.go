package streamdemo_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// When the class gateway's upstream refuses the class's key, the learner
// reads that it is the teacher's to fix, once (no retry), not that their
// own key is wrong.
func TestTheClassKeyRefusedIsTheTeachersToFix(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Should-Retry", "false")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte(`{"error":{"message":"The class's key was refused by the model service; tell your teacher.","type":"class_key_refused","param":null,"code":"class_key_refused"}}`))
	}))
	t.Cleanup(ts.Close)
	cfg := streamdemo.Config{Provider: streamdemo.OpenAI, BaseURL: ts.URL + "/v1", APIKey: testKey}
	r := collect(t, context.Background(), cfg, streamdemo.Request{Model: "sonar-pro", Messages: seedMessages})
	want := "The class's key was refused by the model service; tell your teacher."
	if !errors.Is(r.err, streamdemo.ErrClassKey) || streamdemo.Hint(r.err) != want {
		t.Errorf("got %v, hint %q; want ErrClassKey and %q", r.err, streamdemo.Hint(r.err), want)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d requests, want 1: the class's key refused is not retried", n)
	}
}

// A refused class token tells the student what they can do (restart their
// server, whose token it is, or tell the teacher), even when the gateway,
// from before that sentence, sends another.
func TestARefusedClassTokenSaysToRestartTheServer(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":{"message":"The class gateway did not accept your token: check the key your teacher gave you.","type":"class_token_rejected","code":401}}`))
	}))
	t.Cleanup(ts.Close)
	cfg := streamdemo.Config{Provider: streamdemo.Perplexity, BaseURL: ts.URL + "/v1", APIKey: testKey}
	r := collect(t, context.Background(), cfg, streamdemo.Request{Messages: seedMessages})
	want := "The class gateway did not accept your token: restart your server (File > Hub Control Panel: Stop My Server, then Start My Server), or tell your teacher."
	if !errors.Is(r.err, streamdemo.ErrKeyRejected) || streamdemo.Hint(r.err) != want {
		t.Errorf("got %v, hint %q; want ErrKeyRejected and %q", r.err, streamdemo.Hint(r.err), want)
	}
}
