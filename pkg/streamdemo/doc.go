// Package streamdemo streams chat answers chunk by chunk, from Perplexity's
// Agent API or from any OpenAI-compatible server (OpenAI, Ollama, llama.cpp,
// vLLM, LiteLLM), with the sources, usage, timing and errors a learner needs.
// It is the Go counterpart of the Python lesson that calls the OpenAI SDK with
// stream=True and prints each chunk as it arrives:
//
//	env, _ := streamdemo.LoadEnv() // like load_dotenv(): reads .env, never overrides
//	fmt.Println(env)               // which file, which key names; never a value
//
//	messages := []streamdemo.Message{
//		{Role: "system", Content: "You are a helpful assistant."},
//		{Role: "user", Content: "How many stars are in the universe?"},
//	}
//	client := streamdemo.NewClient(streamdemo.Config{})
//	stream := client.ChatStream(ctx, "sonar-pro", messages)
//	for chunk, err := range stream.Chunks() {
//		if err != nil {
//			fmt.Println(err) // one sentence: what happened, what to do
//			break
//		}
//		fmt.Print(chunk.Text)
//	}
//	fmt.Println(stream.Summary()) // model, time to first chunk, total, chunks, tokens, cost
//
// # Providers
//
// Config chooses the provider, base URL and model; every empty field comes
// from the environment (STREAMDEMO_PROVIDER, STREAMDEMO_BASE_URL,
// STREAMDEMO_MODEL, STREAMDEMO_PROTOCOL), then from the provider's defaults:
//
//	provider    protocol          base URL                      key
//	perplexity  Agent API         https://api.perplexity.ai/v1  PERPLEXITY_API_KEY
//	openai      chat completions  https://api.openai.com/v1     OPENAI_API_KEY (base: OPENAI_BASE_URL)
//	compatible  chat completions  STREAMDEMO_BASE_URL           STREAMDEMO_API_KEY, optional
//	ollama      chat completions  http://127.0.0.1:11434/v1     none
//	practice    Agent API         http://127.0.0.1:8787/v1      none
//
// With no provider named, a base URL alone means a compatible server; then
// the first provider with a key is used; with no key, a local Ollama server if
// one answers, else a running practice server (streamdemo serve). A key is
// required only by the provider's own service, not by a stand-in at another
// base URL.
//
// # Perplexity models
//
// Perplexity retired Sonar chat completions on 27 September 2026 (the old
// endpoint answers HTTP 403, "Sonar is now the Agent API"); the package
// streams through the Agent API (POST {base}/responses, the alias of
// /v1/agent that OpenAI clients use). System messages become instructions
// and the others become input. The seed's Sonar model names map as
// Perplexity's migration guide suggests:
//
//	sonar                model perplexity/sonar, web_search tool, tool_choice web_search
//	sonar-pro            preset low
//	sonar-reasoning      preset low
//	sonar-reasoning-pro  preset low
//	sonar-deep-research  preset medium
//	fast, low, medium, high, xhigh   that preset
//	any other name       sent unchanged as the model, web_search tool, tool_choice web_search
//
// Presets bring web search with them. A bare model does not search, and one
// only offered the tool decides for itself whether to search, so the package
// offers the tool and requires it (tool_choice {"type":"web_search"}) to keep
// the answer's sources. Search results (from the search events, the
// search_results output item, or a non-streamed answer) and fetched pages
// become Sources, numbered like the answer's [n] markers; usage and cost come
// from the terminal event, streamed or not. docs/perplexity.md shows a real
// stream.
//
// An answer cut by Request.MaxTokens (response.incomplete) ends with
// ErrIncomplete, one cancelled by the server (response.cancelled) with
// ErrServerCancelled, a failed one (response.failed or an error event) with
// ErrFailed; the text, sources and usage that arrived are kept.
//
// # Errors
//
// Every error is an *Error whose Kind can be tested with errors.Is, such as
// ErrNoKey, ErrKeyRejected, ErrSonarRetired, ErrRateLimited or ErrBroken. Its
// message is one sentence with the fix, and it never contains the key. Text
// that arrived before a failure stays in Stream.Text and Error.Partial.
package streamdemo
