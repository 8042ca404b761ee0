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

// traceColumns are the widths of the waterfall's columns for a window width.
type traceColumns struct{ service, name, kind, bar, dur int }

// columnsFor returns the columns for a window width and the widest status text: the
// bar takes what the others leave (at least 8 cells; fit cuts a line that is longer).
func columnsFor(width, status int) traceColumns {
	c := traceColumns{service: 10, name: min(36, max(16, width/4)), kind: 8, dur: 9}
	c.bar = max(8, width-2-(c.service+1)-(c.name+1)-(c.kind+1)-(c.dur+1)-1-min(40, max(6, status)))
	return c
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
	sum := fmt.Sprintf("%d spans · %s", len(rows), devmsg.Round(total))
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
	widest := 0
	for _, r := range rows {
		widest = max(widest, ansi.StringWidth(statusText(r)))
	}
	c := columnsFor(m.width, widest)
	lines = append(lines, m.st.header.Render(fmt.Sprintf("  %-*s %-*s %-*s %-*s %*s %s", c.service, "SERVICE", c.name, "SPAN",
		c.kind, "KIND", c.bar, "WATERFALL", c.dur, "DURATION", "STATUS")))
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
	name := strings.Repeat("  ", r.Depth) + r.Name
	if r.Orphan {
		name = "⋯ " + name // its parent has not arrived
	}
	bar := waterfallBar(r.Start.Sub(start), r.Duration(), total, c.bar)
	status := statusText(r)
	if r.Error {
		bar, status = m.st.err.Render(bar), m.st.err.Render(status)
	} else {
		bar = m.st.ok.Render(bar)
	}
	return fmt.Sprintf("  %-*s %-*s %-*s %s %*s %s", c.service, cut(r.Service, c.service), c.name, cut(name, c.name),
		c.kind, cut(r.Kind, c.kind), bar, c.dur, devmsg.Round(r.Duration()), status)
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
	if total <= 0 {
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
