package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/streamdemo/streamdemo/internal/practice"
)

// The teacher sets the allow-list from the command line; "gateway serve -h"
// says what a gateway without one allows.
func TestGatewayModelsCommand(t *testing.T) {
	data := t.TempDir()
	out, errOut, code := run(t, "gateway", "models", "--data", data)
	if code != 0 || !strings.Contains(out, "No list set") {
		t.Fatalf("models with none set: exit %d %q %q", code, out, errOut)
	}
	out, _, code = run(t, "gateway", "models", "--set", "sonar-pro, pro-search", "--data", data)
	if code != 0 || !strings.Contains(out, "Students may use: sonar-pro, pro-search") {
		t.Errorf("models --set: exit %d %q", code, out)
	}
	out, _, _ = run(t, "gateway", "usage", "--json", "--data", data)
	if !strings.Contains(out, `"sonar-pro"`) || !strings.Contains(out, "allowed models: sonar-pro, pro-search") {
		t.Errorf("the report does not show the list and its switch: %s", out)
	}
	out, _, code = run(t, "gateway", "models", "--default", "--data", data)
	if code != 0 || !strings.Contains(out, "No list set") {
		t.Errorf("models --default: exit %d %q", code, out)
	}
	help, _, _ := run(t, "gateway", "serve", "-h")
	if !strings.Contains(help, "STREAMDEMO_GATEWAY_MODELS") || !strings.Contains(help, "none: any model") {
		t.Errorf("help does not say what the allow-list defaults to: %s", help)
	}
	_, errOut, code = run(t, "gateway", "limits", "--usd-per-day", "-1", "--data", data)
	if code == 0 || !strings.Contains(errOut, "cannot be negative") {
		t.Errorf("a negative limit: exit %d %q", code, errOut)
	}
}

// The classroom gives the class's model in STREAMDEMO_GATEWAY_MODELS: a
// served gateway refuses any other. In front of the practice server as
// Perplexity (STREAMDEMO_GATEWAY_AGENT_ONLY), chat completions go through
// the Agent API.
func TestGatewayServeTakesTheAllowListFromTheEnvironment(t *testing.T) {
	up := httptest.NewServer(practice.New(practice.Options{}))
	defer up.Close()
	base, token := startGatewayCommand(t, up.URL+"/v1", "STREAMDEMO_GATEWAY_MODELS=sonar-pro", "STREAMDEMO_GATEWAY_AGENT_ONLY=1")
	ask := func(model string) (int, string) {
		req, _ := http.NewRequest("POST", base+"/chat/completions", strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := ask("sonar-pro"); st != 200 || !strings.Contains(body, `"object":"chat.completion"`) {
		t.Errorf("the class's model: HTTP %d %s", st, body)
	}
	if st, body := ask("sonar"); st != 400 || !strings.Contains(body, "class_model_not_allowed") || !strings.Contains(body, "sonar-pro") {
		t.Errorf("another model: HTTP %d %s", st, body)
	}
}
