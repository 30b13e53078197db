package streamdemo

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/streamdemo/streamdemo/internal/classwire"
)

// Hint is the one sentence a learner reads after a failure: what happened
// and what to do, e.g. "No API key for perplexity: put PERPLEXITY_API_KEY=...
// in a .env file ...". It is "" for nil, and err's own message for an error
// that is not an *Error. Notebooks and the command line print it.
func Hint(err error) string {
	var e *Error
	if err == nil {
		return ""
	}
	if !errors.As(err, &e) {
		return err.Error()
	}
	f := e.facts
	kept := ""
	if f.chunks > 0 {
		kept = fmt.Sprintf("; the %d chunks received so far are kept", f.chunks)
	}
	if f.class {
		return classSentence(e)
	}
	switch e.Kind {
	case ErrConfig:
		if f.noModel && f.discover {
			return modelNotFound(e)
		}
		if f.noModel {
			return fmt.Sprintf("No model chosen for the server at %s: put STREAMDEMO_MODEL=its-model-name in your .env file, or set Request.Model.", f.baseURL)
		}
		if len(f.keyVars) > 1 {
			both := "both"
			if len(f.keyVars) > 2 {
				both = "all"
			}
			return fmt.Sprintf("%s are %s set, so it is not clear which service to ask: put STREAMDEMO_PROVIDER=%s (or %s) in your .env file.", listed(f.keyVars), both, f.providers[0], strings.Join(f.providers[1:], ", "))
		}
		return fmt.Sprintf("%s%s.", first(e.Message, string(e.Kind)), kept)
	case ErrNoKey:
		passed := ""
		if f.passed != "" {
			passed = " (" + f.passed + ")"
		}
		return fmt.Sprintf("No API key for %s: put %s=your-key in a .env file in this folder or the repository root, or choose another provider with STREAMDEMO_PROVIDER%s.", e.Provider, f.keyVar, passed)
	case ErrKeyRejected:
		if e.Provider == Compatible && f.noKey {
			return fmt.Sprintf("The server at %s asks for an API key (HTTP %d): put STREAMDEMO_API_KEY=its-key in your .env file.", f.baseURL, e.StatusCode)
		}
		if e.Provider == Compatible {
			return fmt.Sprintf("The server at %s refused the API key (HTTP %d): check %s.", f.baseURL, e.StatusCode, keyPlace(f.keyVar))
		}
		return fmt.Sprintf("%s rejected the API key (HTTP %d): check %s in your .env file, or create a new key in your %s account.", e.Provider, e.StatusCode, keyVarOr(f.keyVar), e.Provider)
	case ErrSonarRetired:
		return fmt.Sprintf("Perplexity retired the Sonar chat-completions endpoint (HTTP %d, \"Sonar is now the Agent API\"): use provider %q, which streams through the Agent API at %s/responses.", e.StatusCode, Perplexity, perplexityBaseURL)
	case ErrUnknownModel:
		if f.discover {
			return fmt.Sprintf("The server at %s lists no model %s; it lists %d (%s): put STREAMDEMO_MODEL=one-of-them in your .env file, or set Config.Model.", f.baseURL, f.unlisted, len(f.listed), modelNames(f.listed))
		}
		return fmt.Sprintf("The server at %s does not know this model or path (HTTP %d%s): check the model name, and that the base URL ends in /v1.", f.baseURL, e.StatusCode, said(e.Message))
	case ErrBadRequest:
		return fmt.Sprintf("The server at %s rejected the request (HTTP %d%s): check the model name and options.", f.baseURL, e.StatusCode, said(e.Message))
	case ErrRateLimited:
		wait := "a minute"
		if e.RetryAfter > 0 {
			wait = e.RetryAfter.String()
		}
		return fmt.Sprintf("%s is rate limiting requests (HTTP 429%s): wait %s and run it again.", e.Provider, tries(f.attempts), wait)
	case ErrServer:
		return fmt.Sprintf("The server at %s failed (HTTP %d%s%s)%s: try again in a moment.", f.baseURL, e.StatusCode, said(e.Message), tries(f.attempts), kept)
	case ErrUnreachable:
		return fmt.Sprintf("Could not connect to %s (%s%s): start the server or check the base URL (STREAMDEMO_BASE_URL) and your network.", f.baseURL, e.Message, tries(f.attempts))
	case ErrTLS:
		return fmt.Sprintf("The TLS certificate of %s was rejected (%s): check the host name in the base URL, or use http:// for a server on this machine.", f.baseURL, e.Message)
	case ErrBroken:
		return fmt.Sprintf("The stream broke before the answer finished (%s)%s: run it again.", e.Message, kept)
	case ErrMalformed:
		return fmt.Sprintf("The server sent an event that is not valid JSON%s: check that the base URL points at an OpenAI-compatible server, then run it again.", kept)
	case ErrStalled:
		if f.waiting {
			return fmt.Sprintf("The server did not answer within %s: run it again later, or raise Config.FirstByteTimeout (STREAMDEMO_FIRST_BYTE_TIMEOUT) for slow models.", f.idle)
		}
		return fmt.Sprintf("The stream stalled: nothing arrived for %s%s; run it again, or raise Config.IdleTimeout (STREAMDEMO_IDLE_TIMEOUT) for slow models.", f.idle, kept)
	case ErrTooLarge:
		return fmt.Sprintf("The server sent %s%s: check that the base URL points at a real model server.", e.Message, kept)
	case ErrFailed:
		return fmt.Sprintf("%s reported that the answer failed%s%s: run it again.", e.Provider, said(e.Message), kept)
	case ErrIncomplete:
		return fmt.Sprintf("The answer was cut short by the output limit (%s) after %d chunks; the text received is kept: raise Request.MaxTokens or ask for a shorter answer.", first(e.Message, "max_output_tokens"), f.chunks)
	case ErrServerCancelled:
		return fmt.Sprintf("%s cancelled the answer before it finished%s%s: run it again.", e.Provider, said(e.Message), kept)
	case ErrCancelled:
		return fmt.Sprintf("Stopped after %d chunks; the text received so far is kept.", f.chunks)
	default:
		return fmt.Sprintf("%s%s.", first(e.Message, string(e.Kind)), kept)
	}
}

// classSentence is a class gateway's refusal, as the gateway said it.
func classSentence(e *Error) string {
	if e.Kind == ErrClassKey {
		return classwire.KeyRefusedSentence
	}
	if e.Kind == ErrRateLimited && e.RetryAfter > 0 {
		return classwire.WaitSentence(int(e.RetryAfter.Round(time.Second).Seconds()))
	}
	return truncate(e.Message, 300)
}

// tries says how many requests were made, when there was more than one.
func tries(attempts int) string {
	if attempts < 2 {
		return ""
	}
	return fmt.Sprintf(", %d attempts", attempts)
}

func said(message string) string {
	if message == "" {
		return ""
	}
	return fmt.Sprintf(": %q", message)
}

// modelNotFound is why Discover found no model to ask: the server lists
// none, several, or does not say.
func modelNotFound(e *Error) string {
	f := e.facts
	switch {
	case f.listed == nil:
		return fmt.Sprintf("The server at %s did not list its models (GET /models: HTTP %d): put STREAMDEMO_MODEL=its-model-name in your .env file, or set Config.Model.", f.baseURL, e.StatusCode)
	case len(f.listed) == 0:
		return fmt.Sprintf("The server at %s lists no model: load one in it, or put STREAMDEMO_MODEL=its-model-name in your .env file.", f.baseURL)
	}
	return fmt.Sprintf("The server at %s lists %d models (%s): choose one with STREAMDEMO_MODEL=its-name in your .env file, or Config.Model.", f.baseURL, len(f.listed), modelNames(f.listed))
}

// modelNames lists the first eight names, and how many more there are.
func modelNames(names []string) string {
	if len(names) <= 8 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:8], ", "), len(names)-8)
}

// keyPlace says where a key was given, e.g. "STREAMDEMO_API_KEY in your .env file".
func keyPlace(keyVar string) string {
	if keyVar == "Config.APIKey" {
		return "the key given in Config.APIKey"
	}
	return keyVarOr(keyVar) + " in your .env file"
}

func keyVarOr(v string) string {
	if v == "" {
		return "the API key"
	}
	return v
}

// listed is "a, b and c".
func listed(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
