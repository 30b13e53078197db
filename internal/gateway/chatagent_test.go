package gateway

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/streamdemo/streamdemo/internal/agentchat"
	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/practice"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// agentOnly is a gateway whose upstream answers only the Agent API.
func agentOnly(c *Config) { c.AgentOnly = true }

// chatChunk is what a chat client reads of a chunk or a whole answer.
type chatChunk struct {
	Object  string
	Model   string
	Choices []struct {
		Delta        struct{ Content string }
		Message      struct{ Content string }
		FinishReason *string `json:"finish_reason"`
	}
	Usage *struct {
		PromptTokens     int64 `json:"prompt_tokens"`
		CompletionTokens int64 `json:"completion_tokens"`
		Cost             struct {
			TotalCost float64 `json:"total_cost"`
		}
	}
	Citations []string
}

// settled waits until the ledger holds n answers, none still open.
func settled(t *testing.T, tg *testGateway, n int) {
	t.Helper()
	waitFor(t, 3*time.Second, "the answers never settled", func() bool {
		rows := tg.requests(t)
		for _, r := range rows {
			if r.State == "open" {
				return false
			}
		}
		return len(rows) == n
	})
}

func TestChatCompletionsOverTheAgentAPIStreamAndAreChargedAsTheAgentAPIIs(t *testing.T) {
	srv, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream, agentOnly)
	want := practice.Choose("", seedQuestion).Text
	chat := chatBody(`,"stream_options":{"include_usage":true}`)

	a := tg.post(t, "v1/chat/completions", tg.student(t, "ana", ledger.Limits{}), chat)
	evs := events(a.Body)
	if a.Status != 200 || streamedText(a.Body) != want || evs[len(evs)-1] != "[DONE]" {
		t.Fatalf("HTTP %d, text %q, want %q then [DONE]", a.Status, streamedText(a.Body), want)
	}
	var finish, usage chatChunk
	json.Unmarshal([]byte(evs[len(evs)-3]), &finish)
	json.Unmarshal([]byte(evs[len(evs)-2]), &usage)
	if finish.Model != "sonar-pro" || len(finish.Choices) != 1 || finish.Choices[0].FinishReason == nil || *finish.Choices[0].FinishReason != "stop" {
		t.Errorf("the finishing chunk: %s", evs[len(evs)-3])
	}
	if len(usage.Choices) != 0 || usage.Usage == nil || usage.Usage.Cost.TotalCost <= 0 || usage.Usage.CompletionTokens == 0 {
		t.Errorf("the usage chunk: %s", evs[len(evs)-2])
	}
	if recs := srv.Records(); recs[len(recs)-1].Path != "/v1/responses" || recs[len(recs)-1].Model != "preset/low" {
		t.Errorf("the upstream was asked %s for %s, want /v1/responses for preset low", recs[len(recs)-1].Path, recs[len(recs)-1].Model)
	}

	// The same Agent API request sent as such by another student: the same reservation, usage and charge.
	agentReq, _, err := agentchat.Request([]byte(chat))
	if err != nil {
		t.Fatal(err)
	}
	if b := tg.post(t, "v1/responses", tg.student(t, "bob", ledger.Limits{}), string(agentReq)); b.Status != 200 {
		t.Fatalf("the Agent API request: HTTP %d %s", b.Status, b.Body)
	}
	settled(t, tg, 2)
	rows := tg.requests(t)
	viaChat, direct := rows[0], rows[1]
	direct.Student = viaChat.Student
	if viaChat != direct || viaChat.State != "done" || viaChat.Cost != usage.Usage.Cost.TotalCost || viaChat.Out != usage.Usage.CompletionTokens {
		t.Errorf("ledger rows: through chat %+v, as the Agent API %+v; the usage chunk said %d tokens, %g USD",
			viaChat, direct, usage.Usage.CompletionTokens, usage.Usage.Cost.TotalCost)
	}
	var paths, models [2]string
	tg.db.QueryRow(`SELECT MIN(path), MAX(path), MIN(model), MAX(model) FROM requests`).Scan(&paths[0], &paths[1], &models[0], &models[1])
	if paths != [2]string{"v1/chat/completions", "v1/responses"} || models[0] != models[1] {
		t.Errorf("the ledger shows paths %q and models %q, want the student's path and one model", paths, models)
	}
}

func TestAWholeChatAnswerOverTheAgentAPI(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream, agentOnly)
	tok := tg.student(t, "ana", ledger.Limits{})
	a := tg.post(t, "v1/chat/completions", tok, `{"model":"sonar","messages":[{"role":"user","content":"`+seedQuestion+`"}]}`)
	var whole chatChunk
	if err := json.Unmarshal([]byte(a.Body), &whole); err != nil || a.Status != 200 {
		t.Fatalf("HTTP %d %s", a.Status, a.Body)
	}
	if whole.Object != "chat.completion" || len(whole.Choices) != 1 || whole.Choices[0].Message.Content != practice.Choose("", seedQuestion).Text ||
		whole.Usage == nil || len(whole.Citations) == 0 {
		t.Errorf("whole answer %s", a.Body)
	}
	settled(t, tg, 1)
	if r := tg.requests(t)[0]; r.State != "done" || r.Cost != whole.Usage.Cost.TotalCost || r.Out != whole.Usage.CompletionTokens {
		t.Errorf("ledger row %+v for %s", r, a.Body)
	}
}

func TestACutChatAnswerOverTheAgentAPIIsChargedAsACutAgentAnswer(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	_, upstream := startScripted(t, agentStream(50, hang))
	tg := startGateway(t, upstream, agentOnly)
	chat := `{"model":"perplexity/sonar","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	agentReq, _, _ := agentchat.Request([]byte(chat))
	readThenLeave(t, tg.URL+"v1/chat/completions", tg.student(t, "ana", ledger.Limits{}), chat, 51) // the role chunk, then 50
	readThenLeave(t, tg.URL+"v1/agent", tg.student(t, "bob", ledger.Limits{}), string(agentReq), 50)
	settled(t, tg, 2)
	rows := tg.requests(t)
	rows[1].Student = rows[0].Student
	if rows[0] != rows[1] || rows[0].State != "stopped" || rows[0].Out == 0 {
		t.Errorf("cut through chat %+v, cut as the Agent API %+v", rows[0], rows[1])
	}
}

func TestChatOverTheAgentAPIRefusesInChatsShape(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream, agentOnly, func(c *Config) { c.Models = []string{"sonar-pro", "fault/404", "fault/failed"} })
	ana := tg.student(t, "ana", ledger.Limits{})
	teacher := tg.teacherToken(t)
	chatShape := func(what string, a answer, status int, typ string) {
		t.Helper()
		var e struct {
			Error map[string]any `json:"error"`
		}
		json.Unmarshal([]byte(a.Body), &e)
		sentence := strings.HasSuffix(e.Error["message"].(string), ".") || !strings.HasPrefix(typ, "class_")
		if a.Status != status || e.Error["type"] != typ || e.Error["code"] != typ || len(e.Error) != 4 || e.Error["param"] != nil || !sentence {
			t.Errorf("%s: HTTP %d %s, want %d %s in chat's shape", what, a.Status, a.Body, status, typ)
		}
	}
	chatShape("a model the class does not allow", tg.post(t, "v1/chat/completions", ana, strings.Replace(chatBody(""), "sonar-pro", "sonar", 1)),
		400, "class_model_not_allowed")
	chatShape("several answers", tg.post(t, "v1/chat/completions", ana, chatBody(`,"n":2`)), 400, "invalid_request_error")
	chatShape("a model the upstream does not know", tg.post(t, "v1/chat/completions", ana, strings.Replace(chatBody(""), "sonar-pro", "fault/404", 1)),
		400, "invalid_model")
	do(t, "POST", tg.URL+"teacher/pause", teacher, `{"student":"ana","paused":true}`)
	chatShape("paused", tg.post(t, "v1/chat/completions", ana, chatBody("")), 403, "class_paused")
	do(t, "POST", tg.URL+"teacher/pause", teacher, `{"student":"ana","paused":false}`)
	do(t, "POST", tg.URL+"teacher/limits", teacher, `{"student":"ana","limits":{"usd_per_day":0.000001}}`)
	tg.post(t, "v1/chat/completions", ana, chatBody(""))
	chatShape("over budget", tg.post(t, "v1/chat/completions", ana, chatBody("")), 429, "class_budget_exceeded")

	// An answer that fails mid-stream ends with chat's error event, and is not charged as done.
	bob := tg.student(t, "bob", ledger.Limits{})
	a := tg.post(t, "v1/chat/completions", bob, strings.Replace(chatBody(""), "sonar-pro", "fault/failed", 1))
	evs := events(a.Body)
	if last := evs[len(evs)-1]; a.Status != 200 || !strings.HasPrefix(last, `{"error":{`) || streamedText(a.Body) == "" {
		t.Errorf("a failed answer ends with %q", last)
	}
	settled(t, tg, len(tg.requests(t)))
	rows := tg.requests(t)
	if last := rows[len(rows)-1]; last.Student != "bob" || last.State != "failed" {
		t.Errorf("the failed answer's row: %+v", last)
	}
}

func TestTheLessonOnChatCompletionsRunsThroughAPerplexityClass(t *testing.T) {
	_, upstream := startPractice(t, fast)
	tg := startGateway(t, upstream, agentOnly)
	lessonEnv(t, streamdemo.Compatible, tg.URL+"v1", tg.student(t, "ana", ledger.Limits{}))
	t.Setenv("STREAMDEMO_MODEL", "sonar-pro")
	got, err := lesson(t)
	if want := practice.Choose(practice.SeedSystemPrompt, seedQuestion).Text; err != nil || got != want {
		t.Fatalf("the lesson over chat completions: %v, text %q, want %q", err, got, want)
	}
}

func TestAPerplexityUpstreamAnswersOnlyTheAgentAPI(t *testing.T) {
	tg := startGateway(t, "https://api.perplexity.ai/v1")
	if !tg.gw.proxy.route.agentOnly {
		t.Error("a gateway in front of api.perplexity.ai passes chat completions on, which Perplexity answers with 403")
	}
	if tg := startGateway(t, "https://api.openai.com/v1"); tg.gw.proxy.route.agentOnly {
		t.Error("a gateway in front of OpenAI translates chat completions")
	}
}
