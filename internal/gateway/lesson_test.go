package gateway

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/practice"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// lessonEnv sets what a student's .env would: the gateway's base URL and
// the student's token as the key; nothing else changes in the lesson.
func lessonEnv(t *testing.T, provider, baseURL, token string) {
	for _, name := range []string{"STREAMDEMO_MODEL", "STREAMDEMO_PROTOCOL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "STREAMDEMO_RETRIES"} {
		t.Setenv(name, "")
	}
	t.Setenv("STREAMDEMO_PROVIDER", provider)
	if provider == streamdemo.Compatible {
		t.Setenv("STREAMDEMO_MODEL", "gpt-4o-mini") // a compatible server's .env names its model
	}
	t.Setenv("STREAMDEMO_BASE_URL", baseURL)
	t.Setenv("STREAMDEMO_API_KEY", token)
	t.Setenv("PERPLEXITY_API_KEY", token)
}

// lesson runs the lesson's streaming cell: the seed's messages, a client
// from the environment, a range over the stream.
func lesson(t *testing.T) (string, error) {
	messages := []streamdemo.Message{
		{Role: "system", Content: practice.SeedSystemPrompt},
		{Role: "user", Content: seedQuestion},
	}
	client, err := streamdemo.NewClient(streamdemo.Config{})
	if err != nil {
		return "", err
	}
	stream := client.ChatStream(ctxTimeout(t, 10*time.Second), messages)
	var text strings.Builder
	for chunk := range stream.Chunks() {
		text.WriteString(chunk.Text)
	}
	return text.String(), stream.Err()
}

func TestTheLessonRunsUnchangedThroughTheGateway(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	want := practice.Choose(practice.SeedSystemPrompt, seedQuestion).Text
	for _, provider := range []string{streamdemo.Perplexity, streamdemo.Compatible} {
		t.Run(provider, func(t *testing.T) {
			tok := tg.student(t, "ana-"+provider, ledger.Limits{})
			lessonEnv(t, provider, tg.URL+"v1", tok)
			got, err := lesson(t)
			if err != nil || got != want {
				t.Fatalf("through the gateway: %v, text %q, want %q", err, got, want)
			}
		})
	}
}

func TestRefusalsReachTheLessonAsOneSentence(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream)
	teacher := tg.teacherToken(t)
	for _, c := range []struct {
		name, provider string
		setup          func(t *testing.T) string // returns the student's token
		kind           streamdemo.Kind
		sentence       string
	}{
		{"wrong token", streamdemo.Perplexity, func(t *testing.T) string { return "sdg_wrong" }, streamdemo.ErrKeyRejected,
			"The class gateway did not accept your token: check the key your teacher gave you."},
		{"budget used up", streamdemo.Compatible, func(t *testing.T) string {
			tok := tg.student(t, "dan", ledger.Limits{TokensPerDay: ptr[int64](1)})
			tg.post(t, "v1/agent", tok, agentBody(""))
			return tok
		}, streamdemo.ErrBudget, "Your class budget for today is used up; ask your teacher."},
		{"too many requests", streamdemo.Perplexity, func(t *testing.T) string {
			t.Setenv("STREAMDEMO_RETRIES", "-1")
			tok := tg.student(t, "eve", ledger.Limits{RequestsPerMinute: ptr[int64](1)})
			tg.post(t, "v1/agent", tok, agentBody(""))
			return tok
		}, streamdemo.ErrRateLimited, "Too many requests; wait 60 seconds."},
		{"paused", streamdemo.Perplexity, func(t *testing.T) string {
			tok := tg.student(t, "fay", ledger.Limits{})
			do(t, "POST", tg.URL+"teacher/pause", teacher, `{"student":"fay","paused":true}`)
			return tok
		}, streamdemo.ErrPaused, "Your teacher has paused your access to the model; ask your teacher."},
	} {
		t.Run(c.name, func(t *testing.T) {
			lessonEnv(t, c.provider, tg.URL+"v1", "")
			tok := c.setup(t)
			t.Setenv("STREAMDEMO_API_KEY", tok)
			t.Setenv("PERPLEXITY_API_KEY", tok)
			_, err := lesson(t)
			var e *streamdemo.Error
			if !errors.As(err, &e) || !errors.Is(err, c.kind) || streamdemo.Hint(err) != c.sentence {
				t.Errorf("got %v (%q), want %s: %q", err, streamdemo.Hint(err), c.kind, c.sentence)
			}
		})
	}
}
