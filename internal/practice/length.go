package practice

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// LengthModel is the prefix of the model names that ask for an answer of a
// given length, e.g. "practice/length-20000" for 20,000 characters: the
// lesson's answers, a list and a code block repeated, with no sources. Tests
// and benchmarks use it to measure the cost of showing answers of any size.
const LengthModel = "practice/length-"

// maxLength bounds what a length model may ask for.
const maxLength = 1 << 20

// Answer returns a Markdown answer of n bytes, cut at a character boundary.
func Answer(n int) string {
	parts := []string{answer("stars"), answer("population"),
		"```go\nfor chunk := range stream.Chunks() {\n\tfmt.Print(chunk.Text)\n}\n```"}
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString(parts[i%len(parts)] + "\n\n")
	}
	text := b.String()[:n]
	for !utf8.ValidString(text) {
		text = text[:len(text)-1]
	}
	return text
}

// lengthOf returns the length a length model asks for.
func lengthOf(model string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(model, LengthModel))
	return n, strings.HasPrefix(model, LengthModel) && err == nil && n >= 1 && n <= maxLength
}

// sized returns the script a length model asks for.
func sized(model string) (Script, bool) {
	n, ok := lengthOf(model)
	if !ok {
		return Script{}, false
	}
	return Script{Name: "length-" + strconv.Itoa(n), Text: Answer(n)}, true
}
