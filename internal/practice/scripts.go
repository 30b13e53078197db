package practice

import (
	"embed"
	"regexp"
	"strings"
)

//go:embed answers/*.md
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

var starSources = []Source{
	{1, "How many stars are there in the Universe?", "https://www.esa.int/Science_Exploration/Space_Science/Herschel/How_many_stars_are_there_in_the_Universe", "Astronomers estimate about 10^22 to 10^24 stars in the observable universe.", "2024-05-02"},
	{2, "How Many Stars Are There In The Universe?", "https://www.space.com/26078-how-many-stars-are-there.html", "Multiply the number of galaxies by the stars in an average galaxy.", "2025-01-15"},
	{3, "Hubble Reveals Observable Universe Contains 10 Times More Galaxies Than Previously Thought", "https://science.nasa.gov/missions/hubble/hubble-reveals-observable-universe-contains-10-times-more-galaxies-than-previously-thought/", "An estimated 2 trillion galaxies in the observable universe.", "2016-10-13"},
	{4, "Stars", "https://science.nasa.gov/universe/stars/", "A typical galaxy holds on the order of 100 billion stars.", "2024-09-20"},
	{5, "The Evolution of Galaxy Number Density at z < 8", "https://arxiv.org/abs/1607.03909", "Conselice et al. estimate about 2 trillion galaxies.", "2016-07-13"},
}

var populationSources = []Source{
	{1, "World Population Prospects 2024", "https://population.un.org/wpp/", "The world's population is projected to peak at about 10.3 billion in the mid-2080s.", "2024-07-11"},
	{2, "World Population Clock", "https://www.worldometers.info/world-population/", "Current world population and yearly growth rate.", "2025-06-01"},
	{3, "Population, total - India, China", "https://data.worldbank.org/indicator/SP.POP.TOTL", "Population counts by country from the World Bank.", "2025-03-01"},
	{4, "Urbanization", "https://ourworldindata.org/urbanization", "More than half of the world's population lives in urban areas.", "2024-02-10"},
	{5, "How is the world population estimated?", "https://www.census.gov/popclock/world", "Why population estimates from different sources differ.", "2025-01-01"},
}

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
	sources := map[string][]Source{"stars": starSources, "population": populationSources}[topic]
	switch {
	case haikuPrompt.MatchString(system):
		return Script{Name: "haiku-" + topic, Text: answer("haiku-" + topic), Sources: sources}
	case topic == "other":
		return Script{Name: "no-model", Text: answer("no-model")}
	}
	return Script{Name: topic, Text: answer(topic), Sources: sources}
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
