package streamdemo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/streamdemo/streamdemo/internal/practice"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// The seed lesson in Go: build the messages, make a client, range over the
// stream and print each chunk as it arrives. Here the practice server stands
// in for Perplexity.
func Example() {
	server := httptest.NewServer(practice.New(practice.Options{}))
	defer server.Close()

	messages := []streamdemo.Message{
		{Role: "system", Content: "You are an AI assistant that responds in haikus."},
		{Role: "user", Content: "How many stars are in the universe?"},
	}
	client, err := streamdemo.NewClient(streamdemo.Config{Provider: "perplexity", BaseURL: server.URL + "/v1"})
	if err != nil {
		fmt.Println(streamdemo.Hint(err))
		return
	}
	stream := client.ChatStream(context.Background(), messages)
	for chunk := range stream.Chunks() {
		fmt.Print(chunk.Text)
	}
	if err := stream.Err(); err != nil {
		fmt.Println(streamdemo.Hint(err))
	}
	fmt.Println()
	fmt.Println(stream.Sources()[0])
	// Output:
	// Countless distant suns,
	// two hundred billion trillion[1]—
	// the dark sky still hums.
	// [1] How many stars are there in the Universe? https://www.esa.int/Science_Exploration/Space_Science/Herschel/How_many_stars_are_there_in_the_Universe
}

// An error says what happened; errors.Is tells its kind, and Hint says
// what to do. Request.Model names a model other than the client's.
func ExampleHint() {
	server := httptest.NewServer(practice.New(practice.Options{}))
	defer server.Close()

	client, _ := streamdemo.NewClient(streamdemo.Config{Provider: "openai", BaseURL: server.URL + "/v1", Retries: -1})
	stream := client.Stream(context.Background(), streamdemo.Request{Model: "fault/429", Messages: []streamdemo.Message{{Role: "user", Content: "Hi"}}})
	for range stream.Chunks() {
	}
	if err := stream.Err(); errors.Is(err, streamdemo.ErrRateLimited) {
		fmt.Println(err)
		fmt.Println(streamdemo.Hint(err))
	}
	// Output:
	// openai: rate limited (HTTP 429): Rate limit reached for requests. Please try again in 2s.
	// openai is rate limiting requests (HTTP 429): wait 2s and run it again.
}

// NewClient reports a configuration problem at once, as an *Error of kind
// ErrConfig or ErrNoKey; Hint is the sentence to show.
func ExampleNewClient() {
	_, err := streamdemo.NewClient(streamdemo.Config{Provider: "perplexyty"})
	fmt.Println(errors.Is(err, streamdemo.ErrConfig))
	fmt.Println(streamdemo.Hint(err))
	// Output:
	// true
	// unknown provider "perplexyty": use perplexity, openai, compatible, ollama or practice.
}

// Request.Whole asks for the whole answer at once: it arrives as one chunk,
// when the model has finished, and is read like a streamed one.
func ExampleClient_Stream() {
	server := httptest.NewServer(practice.New(practice.Options{}))
	defer server.Close()

	client, _ := streamdemo.NewClient(streamdemo.Config{Provider: "practice", BaseURL: server.URL + "/v1", Model: "sonar-pro"})
	haiku := []streamdemo.Message{
		{Role: "system", Content: "You are an AI assistant that responds in haikus."},
		{Role: "user", Content: "How many stars are in the universe?"},
	}
	stream := client.Stream(context.Background(), streamdemo.Request{Messages: haiku, Whole: true})
	for chunk := range stream.Chunks() {
		fmt.Printf("chunk %d:\n%s\n", chunk.Index, chunk.Text)
	}
	fmt.Println(stream.FinishReason(), stream.Err())
	// Output:
	// chunk 1:
	// Countless distant suns,
	// two hundred billion trillion[1]—
	// the dark sky still hums.
	// stop <nil>
}

// Leaving the loop early closes the connection; what arrived is kept, and
// the stream did not fail.
func ExampleStream_Chunks() {
	server := httptest.NewServer(practice.New(practice.Options{}))
	defer server.Close()

	client, _ := streamdemo.NewClient(streamdemo.Config{Provider: "practice", BaseURL: server.URL + "/v1", Model: "sonar-pro"})
	stream := client.ChatStream(context.Background(), []streamdemo.Message{{Role: "user", Content: "How many stars are in the universe?"}})
	for chunk := range stream.Chunks() {
		fmt.Printf("%d %q\n", chunk.Index, chunk.Text)
		if chunk.Index == 3 {
			break
		}
	}
	fmt.Printf("kept %q, error %v\n", stream.Text(), stream.Err())
	// Output:
	// 1 "Astronomers "
	// 2 "estimate "
	// 3 "there "
	// kept "Astronomers estimate there ", error <nil>
}

// After the loop, the stream tells what the answer cost and where it came from.
func ExampleStream_Usage() {
	server := httptest.NewServer(practice.New(practice.Options{}))
	defer server.Close()

	client, _ := streamdemo.NewClient(streamdemo.Config{Provider: "practice", BaseURL: server.URL + "/v1", Model: "sonar-pro"})
	stream := client.ChatStream(context.Background(), []streamdemo.Message{{Role: "user", Content: "How many stars are in the universe?"}})
	for range stream.Chunks() {
	}
	if u := stream.Usage(); u != nil {
		fmt.Printf("%d tokens in, %d out, cost %.4f %s\n", u.InputTokens, u.OutputTokens, u.Cost, u.Currency)
	}
	fmt.Println("model:", stream.Model())
	for _, source := range stream.Sources() {
		fmt.Println(source.Number, source.URL)
	}
	// Output:
	// 7 tokens in, 192 out, cost 0.0052 USD
	// model: openai/gpt-5.4
	// 1 https://www.esa.int/Science_Exploration/Space_Science/Herschel/How_many_stars_are_there_in_the_Universe
	// 2 https://www.space.com/26078-how-many-stars-are-there.html
	// 3 https://science.nasa.gov/missions/hubble/hubble-reveals-observable-universe-contains-10-times-more-galaxies-than-previously-thought/
	// 4 https://science.nasa.gov/universe/stars/
	// 5 https://arxiv.org/abs/1607.03909
}

// LoadEnv reads .env files from this folder up to the repository root, like
// Python's load_dotenv(), and never overrides a variable already set.
func ExampleLoadEnv() {
	dir, _ := os.MkdirTemp("", "lesson")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module lesson\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".env"), []byte("STREAMDEMO_EXAMPLE_GREETING=hello\n"), 0o600)
	wd, _ := os.Getwd()
	os.Chdir(dir)
	defer os.Chdir(wd)
	defer os.Unsetenv("STREAMDEMO_EXAMPLE_GREETING")

	env, err := streamdemo.LoadEnv()
	if err != nil {
		fmt.Println(streamdemo.Hint(err))
		return
	}
	fmt.Println(env)
	fmt.Println(os.Getenv("STREAMDEMO_EXAMPLE_GREETING"))
	// Output:
	// loaded .env (STREAMDEMO_EXAMPLE_GREETING)
	// hello
}

// Config.OnEvent shows the wire itself: the JSON of each server-sent event,
// as it arrives, before the package folds it into chunks. Here the first
// events of a Perplexity answer, up to its first piece of text.
func ExampleConfig_onEvent() {
	server := httptest.NewServer(practice.New(practice.Options{}))
	defer server.Close()

	var types []string
	cfg := streamdemo.Config{Provider: "practice", BaseURL: server.URL + "/v1", Model: "sonar-pro"}
	cfg.OnEvent = func(data []byte) {
		var ev struct{ Type string }
		json.Unmarshal(data, &ev)
		types = append(types, ev.Type)
	}
	client, _ := streamdemo.NewClient(cfg)
	stream := client.ChatStream(context.Background(), []streamdemo.Message{{Role: "user", Content: "How many stars are in the universe?"}})
	for chunk := range stream.Chunks() {
		fmt.Printf("%s\nfirst chunk %q\n", strings.Join(types, "\n"), chunk.Text)
		break
	}
	// Output:
	// response.created
	// response.in_progress
	// response.output_item.added
	// response.reasoning.search_queries
	// response.reasoning.search_results
	// response.output_item.done
	// response.output_item.added
	// response.output_text.delta
	// first chunk "Astronomers "
}

// Settings say where a client asks and why, and which variable the key
// comes from, never the key itself.
func ExampleClient_Settings() {
	client, err := streamdemo.NewClient(streamdemo.Config{Provider: "ollama"})
	if err != nil {
		fmt.Println(streamdemo.Hint(err))
		return
	}
	s := client.Settings()
	fmt.Println(s.Provider, s.Protocol, s.BaseURL, s.Model)
	fmt.Println("key from:", s.KeyVar, "required:", s.KeyRequired)
	fmt.Println("why:", s.Why)
	// Output:
	// ollama chat http://127.0.0.1:11434/v1 smollm2-135m
	// key from: STREAMDEMO_API_KEY required: false
	// why: Config.Provider names it
}

// Discover asks a server the package knows nothing of what it speaks, and
// its model when it lists only one. Here the practice server stands in for
// a teacher's own: it has the Agent API at /responses and lists many
// models, so the model is named.
func ExampleDiscover() {
	server := httptest.NewServer(practice.New(practice.Options{}))
	defer server.Close()

	cfg := streamdemo.Config{Provider: "compatible", BaseURL: server.URL + "/v1", Model: "perplexity/sonar"}
	client, err := streamdemo.Discover(context.Background(), cfg)
	if err != nil {
		fmt.Println(streamdemo.Hint(err))
		return
	}
	s := client.Settings()
	fmt.Println(s.Provider, s.Protocol, s.Model)
	fmt.Println("why:", s.Why)
	// Output:
	// compatible responses perplexity/sonar
	// why: Config.Provider names it; the server speaks responses
}
