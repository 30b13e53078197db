package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"time"
)

// chatProbeTimeout bounds the one request chatAnswers makes.
const chatProbeTimeout = 10 * time.Second

// chatAnswers reports whether the server at base serves chat completions.
// It posts an empty request, which costs nothing: a server without them
// says 404 or 405, Perplexity (which retired them) 403
// chat_completions_not_available. A server that cannot be reached does
// not serve them. The key, if any, goes in a header.
func chatAnswers(ctx context.Context, base, key string) bool {
	ctx, cancel := context.WithTimeout(ctx, chatProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/chat/completions", strings.NewReader("{}"))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusNotFound, resp.StatusCode == http.StatusMethodNotAllowed:
		return false
	case resp.StatusCode == http.StatusForbidden && bytes.Contains(body, []byte("chat_completions_not_available")):
		return false
	}
	return true
}
