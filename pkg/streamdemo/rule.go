package streamdemo

import (
	"strings"
)

// keyedProviders are the providers whose key variable alone chooses them.
var keyedProviders = []string{Perplexity, OpenAI, Compatible}

// choice is the rule's answer when no provider is named: the provider and
// why; passed says which server on this machine it passed over because
// another account runs it, when it then chose Perplexity.
type choice struct {
	provider, why, passed string
}

// chooseProvider is the rule for where an answer comes from when no provider
// is named: the provider whose key is set (a key given in code counts as
// Perplexity's; more than one set is an error); else a base URL alone, a
// compatible server; else the local model if it answers, else the practice
// server if it answers, else Perplexity (whose missing key is then the
// error). A base URL points whichever provider is chosen at another server.
// A local server counts only if this account, root or a system account runs
// it: on a shared machine another account's server would read the questions.
func chooseProvider(codeKey, baseURL string, getenv func(string) string, local localProbe) (choice, error) {
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
	switch {
	case len(set) > 1:
		return choice{}, &Error{Kind: ErrConfig, Message: "more than one key variable is set (" + strings.Join(vars, ", ") + ") and no provider is named", facts: facts{keyVars: vars, providers: set}}
	case len(set) == 1:
		return choice{provider: set[0], why: vars[0] + " is the only key set"}, nil
	case baseURL != "":
		return choice{provider: Compatible, why: "a base URL is set and no key"}, nil
	}
	var passed []string
	for _, p := range []string{Ollama, Practice} {
		host := strings.TrimSuffix(strings.TrimPrefix(providers[p].baseURL, "http://"), "/v1")
		answers, stranger := local.check(providers[p].baseURL)
		switch {
		case answers && stranger == "":
			why := "no key is set and " + localNames[p] + " answers on " + host
			return choice{provider: p, why: strings.Join(append([]string{why}, passed...), "; ")}, nil
		case answers:
			passed = append(passed, "a server answers on "+host+", but another account ("+stranger+") runs it, so it is not asked unless STREAMDEMO_PROVIDER="+p+" names it")
		}
	}
	return choice{provider: Perplexity, passed: strings.Join(passed, "; ")}, nil
}

// localNames are the servers the rule looks for on this machine, in words.
var localNames = map[string]string{Ollama: "the local model", Practice: "the practice server"}
