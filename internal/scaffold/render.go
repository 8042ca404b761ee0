package scaffold

import (
	"bytes"
	"fmt"
	"go/format"
	"io/fs"
	"strconv"
	"strings"
	"text/template"

	"github.com/purista-go/purista/templates"
)

// render executes the embedded template name (e.g. "command/handler.go.tmpl") with data.
// Go sources (names ending in .go.tmpl) are gofmt-formatted; a template that renders
// invalid Go is a bug in purista and reported as such.
func render(name string, data any) ([]byte, error) {
	src, err := fs.ReadFile(templates.FS(), name)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(funcs()).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	if !strings.HasSuffix(name, ".go.tmpl") {
		return buf.Bytes(), nil
	}
	return formatGo(name, buf.Bytes())
}

// formatGo gofmt-formats src; what names the source in the error.
func formatGo(what string, src []byte) ([]byte, error) {
	out, err := format.Source(src)
	if err != nil {
		return nil, fmt.Errorf("purista bug: %s does not render to valid Go: %w\n%s", what, err, src)
	}
	return out, nil
}

// funcs are the helpers templates may call.
func funcs() template.FuncMap {
	return template.FuncMap{
		// quote quotes a go.mod path only when it needs it (spaces, quotes, …).
		"quote": func(s string) string {
			if strings.ContainsAny(s, " \t\"'`\\") {
				return strconv.Quote(s)
			}
			return s
		},
		// shq single-quotes a value for a POSIX shell line in a Makefile.
		"shq": func(s string) string {
			return "'" + strings.ReplaceAll(strings.ReplaceAll(s, "$", "$$"), "'", `'\''`) + "'"
		},
		"lower": strings.ToLower,
		"title": upperFirst,
		// pad fills s with spaces to width w, for columns in text files.
		"pad": func(s string, w int) string { return s + strings.Repeat(" ", max(w-len(s), 1)) },
		"add": func(a, b int) int { return a + b },
		"max": func(a, b int) int { return max(a, b) },
	}
}
