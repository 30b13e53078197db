package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The documents whose links TestDocLinksResolve follows, from this folder.
const repoRoot = "../.."

var (
	mdLink     = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	codeSpan   = regexp.MustCompile("`[^`\n]*`")
	htmlAnchor = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
	heading    = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	mdLinkText = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
)

// Every relative link in README.md and docs/**/*.md names a file of the
// repository and, after a #, a heading of that file as GitHub makes its
// anchor: a document moved or a heading renamed breaks this test, not a
// reader's click.
func TestDocLinksResolve(t *testing.T) {
	docs := []string{filepath.Join(repoRoot, "README.md")}
	err := filepath.WalkDir(filepath.Join(repoRoot, "docs"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			docs = append(docs, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]map[string]bool{}
	for _, doc := range docs {
		for _, target := range links(t, doc) {
			if problem := brokenLink(doc, target, anchors); problem != "" {
				rel, _ := filepath.Rel(repoRoot, doc)
				t.Errorf("%s: link %q: %s", rel, target, problem)
			}
		}
	}
}

// links returns the targets of the Markdown links in the document at path,
// leaving out code blocks and code spans.
func links(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range proseLines(string(b)) {
		for _, m := range mdLink.FindAllStringSubmatch(codeSpan.ReplaceAllString(line, ""), -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// brokenLink says what is wrong with target, a link in doc, or "" if it
// resolves; anchors caches the anchors of each document read.
func brokenLink(doc, target string, anchors map[string]map[string]bool) string {
	if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
		return ""
	}
	path, anchor, _ := strings.Cut(target, "#")
	file := doc
	if path != "" {
		file = filepath.Join(filepath.Dir(doc), filepath.FromSlash(path))
		if _, err := os.Stat(file); err != nil {
			return "no such file"
		}
	}
	if anchor == "" {
		return ""
	}
	if !strings.HasSuffix(file, ".md") {
		return "an anchor into a file that is not Markdown"
	}
	if anchors[file] == nil {
		b, err := os.ReadFile(file)
		if err != nil {
			return err.Error()
		}
		anchors[file] = headingAnchors(string(b))
	}
	if !anchors[file][anchor] {
		return "no heading with anchor #" + anchor
	}
	return ""
}

// headingAnchors returns the anchors GitHub gives the document's headings
// (a repeated one gets -1, -2, ...) and its <a id> or <a name> tags.
func headingAnchors(doc string) map[string]bool {
	found := map[string]bool{}
	seen := map[string]int{}
	for _, line := range proseLines(doc) {
		for _, m := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			found[m[1]] = true
		}
		m := heading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		slug := slugOf(m[1])
		if n := seen[slug]; n > 0 {
			found[slug+"-"+strconv.Itoa(n)] = true
		} else {
			found[slug] = true
		}
		seen[slug]++
	}
	return found
}

// slugOf is GitHub's anchor for a heading's text: links reduced to their
// text, lower case, every character but letters, digits, spaces, hyphens and
// underscores dropped, spaces made hyphens.
func slugOf(text string) string {
	text = mdLinkText.ReplaceAllString(text, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// proseLines returns the document's lines outside fenced code blocks.
func proseLines(doc string) []string {
	var out []string
	fence := ""
	for _, line := range strings.Split(doc, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case fence == "" && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")):
			fence = trimmed[:3]
		case fence != "" && strings.HasPrefix(trimmed, fence):
			fence = ""
		case fence == "":
			out = append(out, line)
		}
	}
	return out
}

func TestSlugOfMatchesGitHub(t *testing.T) {
	for text, want := range map[string]string{
		"One machine: `make classroom`":                 "one-machine-make-classroom",
		"A student's page in the teacher's browser":     "a-students-page-in-the-teachers-browser",
		"What runs, as whom, and what they can read":    "what-runs-as-whom-and-what-they-can-read",
		"The class's program: `python3 -m classroom`":   "the-classs-program-python3--m-classroom",
		"Chat-completions clients: jupyter-ai, the llm": "chat-completions-clients-jupyter-ai-the-llm",
		"See [the docs](docs/x.md) first":               "see-the-docs-first",
	} {
		if got := slugOf(text); got != want {
			t.Errorf("slugOf(%q) = %q, want %q", text, got, want)
		}
	}
}
