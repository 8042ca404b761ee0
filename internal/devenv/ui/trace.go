package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/devenv/traces"
)

// traceScreen is the open trace view: the waterfall of the spans of one trace, read
// from ModelOptions.Traces whenever it draws, so that it fills in as spans arrive.
type traceScreen struct {
	// id is the PURISTA traceId of the message (or a W3C trace id); record is the
	// message's line, shown as the title until the spans are in.
	id, record string
	scroll     int // rows scrolled off the top
}

// visibleRecords are the records the message stream shows under the filter, oldest first.
func (m Model) visibleRecords() []recordRow {
	f := strings.ToLower(m.filter.Value())
	if f == "" {
		return m.records
	}
	var out []recordRow
	for _, r := range m.records {
		if strings.Contains(strings.ToLower(r.at.Format("15:04:05.000")+" "+r.text), f) {
			out = append(out, r)
		}
	}
	return out
}

// selected returns the index in rows of the selected record: the one with selSeq, else
// the newest (-1 when there is none).
func (m Model) selected(rows []recordRow) int {
	for i, r := range rows {
		if r.seq == m.selSeq {
			return i
		}
	}
	return len(rows) - 1
}

// moveSelection selects the record by records older (-1) or newer (+1) in the
// message stream.
func (m *Model) moveSelection(by int) {
	rows := m.visibleRecords()
	if len(rows) == 0 {
		return
	}
	i := min(len(rows)-1, max(0, m.selected(rows)+by))
	m.selSeq = rows[i].seq
}

// openTrace opens the trace view on the selected message (the newest without a
// selection), or says why it cannot.
func (m *Model) openTrace() {
	say := func(text string) { m.info = appendCapped(m.info, devmsg.InfoMsg{Text: text}, 3) }
	if m.opts.Traces == nil {
		say("the trace view is off (see above; purista dev --no-traces, or your own OTEL_* export)")
		return
	}
	rows := m.visibleRecords()
	if len(rows) == 0 {
		say("no message to trace yet: invoke a command (i) first")
		return
	}
	var r recordRow
	if m.focusMsgs {
		r = rows[m.selected(rows)]
	} else {
		r = rows[len(rows)-1]
	}
	if r.trace == "" {
		say("the selected message carries no trace id")
		return
	}
	text, _, _ := strings.Cut(r.text, " trace=") // the title shows the id already
	m.trace = &traceScreen{id: r.trace, record: r.at.Format("15:04:05.000") + " " + text}
}

// traceColumns are the widths of the waterfall's columns for a window width; a bar or
// kind of width 0 is left out, and indent is the cells a span name moves in per level.
type traceColumns struct{ service, name, kind, bar, dur, status, indent int }

// Column widths of the waterfall: the status column shows at most statusCap cells (a
// longer error message is cut with …), the bar gets what the others leave.
const (
	statusCap = 24
	durWidth  = 8 // "DURATION"; durationText is at most 6 cells below 1000 s
	barMin    = 8
)

// columnsFor returns the columns for a window width, the widest span name (indented),
// the widest status text and the widest status word (the status up to its ':'). The
// name column is as wide as the widest name, at least 16 cells or a quarter of the
// window and at most 36. The status and the duration win over
// the rest: a narrow window first shrinks the bar (to barMin), then the span name and
// the service, then the status down to its word, then leaves out the bar and the kind,
// and last shrinks the name and the service further; fit cuts a line still too long.
// The bar (or, without one, the name) gets the cells left over.
func columnsFor(width, name, status, word int) traceColumns {
	c := traceColumns{service: 10, name: min(36, max(16, width/4, name)), kind: 8, bar: barMin, dur: durWidth,
		status: max(6, min(statusCap, status), word), indent: 2}
	steps := []struct {
		col   *int
		floor int // 0: the column goes whole
	}{{&c.name, 12}, {&c.service, 8}, {&c.status, max(6, word)}, {&c.bar, 0}, {&c.kind, 0}, {&c.name, 6}, {&c.service, 4}}
	for _, s := range steps {
		over := c.width() - width
		if over <= 0 {
			break
		}
		if s.floor == 0 {
			*s.col = 0
			continue
		}
		*s.col -= min(over, max(0, *s.col-s.floor))
	}
	if spare := max(0, width-c.width()); c.bar > 0 {
		c.bar += spare
	} else {
		c.name += spare
	}
	if c.name < 16 {
		c.indent = 1
	}
	return c
}

// width is the cells a row of columns c takes: two of margin, one space between two
// columns, none for a column left out.
func (c traceColumns) width() int {
	w := 2 + c.service + 1 + c.name + 1 + c.dur + 1 + c.status
	for _, col := range []int{c.kind, c.bar} {
		if col > 0 {
			w += col + 1
		}
	}
	return w
}

// renderTrace draws the trace view.
func (m Model) renderTrace() string {
	t := m.trace
	spans, dropped := m.opts.Traces.Lookup(t.id)
	rows := traces.Tree(spans, m.subs)
	lines := []string{m.st.title.Render("Trace "+t.id) + " · " + t.record}
	if len(rows) == 0 {
		lines = append(lines, "", m.st.dim.Render("waiting for the spans of this trace… they show here as the processes export them"))
		lines = append(lines, "", m.shortHelp(m.keys.traceHelp()))
		return strings.Join(lines, "\n")
	}
	start, end := traces.Bounds(rows)
	total := end.Sub(start)
	errs := 0
	for _, r := range rows {
		if r.Error {
			errs++
		}
	}
	sum := fmt.Sprintf("%d spans · %s", len(rows), durationText(total))
	if errs > 0 {
		sum += " · " + m.st.err.Render(fmt.Sprintf("%d failed", errs))
	}
	if dropped > 0 {
		sum += fmt.Sprintf(" · %d spans dropped (limit per trace)", dropped)
	}
	if w3c := rows[0].TraceID; w3c != t.id && allIn(rows, w3c) {
		sum += " · W3C trace " + w3c // a chain started by TypeScript PURISTA
	}
	lines = append(lines, sum)
	widest, word, names := 0, 0, 0
	for _, r := range rows {
		names = max(names, ansi.StringWidth(spanName(r, 2)))
		text := statusText(r)
		widest = max(widest, ansi.StringWidth(text))
		word = max(word, ansi.StringWidth(statusWord(text)))
	}
	c := columnsFor(m.width, names, widest, word)
	lines = append(lines, m.st.header.Render(c.line("SERVICE", "SPAN", "KIND", "WATERFALL", "DURATION", "STATUS")))
	body := make([]string, len(rows))
	for i, r := range rows {
		body[i] = m.traceRow(r, c, start, total)
	}
	footer := m.shortHelp(m.keys.traceHelp())
	h := max(1, m.height-len(lines)-1)
	scroll := min(t.scroll, max(0, len(body)-h))
	lines = append(lines, body[scroll:min(len(body), scroll+h)]...)
	for len(lines) < m.height-1 {
		lines = append(lines, "")
	}
	return strings.Join(append(lines, footer), "\n")
}

// allIn reports whether every row belongs to the W3C trace w3c.
func allIn(rows []traces.Row, w3c string) bool {
	for _, r := range rows {
		if r.TraceID != w3c {
			return false
		}
	}
	return true
}

// traceRow is one span of the waterfall.
func (m Model) traceRow(r traces.Row, c traceColumns, start time.Time, total time.Duration) string {
	bar := waterfallBar(r.Start.Sub(start), r.Duration(), total, c.bar)
	status := statusCell(statusText(r), c.status)
	if r.Error {
		bar, status = m.st.err.Render(bar), m.st.err.Render(status)
	} else {
		bar = m.st.ok.Render(bar)
	}
	return c.line(r.Service, spanName(r, c.indent), r.Kind, bar, durationText(r.Duration()), status)
}

// spanName is a span's name indented by indent cells a level, with ⋯ when its parent
// has not arrived.
func spanName(r traces.Row, indent int) string {
	name := strings.Repeat(" ", indent*r.Depth) + r.Name
	if r.Orphan {
		name = "⋯ " + name
	}
	return name
}

// line lays out the cells of one row of the waterfall in columns c: each cut to its
// column's width, the duration right-aligned, the columns left out skipped.
func (c traceColumns) line(service, name, kind, bar, dur, status string) string {
	cells := []string{pad(service, c.service), pad(name, c.name)}
	if c.kind > 0 {
		cells = append(cells, pad(kind, c.kind))
	}
	if c.bar > 0 {
		cells = append(cells, pad(bar, c.bar))
	}
	dur = cut(dur, c.dur)
	cells = append(cells, strings.Repeat(" ", c.dur-ansi.StringWidth(dur))+dur, status)
	return "  " + strings.Join(cells, " ")
}

// pad cuts s to width cells and fills it up to width with spaces.
func pad(s string, width int) string {
	s = cut(s, width)
	return s + strings.Repeat(" ", max(0, width-ansi.StringWidth(s)))
}

// statusWord is the status up to its message: "ok", "422", "error 500", "error".
func statusWord(status string) string {
	word, _, _ := strings.Cut(status, ":")
	return word
}

// statusCell fits a status into width cells: whole when it fits, else its message cut
// with …, and only its word when too little of the message would show.
func statusCell(status string, width int) string {
	word := statusWord(status)
	if ansi.StringWidth(status) <= width || width >= ansi.StringWidth(word)+5 {
		return cut(status, width)
	}
	return word
}

// durationText formats a span's duration with three significant digits in the largest
// unit below it ("850µs", "4.00ms", "12.3ms", "1.45s"), so that durations of a unit
// line up; from 1000 s on it shows whole seconds.
func durationText(d time.Duration) string {
	units := []struct {
		name string
		size time.Duration
	}{{"ns", time.Nanosecond}, {"µs", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}}
	for i, u := range units {
		v := float64(d) / float64(u.size)
		last := i == len(units)-1
		switch {
		case v < 9.995 && u.size > time.Nanosecond:
			return fmt.Sprintf("%.2f%s", v, u.name)
		case v < 99.95 && u.size > time.Nanosecond:
			return fmt.Sprintf("%.1f%s", v, u.name)
		case v < 999.5 || last:
			return fmt.Sprintf("%.0f%s", v, u.name)
		}
	}
	return "" // unreachable: the last unit always formats
}

// statusText is a span's status: "ok", the PURISTA status of a handled error (the
// command's answer, e.g. "422"), or "error <status>: <message>" for a failed span.
func statusText(r traces.Row) string {
	code := r.Attrs["purista.status"]
	switch {
	case r.Error && code != "":
		return "error " + code + ": " + r.Message
	case r.Error:
		return "error: " + r.Message
	case code != "":
		return code
	}
	return "ok"
}

// waterfallBar draws a span of length d starting at off within total as width cells:
// '█' where it runs, '·' elsewhere, at least one cell of '█'.
func waterfallBar(off, d, total time.Duration, width int) string {
	switch {
	case width <= 0:
		return ""
	case total <= 0:
		return strings.Repeat("█", width)
	}
	from := min(width-1, int(int64(width)*int64(off)/int64(total)))
	n := max(1, min(width-from, int((int64(width)*int64(d)+int64(total)/2)/int64(total))))
	return strings.Repeat("·", from) + strings.Repeat("█", n) + strings.Repeat("·", width-from-n)
}

// cut truncates s to width cells, with "…" when it is longer.
func cut(s string, width int) string {
	if ansi.StringWidth(s) <= width {
		return s
	}
	return ansi.Truncate(s, width, "…")
}
