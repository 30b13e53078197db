package notebook

import (
	"cmp"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"

	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// splitPoint returns where text[:i] can be frozen as finished blocks: after
// the last blank line, or the last line break before a list item or heading,
// outside code fences. It returns 0 when nothing is finished.
func splitPoint(text string) int {
	inFence := false
	i, lineStart := 0, 0
	for lineStart < len(text) {
		end := strings.IndexByte(text[lineStart:], '\n')
		if end < 0 {
			break // the last line is still growing
		}
		line := text[lineStart : lineStart+end]
		next := lineStart + end + 1
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			if !inFence {
				i = next // a closed fence is a finished block
			}
		} else if !inFence && (strings.TrimSpace(line) == "" || startsBlock(text[next:])) {
			i = next
		}
		lineStart = next
	}
	return i
}

var blockStart = regexp.MustCompile(`^(?:[-*+] |\d{1,3}[.)] |#{1,6} |> )`)

// startsBlock reports whether the line that begins s starts a list item,
// heading or quote, so the lines before it form a finished block.
func startsBlock(s string) bool {
	return blockStart.MatchString(strings.TrimLeft(s, " "))
}

var (
	citation  = regexp.MustCompile(`\[(\d{1,3})\]`)
	tagLike   = regexp.MustCompile(`<([A-Za-z/!?])`)
	badScheme = regexp.MustCompile(`(?i)\]\(\s*<?\s*(?:javascript|data|vbscript|file)\s*:`)
)

// renderMarkdown makes answer text safe to show as Markdown and turns each
// [n] that names a source into a link to it. Outside code fences, HTML tags
// are shown as text and links to javascript:, data: or file: URLs are cut.
func renderMarkdown(text string, sources []streamdemo.Source) string {
	links := map[string]string{}
	for _, s := range sources {
		if u, ok := safeURL(s.URL); ok {
			links[fmt.Sprint(s.Number)] = u
		}
	}
	var b strings.Builder
	inFence := false
	for _, line := range strings.SplitAfter(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
		} else if !inFence {
			line = tagLike.ReplaceAllString(line, "&lt;$1")
			line = badScheme.ReplaceAllString(line, "](#blocked:")
			line = citation.ReplaceAllStringFunc(line, func(m string) string {
				if u, ok := links[m[1:len(m)-1]]; ok {
					return `[\[` + m[1:len(m)-1] + `\]](` + u + `)`
				}
				return m
			})
		}
		b.WriteString(line)
	}
	return b.String()
}

// sourcesMarkdown renders the numbered list of sources; titles are escaped
// and only http and https URLs become links.
func sourcesMarkdown(sources []streamdemo.Source) string {
	if len(sources) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("**Sources**\n\n")
	for _, s := range sources {
		title := cmp.Or(strings.TrimSpace(s.Title), strings.TrimSpace(s.URL), "untitled")
		title = escapeMarkdown(title)
		if u, ok := safeURL(s.URL); ok {
			fmt.Fprintf(&b, "%d. [%s](%s)\n", s.Number, title, u)
		} else {
			fmt.Fprintf(&b, "%d. %s (link removed: not an http or https URL)\n", s.Number, title)
		}
	}
	return b.String()
}

// safeURL returns u re-encoded for a Markdown link if it is an absolute http
// or https URL.
func safeURL(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	return strings.NewReplacer("(", "%28", ")", "%29", "<", "%3C", ">", "%3E", " ", "%20", `"`, "%22", "'", "%27", "\\", "%5C").Replace(u.String()), true
}

var markdownSpecial = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "(", `\(`, ")", `\)`,
	"#", `\#`, "<", "&lt;", ">", "&gt;", "&", "&amp;", "|", `\|`, "!", `\!`, "\n", " ", "\r", " ")

// escapeMarkdown makes untrusted text show as itself in Markdown.
func escapeMarkdown(s string) string { return markdownSpecial.Replace(s) }
