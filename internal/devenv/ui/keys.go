package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/purista-go/purista/internal/devenv/devmsg"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
)

// KeyMap is every key of the TUI. The same bindings decide what a key press does
// (key.Matches in Update), what the footer shows (ShortHelp) and what the help screen
// lists (FullHelp); the dialog's and the filter's keys are here too.
type KeyMap struct {
	// The main screen.
	Invoke, Filter, ClearFilter         key.Binding
	LogService, LogLevel, Follow        key.Binding
	PageUp, PageDown                    key.Binding
	Up, Down, Restart, Stop, Help, Quit key.Binding
	// Focus moves the selection (Up, Down) between the processes and the message
	// stream; Trace opens the trace of the selected message, TraceBack closes it.
	Focus, Trace, TraceBack key.Binding
	// ForceQuit quits from any screen, the dialog and the filter included.
	ForceQuit key.Binding

	// While typing a filter.
	FilterKeep, FilterClear key.Binding

	// The invoke dialog: choosing a command, then editing its payload.
	DialogUp, DialogDown, DialogEdit, DialogClose key.Binding
	Send, EditorBack                              key.Binding
}

// DefaultKeyMap returns the TUI's keys.
func DefaultKeyMap() KeyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return KeyMap{
		Invoke:      b("i", "invoke a command", "i"),
		Filter:      b("/", "filter the message stream", "/"),
		ClearFilter: b("esc", "clear the filter", "esc"),
		LogService:  b("s", "cycle the service (all → each service)", "s"),
		LogLevel:    b("l", "cycle the minimum level (DEBUG, INFO, WARN, ERROR)", "l"),
		Follow:      b("f", "follow on/off", "f"),
		PageUp:      b("pgup", "scroll up (pauses following)", "pgup"),
		PageDown:    b("pgdown", "scroll down", "pgdown"),
		Up:          b("k/↑", "select the previous process (message)", "up", "k"),
		Down:        b("j/↓", "select the next process (message)", "down", "j"),
		Restart:     b("r", "restart the selected process", "r"),
		Stop:        b("x", "stop the selected process (until a restart or rebuild)", "x"),
		Focus:       b("tab", "select messages instead of processes (and back)", "tab"),
		Trace:       b("t/enter", "the trace of the selected message (the newest if none is) as a waterfall", "t", "enter"),
		TraceBack:   b("esc/q", "back from the trace view (there q does not quit)", "esc", "q"),
		Help:        b("?", "this help (any key closes it)", "?"),
		Quit:        b("q", "quit: every process gets SIGTERM, then SIGKILL after the grace period", "q"),
		ForceQuit:   b("ctrl+c", "quit from anywhere", "ctrl+c"),

		FilterKeep:  b("enter", "keep the filter (while typing it)", "enter"),
		FilterClear: b("esc", "clear the filter", "esc"),

		DialogUp:    b("↑", "choose", "up", "k"),
		DialogDown:  b("↓", "choose", "down", "j"),
		DialogEdit:  b("enter", "edit payload", "enter"),
		DialogClose: b("esc", "close", "esc", "q"),
		Send:        b("ctrl+s", "send", "ctrl+s", "alt+enter", "ctrl+d"),
		EditorBack:  b("esc", "back", "esc"),
	}
}

// key handles a key press by the bindings of m.keys.
func (m Model) key(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	keys := m.keys
	if key.Matches(k, keys.ForceQuit) {
		m.quit = true
		return m, tea.Quit
	}
	if m.dialog != nil {
		cmd, closeIt, send := m.dialog.key(k, keys)
		if closeIt {
			m.dialog = nil
		}
		if send != nil {
			m.dialog.sentAt = m.opts.Now()
			return m, m.invoke(*send)
		}
		return m, cmd
	}
	if m.filtering {
		switch {
		case key.Matches(k, keys.FilterKeep):
			m.filtering = false
			m.filter.Blur()
			return m, nil
		case key.Matches(k, keys.FilterClear):
			m.filtering = false
			m.filter.SetValue("")
			m.filter.Blur()
			return m, nil
		}
		var cmd tea.Cmd
		m.filter, cmd = m.filter.Update(k)
		return m, cmd
	}
	if m.help {
		m.help = false
		return m, nil
	}
	if m.trace != nil {
		switch {
		case key.Matches(k, keys.TraceBack):
			m.trace = nil
		case key.Matches(k, keys.Up):
			m.trace.scroll = max(0, m.trace.scroll-1)
		case key.Matches(k, keys.Down):
			m.trace.scroll++ // the view clamps it
		case key.Matches(k, keys.Help):
			m.help = true
		}
		return m, nil
	}
	switch {
	case key.Matches(k, keys.Quit):
		m.quit = true
		return m, tea.Quit
	case key.Matches(k, keys.Help):
		m.help = true
	case key.Matches(k, keys.Filter):
		m.filtering = true
		return m, m.filter.Focus()
	case key.Matches(k, keys.ClearFilter):
		m.filter.SetValue("")
	case key.Matches(k, keys.Invoke):
		if len(m.commands) > 0 && m.opts.Invoker != nil {
			m.dialog = newInvokeDialog(m.commands, m.width, m.height)
		} else {
			m.info = appendCapped(m.info, devmsg.InfoMsg{Text: "no command to invoke yet: waiting for the services to be ready"}, 3)
		}
	case key.Matches(k, keys.LogService):
		m.logService = m.nextLogService()
	case key.Matches(k, keys.LogLevel):
		m.logLevel = (m.logLevel + 1) % len(logLevels())
	case key.Matches(k, keys.Follow):
		m.follow = !m.follow
		m.logScroll = 0
	case key.Matches(k, keys.PageUp):
		m.follow = false
		m.logScroll += 5
	case key.Matches(k, keys.PageDown):
		m.logScroll = max(0, m.logScroll-5)
	case key.Matches(k, keys.Focus):
		m.focusMsgs = !m.focusMsgs
		m.selSeq = 0
	case key.Matches(k, keys.Trace):
		m.openTrace()
	case key.Matches(k, keys.Up) && m.focusMsgs:
		m.moveSelection(-1)
	case key.Matches(k, keys.Down) && m.focusMsgs:
		m.moveSelection(1)
	case key.Matches(k, keys.Up):
		m.selUnit = max(0, m.selUnit-1)
	case key.Matches(k, keys.Down):
		m.selUnit = min(len(m.units)-1, m.selUnit+1)
	case key.Matches(k, keys.Restart, keys.Stop):
		if m.opts.Controller != nil && len(m.units) > 0 {
			name := m.units[m.selUnit].name
			if key.Matches(k, keys.Restart) {
				m.opts.Controller.Restart(name)
			} else {
				m.opts.Controller.Stop(name)
			}
		}
	}
	return m, nil
}

// ShortHelp is the footer of the main screen (help.KeyMap); help and quit come early
// so that a narrow window, which cuts the line, still shows them.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{
		shortly(k.Invoke, "invoke"), shortly(k.Filter, "filter"), shortly(k.Help, "help"), shortly(k.Quit, "quit"),
		shortly(k.Focus, "select messages"), shortly(k.Trace, "trace"),
		shortly(k.LogService, "log service"), shortly(k.LogLevel, "log level"), shortly(k.Follow, "follow"),
		shortly(k.Restart, "restart"), shortly(k.Stop, "stop"),
	}
}

// FullHelp is the help screen, one group per part of the screen (help.KeyMap); a pair
// of keys that mirror each other (up and down) shows as one line.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Invoke, k.Filter, k.FilterKeep, k.ClearFilter, k.Focus, k.Trace, k.TraceBack},
		{k.LogService, k.LogLevel, k.Follow, both(k.PageUp, k.PageDown, "pgup/pgdown", "scroll (pgup pauses following)")},
		{both(k.Up, k.Down, "j/k ↑/↓", "select a process (a message after tab); in the trace view: scroll"), k.Restart, k.Stop},
		{both(k.DialogUp, k.DialogDown, "↑/↓ j/k", "choose a command"), shortly(k.DialogEdit, "edit its payload"),
			shortly(k.Send, "send (alt+enter and ctrl+d too)"), shortly(k.EditorBack, "back to the commands; there esc or q closes")},
		{k.Help, k.Quit, k.ForceQuit},
	}
}

// fullHelpTitles name FullHelp's groups on the help screen.
func fullHelpTitles() []string {
	return []string{"Messages", "Logs", "Processes", "The invoke dialog", "Help and quit"}
}

// pickerHelp and editorHelp are the invoke dialog's footers.
func (k KeyMap) pickerHelp() []key.Binding {
	return []key.Binding{both(k.DialogUp, k.DialogDown, "↑/↓", "choose"), k.DialogEdit, k.DialogClose}
}

func (k KeyMap) editorHelp() []key.Binding { return []key.Binding{k.Send, k.EditorBack} }

// traceHelp is the trace view's footer.
func (k KeyMap) traceHelp() []key.Binding {
	return []key.Binding{shortly(k.TraceBack, "back"), both(k.Up, k.Down, "j/k ↑/↓", "scroll"), shortly(k.Help, "help")}
}

// both returns one binding for the keys of a and b, shown as help and desc.
func both(a, b key.Binding, help, desc string) key.Binding {
	return key.NewBinding(key.WithKeys(append(a.Keys(), b.Keys()...)...), key.WithHelp(help, desc))
}

// shortly returns b with desc as its help text (a shorter one for the footer).
func shortly(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}

// newHelp returns the help renderer in the TUI's styles.
func newHelp(st styles) help.Model {
	h := help.New()
	h.ShortSeparator = " · "
	h.FullSeparator = "  "
	h.Styles = help.Styles{Ellipsis: st.dim, ShortKey: st.dim, ShortDesc: st.dim, ShortSeparator: st.dim,
		FullKey: st.header, FullDesc: lipgloss.NewStyle(), FullSeparator: lipgloss.NewStyle()}
	return h
}

// helpScreen renders the help screen: every group of FullHelp under its title.
func (m Model) helpScreen() string {
	var b strings.Builder
	b.WriteString(m.st.title.Render("purista dev — keys") + "\n")
	titles, groups := fullHelpTitles(), m.keys.FullHelp()
	width := 0 // the widest key: every group's descriptions start in the same column
	for _, g := range groups {
		for _, kb := range g {
			width = max(width, lipgloss.Width(kb.Help().Key))
		}
	}
	for i, group := range groups {
		b.WriteString(m.st.section.Render(titles[i]) + "\n")
		padded := make([]key.Binding, len(group))
		for j, kb := range group {
			padded[j] = shortly(kb, kb.Help().Desc)
			padded[j].SetHelp(kb.Help().Key+strings.Repeat(" ", width-lipgloss.Width(kb.Help().Key)), kb.Help().Desc)
		}
		for _, l := range strings.Split(m.helpView.FullHelpView([][]key.Binding{padded}), "\n") {
			b.WriteString("  " + l + "\n")
		}
	}
	b.WriteString("\nSaving a .go file, go.mod, go.sum or purista.yaml rebuilds and restarts; a compile error\n" +
		"keeps the previous process running.")
	return b.String()
}
