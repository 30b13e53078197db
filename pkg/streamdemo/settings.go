package streamdemo

import (
	"net/http"
	"time"
)

// settings is a Config with every choice made.
type settings struct {
	Provider, Protocol, BaseURL, Model, APIKey, KeyVar string
	KeyRequired                                        bool
	FirstByteTimeout, IdleTimeout                      time.Duration
	Retries                                            int
	Notify                                             func(string)
	onEvent                                            func([]byte)
	transport                                          http.RoundTripper // shared by the client's streams
	streamLimit                                        int
	guessed                                            bool // no provider was named
}
