package practice

import "strings"

// AgentModels are the provider/model slugs the Agent API serves, from
// Perplexity's model list (GET /v1/models, docs/perplexity.md); the Agent API
// answers any other slug with 400 invalid_model, and so does this server.
var AgentModels = []string{
	"perplexity/sonar",
	"openai/gpt-6-luna", "openai/gpt-5.5", "openai/gpt-5.4", "openai/gpt-5.2", "openai/gpt-5.1", "openai/gpt-5-mini",
	"anthropic/claude-opus-4-6", "anthropic/claude-sonnet-4-6", "anthropic/claude-sonnet-4-5", "anthropic/claude-haiku-4-5",
	"google/gemini-3.1-pro-preview", "google/gemini-3.1-flash-lite", "google/gemini-3.5-flash",
	"xai/grok-4-1-fast-non-reasoning",
}

// presetModels are the model each of the Agent API's presets
// (agentwire.Presets) runs here, named at the end of an answer as the Agent
// API names the model that ran. The real capture shows fast running
// openai/gpt-6-luna; Perplexity changes the others over time.
var presetModels = map[string]string{
	"fast": "openai/gpt-6-luna", "low": "openai/gpt-5.4", "medium": "anthropic/claude-sonnet-4-6",
	"high": "anthropic/claude-opus-4-6", "xhigh": "anthropic/claude-opus-4-6", "wide-research": "anthropic/claude-opus-4-6",
}

// previousPresets are the names presets had before, which the Agent API
// still takes, and the preset whose model each runs here.
var previousPresets = map[string]string{"fast-search": "fast", "pro-search": "low", "deep-research": "medium", "advanced-deep-research": "high"}

// presetModel is the model the preset named runs here; "" for no preset.
func presetModel(name string) string {
	if now, ok := previousPresets[name]; ok {
		name = now
	}
	return presetModels[name]
}

// practiceEngines are the prefixes of this server's own model names: faults,
// test answers, answers of a set length and recordings.
var practiceEngines = []string{"fault/", "test/", LengthModel, replayPrefix}

// agentModelKnown reports whether the Agent API (or this server) serves model.
func agentModelKnown(model string) bool {
	for _, p := range practiceEngines {
		if strings.HasPrefix(model, p) {
			return true
		}
	}
	for _, m := range AgentModels {
		if m == model {
			return true
		}
	}
	return false
}
