package streamdemo

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWithoutAKeyTheLocalModelThenThePracticeServerIsUsed(t *testing.T) {
	for _, name := range []string{"STREAMDEMO_PROVIDER", "STREAMDEMO_BASE_URL", "PERPLEXITY_API_KEY", "OPENAI_API_KEY"} {
		t.Setenv(name, "")
	}
	local := httptest.NewServer(http.NotFoundHandler())
	defer local.Close()
	practice := httptest.NewServer(http.NotFoundHandler())
	defer practice.Close()
	saved := probe
	defer func() { probe = saved }()

	for _, tc := range []struct {
		ollama, practice, want, says string
	}{
		{local.URL, practice.URL, Ollama, "the local model: no API key found; put PERPLEXITY_API_KEY in .env"},
		{"http://127.0.0.1:1", practice.URL, Practice, "the practice server: no API key found"},
	} {
		probe.ollama, probe.practice = tc.ollama, tc.practice
		c, err := NewClient(Config{})
		if err != nil || c.Provider() != tc.want || !strings.Contains(c.String(), tc.says) {
			t.Errorf("got %v, %v; want %s saying %q", c, err, tc.want, tc.says)
		}
	}
	probe.ollama, probe.practice = "http://127.0.0.1:1", "http://127.0.0.1:1"
	var e *Error
	if _, err := NewClient(Config{}); !errors.As(err, &e) || e.Kind != ErrNoKey || e.Provider != Perplexity {
		t.Errorf("with nothing running and no key: %v, want perplexity's %q", err, ErrNoKey)
	}
	t.Setenv("PERPLEXITY_API_KEY", "pplx-key")
	if c, err := NewClient(Config{}); err != nil || c.Provider() != Perplexity || strings.Contains(c.String(), "no API key") {
		t.Errorf("with a key: %v, %v", c, err)
	}
}
