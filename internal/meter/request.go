// Package meter reads what a budget needs from the wire of a model request
// and of its answer, in either protocol the class gateway serves (chat
// completions and the Agent API): what a request asks for (its models,
// output cap and answers, and whether it streams), and what an answer used
// as it passes (every kind of output the model wrote, the usage and cost
// the upstream reports, the model that ran). It refuses what the gateway
// and the upstream could read differently, and changes no byte of an
// answer but the usage chunk a client did not ask for, unless the caller
// has it translated for a client of the other protocol (Translator).
package meter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Bounds on the names accounting reads, so that the work and the log line
// of a request do not grow with what a student sends: the Agent API takes
// at most 5 models, and no model or preset has a longer name.
const (
	maxModels    = 5
	maxModelName = 200
)

// capFields are the output caps either protocol reads.
var capFields = []string{"max_output_tokens", "max_tokens", "max_completion_tokens"}

// answerFields ask for several answers to one request, each up to the cap:
// n answers returned, best_of generated (and billed).
var answerFields = []string{"n", "best_of"}

// readFields are the top-level fields accounting reads. The upstream must
// read the same values: a body holding one of them twice, or in another
// case (which encoding/json would match, others would not), is refused.
var readFields = append(append([]string{"model", "models", "preset", "stream", "stream_options"}, capFields...), answerFields...)

// Bounds are the largest output cap and number of answers a request may ask for.
type Bounds struct{ Cap, Answers int64 }

// Request is the part of a request body accounting reads.
type Request struct {
	Model         string          `json:"model"`
	Models        []string        `json:"models"`
	Preset        string          `json:"preset"`
	Stream        bool            `json:"stream"`
	StreamOptions json.RawMessage `json:"stream_options"`
	caps          map[string]int64
	answers       int64 // the most answers generated: n or best_of; 0 for one
}

// BadRequest is a body accounting cannot read, with the sentence to say
// and the field at fault.
type BadRequest struct{ Field, Message string }

func (e *BadRequest) Error() string { return e.Message }

// Parse reads what accounting needs, refusing what the gateway and the
// upstream could read differently, and caps and answers beyond b.
func Parse(body []byte, b Bounds) (Request, error) {
	var a Request
	if err := checkFields(body); err != nil {
		return a, err
	}
	var raw struct {
		Request
		MaxOutputTokens     json.RawMessage `json:"max_output_tokens"`
		MaxTokens           json.RawMessage `json:"max_tokens"`
		MaxCompletionTokens json.RawMessage `json:"max_completion_tokens"`
		N                   json.RawMessage `json:"n"`
		BestOf              json.RawMessage `json:"best_of"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return a, &BadRequest{Message: "The request body is not the JSON this endpoint takes (" + jsonProblem(err) + ")."}
	}
	a = raw.Request
	for _, name := range append([]string{a.Model, a.Preset}, a.Models...) {
		if len(name) > maxModelName {
			return a, &BadRequest{Field: "model", Message: fmt.Sprintf("A model or preset name is at most %d characters long.", maxModelName)}
		}
	}
	a.caps = map[string]int64{}
	for i, v := range []json.RawMessage{raw.MaxOutputTokens, raw.MaxTokens, raw.MaxCompletionTokens} {
		if n, err := wholeNumber(capFields[i], v, b.Cap); err != nil {
			return a, err
		} else if n > 0 {
			a.caps[capFields[i]] = n
		}
	}
	for i, v := range []json.RawMessage{raw.N, raw.BestOf} {
		n, err := wholeNumber(answerFields[i], v, b.Answers)
		if err != nil {
			return a, err
		}
		a.answers = max(a.answers, n)
	}
	return a, nil
}

// wholeNumber reads field name's value v, a whole number from 1 to most;
// 0 when absent or null.
func wholeNumber(name string, v json.RawMessage, most int64) (int64, error) {
	if len(v) == 0 || string(v) == "null" {
		return 0, nil
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < 1 || n > most {
		return 0, &BadRequest{Field: name, Message: fmt.Sprintf("%s must be a whole number from 1 to %d.", name, most)}
	}
	return n, nil
}

// checkFields refuses a body that is not one JSON object, or that holds a
// field accounting reads twice or in another case.
func checkFields(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return &BadRequest{Message: "The request body is not a JSON object."}
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return &BadRequest{Message: "The request body is not valid JSON."}
		}
		key, _ := tok.(string)
		for _, f := range readFields {
			switch {
			case key == f && seen[f]:
				return &BadRequest{Field: f, Message: fmt.Sprintf("The request has %s twice: send it once.", f)}
			case key == f:
				seen[f] = true
			case strings.EqualFold(key, f):
				return &BadRequest{Field: f, Message: fmt.Sprintf("The request has %q: write it %q, in lower case.", key, f)}
			}
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return &BadRequest{Message: "The request body is not valid JSON."}
		}
		if key == "models" && longerThan(skip, maxModels) {
			return &BadRequest{Field: key, Message: fmt.Sprintf("The request lists more than %d models: send at most %d.", maxModels, maxModels)}
		}
	}
	if _, err := dec.Token(); err != nil {
		return &BadRequest{Message: "The request body is not valid JSON."}
	}
	if _, err := dec.Token(); err == nil {
		return &BadRequest{Message: "The request body holds more than one JSON value."}
	}
	return nil
}

// longerThan says whether raw is a JSON array of more than n items,
// reading no further than item n+1.
func longerThan(raw json.RawMessage, n int) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return false // not a list: parsing says what is wrong with it
	}
	for i := 0; dec.More(); i++ {
		var skip json.RawMessage
		if i == n || dec.Decode(&skip) != nil {
			return i == n
		}
	}
	return false
}

func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field + " has the wrong type"
	}
	return "not valid JSON"
}

// OutputCap is the largest cap asked for, 0 for none.
func (a Request) OutputCap() int64 {
	var m int64
	for _, v := range a.caps {
		m = max(m, v)
	}
	return m
}

// Engines are the models (and presets, as preset/NAME) a request may run.
func (a Request) Engines() []string {
	var out []string
	if a.Model != "" {
		out = append(out, a.Model)
	}
	out = append(out, a.Models...)
	if a.Preset != "" {
		out = append(out, "preset/"+a.Preset)
	}
	return out
}

// Rewrite returns body, which a was read from, with the output cap set to
// limit (every cap field present, or defaultField when none is) and, when
// includeUsage, the stream asking for its usage chunk. A body needing
// neither passes unchanged.
func (a Request) Rewrite(body []byte, limit int64, defaultField string, includeUsage bool) ([]byte, error) {
	if limit == 0 && !includeUsage {
		return body, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, err
	}
	if limit > 0 {
		v := json.RawMessage(strconv.FormatInt(limit, 10))
		set := false
		for name := range a.caps {
			fields[name], set = v, true
		}
		if !set {
			fields[defaultField] = v
		}
	}
	if includeUsage {
		var opts map[string]any
		if len(a.StreamOptions) > 0 && string(a.StreamOptions) != "null" {
			if err := json.Unmarshal(a.StreamOptions, &opts); err != nil {
				return nil, &BadRequest{Field: "stream_options", Message: "The request's stream_options is not a JSON object."}
			}
		}
		if opts == nil {
			opts = map[string]any{}
		}
		opts["include_usage"] = true
		fields["stream_options"], _ = json.Marshal(opts)
	}
	return json.Marshal(fields)
}

// WantsUsage says whether a streamed chat request lacks include_usage,
// which accounting needs (the gateway then asks for it and hides it).
func (a Request) WantsUsage() (bool, error) {
	if !a.Stream {
		return false, nil
	}
	var opts map[string]any
	if len(a.StreamOptions) > 0 && string(a.StreamOptions) != "null" {
		if err := json.Unmarshal(a.StreamOptions, &opts); err != nil {
			return false, &BadRequest{Field: "stream_options", Message: "The request's stream_options is not a JSON object."}
		}
	}
	v, _ := opts["include_usage"].(bool)
	return !v, nil
}

// Answers is the most answers the request generates (n, best_of); 0 for one.
func (a Request) Answers() int64 { return a.answers }
