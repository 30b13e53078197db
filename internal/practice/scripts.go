package practice

import (
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"regexp"
	"strings"
)

//go:embed answers/*.md answers/*.sources.json
var answers embed.FS

// Source is a search result the practice server cites as [Number].
type Source struct {
	Number        int
	Title, URL    string
	Snippet, Date string
}

// Script is a scripted answer and the sources it cites.
type Script struct {
	Name    string
	Text    string
	Sources []Source
}

// SeedSystemPrompt is the system prompt of the seed lesson.
const SeedSystemPrompt = "You are an artificial intelligence assistant and you need to engage in a helpful, detailed, polite conversation with a user."

// HostileModel is a model name that gets the usual answer with hostile
// sources: titles holding HTML and script, links to javascript: and data: URLs.
const HostileModel = "test/hostile-sources"

// HostileSources are the search results HostileModel cites.
var HostileSources = []Source{
	{1, `<img src=x onerror="alert('title')"> **Click me**`, "javascript:alert('url')", "<script>alert('snippet')</script>", ""},
	{2, "A fine source (with parentheses)", "https://example.com/a b(c)<d>", "", ""},
	{3, `</a><script>alert(3)</script>`, "data:text/html,<script>alert(3)</script>", "", ""},
	{4, "[Fake](javascript:alert(4))", "JAVASCRIPT:alert(4)", "", ""},
	{5, "Plain", "https://example.org/five", "", ""},
}

var (
	starsQuestion      = regexp.MustCompile(`(?i)\bstars?\b.*\buniverse\b|\buniverse\b.*\bstars?\b`)
	populationQuestion = regexp.MustCompile(`(?i)\bpopulation\b`)
	haikuPrompt        = regexp.MustCompile(`(?i)\bhaikus?\b`)
)

// Choose picks the script for a conversation: the lesson question, the
// world-population exercise, a haiku when the system prompt asks for one, or
// an honest note that the practice server has no model.
func Choose(system, question string) Script {
	topic := "other"
	switch {
	case starsQuestion.MatchString(question):
		topic = "stars"
	case populationQuestion.MatchString(question):
		topic = "population"
	}
	sources := answerSources(topic)
	switch {
	case haikuPrompt.MatchString(system):
		return Script{Name: "haiku-" + topic, Text: answer("haiku-" + topic), Sources: sources}
	case topic == "other":
		return Script{Name: "no-model", Text: answer("no-model")}
	}
	return Script{Name: topic, Text: answer(topic), Sources: sources}
}

// answerSources are the search results a topic's answers cite, kept beside
// them in answers/TOPIC.sources.json; none for a topic without that file.
func answerSources(topic string) []Source {
	b, err := answers.ReadFile("answers/" + topic + ".sources.json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var sources []Source
	if err == nil {
		err = json.Unmarshal(b, &sources)
	}
	if err != nil {
		panic(err) // embedded, and read by every test of the lesson's answer
	}
	return sources
}

func answer(name string) string {
	b, err := answers.ReadFile("answers/" + name + ".md")
	if err != nil {
		panic(err) // every name above is embedded
	}
	return strings.TrimSpace(string(b))
}

// Tokens splits text into the pieces the server streams, one word each with
// the white space before it, so that joining them gives the text back.
func Tokens(text string) []string {
	var out []string
	start := 0
	for i := 1; i < len(text); i++ {
		if isSpace(text[i-1]) && !isSpace(text[i]) && strings.TrimSpace(text[start:i]) != "" {
			out = append(out, text[start:i])
			start = i
		}
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

func isSpace(b byte) bool { return b == ' ' || b == '\n' || b == '\t' || b == '\r' }
