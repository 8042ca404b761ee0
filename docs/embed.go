// Package docs holds purista's documentation pages (the Markdown files of this folder)
// and embeds them, so that the purista binary can print them: `purista docs TOPIC`.
package docs

import (
	"embed"
	"io/fs"
	"slices"
	"strings"
)

//go:embed *.md
var pages embed.FS

// Topics returns the topic of every page, sorted: its file name without ".md"
// ("check", "cli", "deployment", …).
func Topics() []string {
	entries, err := fs.ReadDir(pages, ".")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".md"); ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Page returns the Markdown text of topic (a name from Topics; a trailing ".md" and a
// leading "docs/" are accepted) and whether there is such a page.
func Page(topic string) (string, bool) {
	topic = strings.TrimSuffix(strings.TrimPrefix(topic, "docs/"), ".md")
	if !slices.Contains(Topics(), topic) {
		return "", false
	}
	data, err := pages.ReadFile(topic + ".md")
	if err != nil {
		return "", false
	}
	return string(data), true
}

// Title returns the first heading of topic's page without the leading "# " and
// Markdown code marks ("" when the page has none or does not exist).
func Title(topic string) string {
	text, ok := Page(topic)
	if !ok {
		return ""
	}
	for line := range strings.Lines(text) {
		if h, ok := strings.CutPrefix(strings.TrimSpace(line), "# "); ok {
			return strings.ReplaceAll(h, "`", "")
		}
	}
	return ""
}
