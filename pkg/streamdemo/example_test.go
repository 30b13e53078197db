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
	client := streamdemo.NewClient(streamdemo.Config{Provider: "perplexity", BaseURL: server.URL + "/v1"})
	stream := client.ChatStream(context.Background(), "sonar-pro", messages)
	for chunk, err := range stream.Chunks() {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Print(chunk.Text)
	}
	fmt.Println()
	fmt.Println(stream.Sources()[0])
	// Output:
	// Countless distant suns,
	// two hundred billion trillion[1]—
	// the dark sky still hums.
	// [1] How many stars are there in the Universe? https://www.esa.int/Science_Exploration/Space_Science/Herschel/How_many_stars_are_there_in_the_Universe
}

// Errors say what happened and what to do, and errors.Is tells their kind.
func ExampleKind() {
	server := httptest.NewServer(practice.New(practice.Options{}))
	defer server.Close()

	client := streamdemo.NewClient(streamdemo.Config{Provider: "openai", BaseURL: server.URL + "/v1", Retries: -1})
	stream := client.ChatStream(context.Background(), "fault/429", []streamdemo.Message{{Role: "user", Content: "Hi"}})
	for _, err := range stream.Chunks() {
		if errors.Is(err, streamdemo.ErrRateLimited) {
			fmt.Println(err)
		}
	}
	// Output:
	// openai is rate limiting requests (HTTP 429): wait 2s and run it again.
}
