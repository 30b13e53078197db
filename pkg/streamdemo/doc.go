// Package streamdemo streams a chat answer and hands it to you chunk by chunk
// as it arrives, the Go counterpart of the Python lesson that calls the
// OpenAI SDK with stream=True. This is the lesson's loop:
//
//	client, err := streamdemo.NewClient(streamdemo.Config{})
//	if err != nil {
//		fmt.Println(streamdemo.Hint(err)) // e.g. no key: which variable, which file
//		return
//	}
//	stream := client.ChatStream(ctx, messages)
//	for chunk := range stream.Chunks() {
//		fmt.Print(chunk.Text)
//	}
//	if err := stream.Err(); err != nil {
//		fmt.Println("\n" + streamdemo.Hint(err))
//	}
//	fmt.Println(stream.Summary()) // model, time to first chunk, total, chunks, tokens, cost
//
// The story behind it, in four steps:
//
//  1. LoadEnv reads .env like load_dotenv(); NewClient resolves where to ask
//     (Config, then the environment, then a check for a local model or the
//     practice server; see Providers) in one step, and returns what went wrong at once: a
//     cell stops on the line that caused the problem, not two lines later.
//  2. ChatStream (or Stream, with a Request naming a model, a token limit or
//     a whole, non-streamed answer) sends nothing until you range over it.
//  3. Chunks yields the answer's text as it arrives. Underneath, one attempt
//     makes one HTTP request (another follows when a retry is safe, and
//     Config.Notify hears of it), the protocol turns each
//     wire event (Config.OnEvent sees it as it arrives) into an event
//     (text, sources, usage, model, finish or failure), and the Stream folds those events into what you read: Text,
//     Sources, Usage, Model, Timing. A whole answer goes through the same
//     fold, so it never differs from a streamed one.
//  4. Err says why the stream ended early, as an *Error with a Kind for
//     errors.Is; Hint turns it into one sentence a learner can act on.
//
// Package streamdemo/notebook shows a stream live in a GoNB cell; this
// package imports nothing from GoNB and installs no signal handler.
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
// Where an answer comes from, the one rule the command line, the notebooks
// and the classroom share:
//
//  1. the provider named (Config.Provider, STREAMDEMO_PROVIDER);
//  2. else the provider whose key is set: PERPLEXITY_API_KEY (or a key given
//     in Config.APIKey) for perplexity, OPENAI_API_KEY for openai,
//     STREAMDEMO_API_KEY for compatible; more than one set is refused until
//     STREAMDEMO_PROVIDER names one;
//  3. else, with a base URL alone, a compatible server;
//  4. else the local model if its server answers (ollama), else the practice
//     server if it answers (streamdemo serve), else perplexity, whose
//     missing key is then the error. A server counts only if this account,
//     root or a system account runs it: on a shared machine, a server
//     another account started on one of these ports would read every
//     question. Where the system does not say (no /proc/net/tcp), one that
//     answers counts.
//
// A base URL (Config.BaseURL, STREAMDEMO_BASE_URL) points whichever provider
// is chosen at another server: a base URL and PERPLEXITY_API_KEY ask the
// Agent API there, which is what a class gateway serves. A key is required
// only by the provider's own service, not by a stand-in at another base URL.
// Naming a provider skips the check of step 4, which dials two local ports.
// Client.Settings says what was chosen, and why.
//
// A compatible server speaks chat completions unless STREAMDEMO_PROTOCOL
// says responses (the Agent API at {base}/responses) or agent (at
// {base}/agent), and has no default model: Discover asks the server both.
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
// message states the facts in Go's lower-case style; Hint(err) is the
// sentence with the fix. Neither ever contains the key. Text that arrived
// before a failure stays in Stream.Text.
package streamdemo
