package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/purista-go/purista/internal/devenv/devmsg"
)

// styles are the TUI's lipgloss styles; all plain under NO_COLOR.
type styles struct {
	title, header, section, dim, err, ok, sel, dialog lipgloss.Style
}

func newStyles(noColor bool) styles {
	if noColor {
		p := lipgloss.NewStyle()
		return styles{title: p, header: p, section: p, dim: p, err: p, ok: p, sel: p.Reverse(true),
			dialog: p.Border(lipgloss.NormalBorder()).Padding(0, 1)}
	}
	return styles{
		title:   lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		header:  lipgloss.NewStyle().Bold(true),
		section: lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("13")),
		dim:     lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		err:     lipgloss.NewStyle().Foreground(lipgloss.Color("9")),
		ok:      lipgloss.NewStyle().Foreground(lipgloss.Color("10")),
		sel:     lipgloss.NewStyle().Reverse(true),
		dialog:  lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(lipgloss.Color("12")).Padding(0, 1),
	}
}

// View implements tea.Model.
func (m Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.WindowTitle = "purista dev · " + m.opts.Project
	return v
}

// Render returns the screen as a string (View's content), for tests and snapshots.
func (m Model) Render() string {
	if m.help {
		return m.fit(m.helpScreen())
	}
	if m.dialog != nil {
		return m.fit(m.renderDialog())
	}
	if m.trace != nil {
		return m.fit(m.renderTrace())
	}
	var top []string
	top = append(top, m.titleLine())
	if l := m.httpLine(); l != "" {
		top = append(top, l)
	}
	if m.build.Started && len(m.build.Files) == 0 {
		top = append(top, m.st.dim.Render(devmsg.FirstBuildNote))
	}
	if m.build.Err != "" && !m.build.Cancelled {
		msg := "build failed — the previous process keeps running:"
		if m.build.Idle {
			msg = m.build.FailText() + ":"
		}
		top = append(top, m.st.err.Render(msg))
		lines := strings.Split(m.build.Err, "\n")
		top = append(top, lines[:min(len(lines), 6)]...)
	}
	for _, i := range m.info {
		style := m.st.dim
		if i.Error || i.Warn {
			style = m.st.err
		}
		for _, l := range m.wrapInfo(i.Text) {
			top = append(top, style.Render(l))
		}
	}
	top = append(top, m.st.section.Render("Processes"))
	top = append(top, m.st.header.Render(fmt.Sprintf("  %-10s %-8s %-10s %-8s %s", "UNIT", "PID", "STATE", "RESTARTS", "HEALTH")))
	for i, u := range m.units {
		line := fmt.Sprintf("  %-10s %-8d %-10s %-8d %s", u.name, u.pid, u.state, u.restarts, dash(u.health))
		if i == m.selUnit && len(m.units) > 1 {
			line = m.st.sel.Render(line)
		}
		top = append(top, line)
	}
	top = append(top, m.st.section.Render("Services"))
	top = append(top, m.st.header.Render(fmt.Sprintf("  %-12s %-4s %-9s %-7s %8s %7s %10s", "NAME", "VER", "STATE", "HEALTH", "INVOKES", "ERRORS", "P50")))
	for _, s := range m.services {
		p := "-"
		if len(s.lat) > 0 {
			p = devmsg.Round(p50(s.lat))
		}
		top = append(top, fmt.Sprintf("  %-12s %-4s %-9s %-7s %8d %7d %10s", s.name, s.version, s.state, dash(m.healthOf(s.name)), s.invokes, s.errors, p))
	}
	footer := m.shortHelp(m.keys.ShortHelp())
	if m.filtering {
		footer = m.filter.View()
	}
	rest := max(4, m.height-len(top)-1)
	msgH := rest / 2
	logH := rest - msgH
	out := append(top, m.renderMessages(msgH)...)
	out = append(out, m.renderLogs(logH)...)
	out = append(out, footer)
	return m.fit(strings.Join(out, "\n"))
}

// wrapInfo breaks an info line that is wider than the window at spaces into at most
// two lines (fit cuts the second when it is still too wide), so that advice at the end
// of a long line shows.
func (m Model) wrapInfo(text string) []string {
	if m.width <= 0 || ansi.StringWidth(text) <= m.width {
		return []string{text}
	}
	lines := strings.Split(ansi.Wrap(text, m.width, ""), "\n")
	if len(lines) > 2 {
		lines = []string{lines[0], strings.Join(lines[1:], " ")}
	}
	return lines
}

// httpLine shows where the OpenAPI document of each unit with an HTTP endpoint is, and
// (loudly) when the app runs in the framework's HTTP development mode.
func (m Model) httpLine() string {
	var urls []string
	for _, u := range m.units {
		if u.httpAddr == "" {
			continue
		}
		url := "http://" + u.httpAddr + "/openapi.json"
		if len(m.units) > 1 {
			url = u.name + " " + url
		}
		urls = append(urls, url)
	}
	if len(urls) == 0 {
		return ""
	}
	s := "OpenAPI " + strings.Join(urls, ", ")
	if m.opts.SecureHTTP {
		return m.st.dim.Render(s + " · project authentication (--secure-http)")
	}
	return m.st.err.Render("HTTP DEVELOPMENT MODE (no credentials) · ") + m.st.dim.Render(s)
}

func (m Model) titleLine() string {
	s := m.st.title.Render("purista dev") + " · " + m.opts.Project + " · " + m.opts.Mode
	switch {
	case m.build.Started:
		s += " · " + m.st.dim.Render("building… "+m.opts.Now().Sub(m.buildAt).Truncate(time.Second).String())
	case m.build.Cancelled:
		s += " · " + m.st.dim.Render("build cancelled")
	case m.build.Err != "":
		s += " · " + m.st.err.Render("build failed")
	case m.ready != nil:
		s += " · " + m.st.ok.Render("ready in "+devmsg.Round(m.ready.Took))
	}
	return s
}

func (m Model) renderMessages(h int) []string {
	title := "Messages"
	if f := m.filter.Value(); f != "" {
		title += " (filter: " + f + ")"
	}
	if m.focusMsgs {
		title += " · ↑/↓ select, t trace, tab back to processes"
	}
	lines := []string{m.st.section.Render(title)}
	records := m.visibleRecords()
	sel := -1
	if m.focusMsgs {
		sel = m.selected(records)
	}
	rows := make([]string, len(records))
	for i, r := range records {
		rows[i] = "  " + r.at.Format("15:04:05.000") + " " + r.text
		if i == sel {
			rows[i] = m.st.sel.Render("▸ " + rows[i][2:])
		}
	}
	off := 0 // keep the selected row in view
	if sel >= 0 && len(rows)-sel > h-1 {
		off = len(rows) - sel - (h - 1)
	}
	return append(lines, tail(rows, h-1, off)...)
}

func (m Model) renderLogs(h int) []string {
	svc := "all services"
	if m.logService != "" {
		svc = m.logService
	}
	mode := "follow"
	if !m.follow {
		mode = fmt.Sprintf("paused, %d up", m.logScroll)
	}
	lines := []string{m.st.section.Render(fmt.Sprintf("Logs (%s, ≥%s, %s)", svc, logLevels()[m.logLevel], mode))}
	var rows []string
	for _, l := range m.logs {
		if levelRank(l.level) < m.logLevel {
			continue
		}
		if m.logService != "" && !strings.EqualFold(l.service, m.logService) && !strings.EqualFold(l.unit, m.logService) {
			continue
		}
		who := l.service
		if who == "" {
			who = l.unit
		}
		line := fmt.Sprintf("  %s %-8s %-5s %s", l.at.Format("15:04:05"), who, l.level, l.m)
		if levelRank(l.level) >= 3 {
			line = m.st.err.Render(line)
		}
		rows = append(rows, line)
	}
	off := 0
	if !m.follow {
		off = m.logScroll
	}
	return append(lines, tail(rows, h-1, off)...)
}

func (m Model) renderDialog() string {
	d := m.dialog
	var b strings.Builder
	b.WriteString(m.st.title.Render("Invoke a command") + "\n\n")
	if !d.editing {
		for i, c := range d.commands {
			line := fmt.Sprintf("%s.%s (v%s)  %s", c.Service, c.Name, c.Version, c.Description)
			if i == d.cursor {
				line = m.st.sel.Render("> " + line)
			} else {
				line = "  " + line
			}
			b.WriteString(line + "\n")
		}
		b.WriteString("\n" + m.shortHelp(m.keys.pickerHelp()))
		return m.st.dialog.Render(b.String())
	}
	c := d.selected()
	fmt.Fprintf(&b, "%s.%s (v%s) payload:\n", c.Service, c.Name, c.Version)
	b.WriteString(d.editor.View() + "\n")
	// An answer wraps inside the dialog (border and padding take 4 cells).
	result := ansi.Wrap(d.result, max(20, m.width-4), "")
	switch {
	case d.sending:
		b.WriteString(m.st.dim.Render("sending…") + "\n")
	case d.result != "" && d.isErr:
		b.WriteString(m.st.err.Render(result) + "\n")
	case d.result != "":
		b.WriteString(m.st.ok.Render(result) + "\n")
	}
	if d.trace != "" && !d.sending {
		b.WriteString("trace " + d.trace + "\n")
	}
	b.WriteString("\n" + m.shortHelp(m.keys.editorHelp()))
	return m.st.dialog.Render(b.String())
}

// shortHelp renders bindings as one line of help that fits the window.
func (m Model) shortHelp(bindings []key.Binding) string {
	h := m.helpView
	h.SetWidth(m.width)
	return h.ShortHelpView(bindings)
}

// fit cuts s to the window: at most height lines of at most width cells.
func (m Model) fit(s string) string {
	lines := strings.Split(s, "\n")
	if m.height > 0 && len(lines) > m.height {
		lines = lines[:m.height]
	}
	for i, l := range lines {
		if m.width > 0 && ansi.StringWidth(l) > m.width {
			lines[i] = ansi.Truncate(l, m.width, "…")
		}
	}
	return strings.Join(lines, "\n")
}

// tail returns the last n rows, skipping off rows from the end.
func tail(rows []string, n, off int) []string {
	if n <= 0 {
		return nil
	}
	end := max(0, len(rows)-off)
	start := max(0, end-n)
	return rows[start:end]
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
