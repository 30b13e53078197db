package streamdemo

import (
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
		{"http://127.0.0.1:1", "http://127.0.0.1:1", Perplexity, "perplexity (Agent API)"},
	} {
		probe.ollama, probe.practice = tc.ollama, tc.practice
		c := NewClient(Config{})
		if c.Provider() != tc.want || !strings.Contains(c.String(), tc.says) {
			t.Errorf("got %s: %q; want %s saying %q", c.Provider(), c, tc.want, tc.says)
		}
	}
	t.Setenv("PERPLEXITY_API_KEY", "pplx-key")
	if c := NewClient(Config{}); c.Provider() != Perplexity || strings.Contains(c.String(), "no API key") {
		t.Errorf("with a key: %s", c)
	}
}
