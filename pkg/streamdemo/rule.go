package streamdemo

import (
	"net"
	"net/url"
	"strings"
	"time"
)

// keyedProviders are the providers whose key variable alone chooses them.
var keyedProviders = []string{Perplexity, OpenAI, Compatible}

// chooseProvider is the rule for where an answer comes from when no provider
// is named: the provider whose key is set (a key given in code counts as
// Perplexity's; more than one set is an error); else a base URL alone, a
// compatible server; else the local model if it answers, else the practice
// server if it answers, else Perplexity (whose missing key is then the
// error). A base URL points whichever provider is chosen at that server.
func chooseProvider(codeKey, baseURL string, getenv func(string) string, listening func(string) bool) (string, error) {
	var set, vars []string
	for _, p := range keyedProviders {
		v := providers[p].keyVar
		switch {
		case getenv(v) != "":
			set, vars = append(set, p), append(vars, v)
		case p == Perplexity && codeKey != "":
			set, vars = append(set, p), append(vars, "Config.APIKey")
		}
	}
	if listening == nil {
		listening = dialable
	}
	switch {
	case len(set) > 1:
		return "", &Error{Kind: ErrConfig, Message: "more than one key variable is set (" + strings.Join(vars, ", ") + ") and no provider is named", facts: facts{keyVars: vars, providers: set}}
	case len(set) == 1:
		return set[0], nil
	case baseURL != "":
		return Compatible, nil
	case listening(ollamaBaseURL):
		return Ollama, nil
	case listening(practiceBaseURL):
		return Practice, nil
	}
	return Perplexity, nil
}

// dialable reports whether something accepts connections at baseURL's host.
func dialable(baseURL string) bool {
	u, err := url.Parse(baseURL)
	if err != nil {
		return false
	}
	conn, err := net.DialTimeout("tcp", u.Host, 300*time.Millisecond)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}
