package gateway

import (
	"encoding/json"
	"net/url"
)

// call is one student's request on its way through the gateway: what was
// asked, what was reserved, and what the answer turned out to use.
type call struct {
	student   string
	path      string // after the prefix, e.g. "v1/chat/completions"
	target    *url.URL
	key       []byte
	model     string
	chat      bool
	hideUsage bool // the gateway asked for include_usage; the client did not
	id        int64
	inputEst  int64

	// Filled in while the answer streams; read after it ended.
	status        int
	usage         *wireUsage
	upstreamModel string
	chars         int64
	failed        bool
	proxyErr      error
}

// askedFor is the part of a request body the gateway reads.
type askedFor struct {
	Model               string          `json:"model"`
	Stream              bool            `json:"stream"`
	StreamOptions       json.RawMessage `json:"stream_options"`
	MaxOutputTokens     int64           `json:"max_output_tokens"`
	MaxTokens           int64           `json:"max_tokens"`
	MaxCompletionTokens int64           `json:"max_completion_tokens"`
}

func (a askedFor) outputCap() int64 {
	return max(a.MaxOutputTokens, a.MaxTokens, a.MaxCompletionTokens)
}

// askForUsage makes a streamed chat request ask for the final usage chunk,
// which accounting needs, and reports whether the client had not asked for
// it (so the gateway hides that chunk). Other bodies pass unchanged.
func askForUsage(body []byte, a askedFor) ([]byte, bool, error) {
	if !a.Stream {
		return body, false, nil
	}
	var opts map[string]any
	if len(a.StreamOptions) > 0 && string(a.StreamOptions) != "null" {
		if err := json.Unmarshal(a.StreamOptions, &opts); err != nil {
			return nil, false, err
		}
	}
	if v, _ := opts["include_usage"].(bool); v {
		return body, false, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, false, err
	}
	if opts == nil {
		opts = map[string]any{}
	}
	opts["include_usage"] = true
	fields["stream_options"], _ = json.Marshal(opts)
	out, err := json.Marshal(fields)
	return out, true, err
}
