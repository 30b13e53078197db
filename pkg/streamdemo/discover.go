package streamdemo

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/streamdemo/streamdemo/internal/sizes"
)

// Discover is NewClient for a server the package knows nothing of. When cfg
// resolves to a compatible server, Discover first asks it what Config and
// the environment leave open, sending the key, if any, in a header:
//
//   - the protocol, unless named: ProtocolResponses if POST {base}/responses
//     takes an Agent API request, else ProtocolAgent if POST {base}/agent
//     does, else ProtocolChat. The request is empty, so it costs nothing: a
//     server with the Agent API refuses it (HTTP 400), one without says 404.
//   - the model, unless named: the only one GET {base}/models lists. A
//     named model that the list leaves out is refused.
//
// For any other provider the package knows the protocol and model, and
// Discover is NewClient. Settings.Why then says what the server told. A
// server that cannot be reached, refuses the key, or lists no single model
// is an *Error; Hint says what to do.
func Discover(ctx context.Context, cfg Config) (*Client, error) {
	s, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if s.Provider == Compatible {
		if err := s.discover(ctx); err != nil {
			return nil, err
		}
	}
	return &Client{settings: s}, nil
}

// discover asks s's server for its model and protocol, where s names none.
func (s *resolved) discover(ctx context.Context) error {
	status, body, err := s.ask(ctx, http.MethodGet, "/models")
	if err != nil {
		return err
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return s.failure(&Error{Kind: ErrKeyRejected, StatusCode: status})
	}
	models, listed := modelList(status, body)
	switch {
	case s.Model != "" && listed && !slices.Contains(models, s.Model):
		return s.failure(&Error{Kind: ErrUnknownModel, Message: "the server lists no model " + s.Model, facts: facts{listed: models, unlisted: s.Model}})
	case s.Model != "":
	case !listed:
		return s.failure(&Error{Kind: ErrConfig, StatusCode: status, Message: "the server did not list its models", facts: facts{noModel: true}})
	case len(models) != 1:
		return s.failure(&Error{Kind: ErrConfig, Message: "the server lists no single model", facts: facts{noModel: true, listed: models}})
	default:
		s.Model = models[0]
		s.Why += "; the server lists one model"
	}
	if s.protocolNamed {
		return nil
	}
	s.Protocol = ProtocolChat
	for _, p := range []string{ProtocolResponses, ProtocolAgent} {
		status, _, err := s.ask(ctx, http.MethodPost, "/"+p)
		if err == nil && status >= 200 && status < 500 && !slices.Contains([]int{401, 403, 404, 405}, status) {
			s.Protocol = p
			break
		}
	}
	s.Why += "; the server speaks " + s.Protocol
	return nil
}

// ask makes one request of discovery to the server: a GET, or a POST of an
// empty JSON object. It returns the status and at most a model list's worth
// of the body; a failure to get an answer is an *Error.
func (s *resolved) ask(ctx context.Context, method, path string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.FirstByteTimeout)
	defer cancel()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequestWithContext(ctx, method, s.BaseURL+path, body)
	if err != nil {
		return 0, nil, s.failure(&Error{Kind: ErrConfig, Message: "the base URL " + s.BaseURL + " is not a URL"})
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+s.APIKey)
	}
	resp, err := s.transport.RoundTrip(req)
	if err != nil {
		e := &Error{cause: err}
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			e.stall(s.FirstByteTimeout, true)
		case ctx.Err() != nil:
			e.Kind = ErrCancelled
		default:
			e.classifyNetwork(err)
		}
		return 0, nil, s.failure(e)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, sizes.MaxEvent))
	return resp.StatusCode, b, nil
}

// failure says where a failure of discovery happened.
func (s *resolved) failure(e *Error) *Error {
	e.Provider = s.Provider
	e.facts.baseURL, e.facts.keyVar, e.facts.noKey = s.BaseURL, first(s.KeyFrom, s.KeyVar), s.APIKey == ""
	e.facts.discover = true
	return e
}

// modelList reads the model names of an OpenAI-style model list ({"data":
// [{"id": ...}]}), and reports whether body was one.
func modelList(status int, body []byte) ([]string, bool) {
	var list struct {
		Data *[]json.RawMessage `json:"data"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &list) != nil || list.Data == nil {
		return nil, false
	}
	models := []string{}
	for _, raw := range *list.Data {
		var m struct{ ID any }
		if json.Unmarshal(raw, &m) == nil {
			if id, ok := m.ID.(string); ok && id != "" {
				models = append(models, id)
			}
		}
	}
	return models, true
}
