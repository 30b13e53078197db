package practice

import (
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLengthModelStreamsAnAnswerOfThatLength(t *testing.T) {
	ts := httptest.NewServer(New(Options{}))
	defer ts.Close()
	for _, n := range []int{100, 20000} {
		resp := post(t, ts.URL+"/v1/chat/completions", `{"model":"practice/length-`+strconv.Itoa(n)+`","stream":true,"messages":[{"role":"user","content":"Tell me about the stars."}]}`)
		var text strings.Builder
		for _, line := range dataLines(t, resp.Body) {
			var chunk struct {
				Choices []struct {
					Delta struct{ Content string } `json:"delta"`
				} `json:"choices"`
			}
			if json.Unmarshal([]byte(line), &chunk) == nil && len(chunk.Choices) > 0 {
				text.WriteString(chunk.Choices[0].Delta.Content)
			}
		}
		if got := text.String(); got != Answer(n) || len(got) != n || !strings.HasPrefix(got, "Astronomers estimate") {
			t.Errorf("practice/length-%d streamed %d bytes: %.80q", n, len(got), got)
		}
	}
}

func TestAnswerIsValidUTF8OfTheLengthAsked(t *testing.T) {
	for n := 1; n < 3000; n += 7 {
		if a := Answer(n); len(a) > n || len(a) < n-3 || !utf8.ValidString(a) {
			t.Fatalf("Answer(%d) has %d bytes, valid UTF-8 %v", n, len(a), utf8.ValidString(a))
		}
	}
}
