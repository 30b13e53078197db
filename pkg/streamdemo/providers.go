package streamdemo

import "github.com/streamdemo/streamdemo/internal/localmodel"

// Provider names accepted in Config.Provider and STREAMDEMO_PROVIDER.
const (
	Perplexity = "perplexity" // Perplexity's Agent API (PERPLEXITY_API_KEY)
	OpenAI     = "openai"     // OpenAI chat completions (OPENAI_API_KEY, OPENAI_BASE_URL)
	Compatible = "compatible" // any OpenAI-compatible server by base URL; key optional
	Ollama     = "ollama"     // a local Ollama server on its default port
	Practice   = "practice"   // the practice server of `streamdemo serve`
)

// Protocols a provider can speak, for Config.Protocol and STREAMDEMO_PROTOCOL.
const (
	ProtocolChat      = "chat"      // POST {base}/chat/completions
	ProtocolResponses = "responses" // POST {base}/responses (Perplexity's Agent API)
	ProtocolAgent     = "agent"     // POST {base}/agent: the Agent API at Perplexity's own path of it
)

// PracticeAddr is where `streamdemo serve` listens by default.
const PracticeAddr = "127.0.0.1:8787"

// LocalModel is the model name the project registers with Ollama,
// "smollm2-135m".
const LocalModel = localmodel.Name

const (
	perplexityBaseURL = "https://api.perplexity.ai/v1"
	openaiBaseURL     = "https://api.openai.com/v1"
	ollamaBaseURL     = "http://127.0.0.1:11434/v1"
	practiceBaseURL   = "http://" + PracticeAddr + "/v1"
)

// providerInfo holds one provider's defaults.
type providerInfo struct {
	speaks, baseURL, keyVar, model string
	keyRequired                    bool
}

var providers = map[string]providerInfo{
	Perplexity: {ProtocolResponses, perplexityBaseURL, "PERPLEXITY_API_KEY", "sonar-pro", true},
	OpenAI:     {ProtocolChat, openaiBaseURL, "OPENAI_API_KEY", "gpt-4o-mini", true},
	Compatible: {ProtocolChat, "", "STREAMDEMO_API_KEY", "", false},
	Ollama:     {ProtocolChat, ollamaBaseURL, "STREAMDEMO_API_KEY", LocalModel, false},
	Practice:   {ProtocolResponses, practiceBaseURL, "STREAMDEMO_API_KEY", "sonar-pro", false},
}
