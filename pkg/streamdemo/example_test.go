package streamdemo_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

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
