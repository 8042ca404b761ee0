// Package ui is the terminal UI of `purista dev`: a bubbletea model that shows the
// processes, services, message stream and logs of a session, with an invoke dialog and
// one key map that drives the keys, the footer and the help screen.
package ui

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/devenv/traces"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// Limits of what the TUI keeps in memory.
const (
	maxRecords = 500
	maxLogs    = 1000
	maxLatency = 256
)

// Invoker calls a command; the supervisor's Runner implements it.
type Invoker interface {
	Invoke(ctx context.Context, service, version, command string, payload json.RawMessage) (json.RawMessage, error)
}

// Controller restarts and stops units; the supervisor's Runner implements it.
type Controller interface {
	Restart(unit string)
	Stop(unit string)
}

// ModelOptions configure the TUI model.
type ModelOptions struct {
	// Project is the project's name (shown in the title).
	Project string
	// Mode describes how it runs ("monolith · memory", "distributed · nats …").
	Mode string
	// Services are the project's services, in manifest order.
	Services []project.Service
	// Units are the runner's unit names.
	Units []string
	// Info are lines shown from the start (the broker chosen, the HTTP mode), before the
	// runner's first message.
	Info []devmsg.InfoMsg
	// Invoker runs the invoke dialog's calls.
	Invoker Invoker
	// Controller restarts/stops units (nil disables the keys).
	Controller Controller
	// NoColor renders without styles (NO_COLOR).
	NoColor bool
	// SecureHTTP says the app's HTTP endpoint runs with the project's authentication;
	// false shows the framework's HTTP development mode loudly beside the OpenAPI URL.
	SecureHTTP bool
	// Now returns the current time (nil: time.Now); tests fix it for stable screens.
	Now func() time.Time
	// Traces holds the spans of the session's processes for the trace view (nil: the
	// view is off). Send TracesMsg when spans arrive.
	Traces *traces.Store
	// BuildTick is how often the elapsed time of a running build is redrawn (0: every
	// second).
	BuildTick time.Duration
}

// Model is the bubbletea model of `purista dev`: processes, services, the message
// stream, logs, the invoke dialog and a help screen, driven by the keys of KeyMap.
// Feed it the runner's messages wrapped in RunnerMsg.
type Model struct {
	opts     ModelOptions
	st       styles
	width    int
	height   int
	units    []*unitRow
	selUnit  int
	services []*serviceRow
	commands []framework.CommandInfo
	records  []recordRow
	logs     []logRow
	build    devmsg.BuildMsg
	buildAt  time.Time // when the running build started (shown as its elapsed time)
	buildGen int       // counts builds: a tick of an earlier build does not go on
	ready    *devmsg.ReadyMsg
	info     []devmsg.InfoMsg

	filtering bool
	filter    textinput.Model

	logService string // "" = merged
	logLevel   int    // index into logLevels
	follow     bool
	logScroll  int // lines up from the bottom when not following

	// focusMsgs moves the selection to the message stream; selSeq is the selected
	// record's seq (0: the newest), nextSeq numbers the records.
	focusMsgs bool
	selSeq    int
	nextSeq   int
	// subs maps the subscriptions seen in the stream to their services (for the
	// trace view's service column).
	subs  map[string]string
	trace *traceScreen // the open trace view, nil when closed

	help     bool
	keys     KeyMap
	helpView help.Model
	dialog   *invokeDialog
	quit     bool
}

var _ tea.Model = Model{} // compile-time check

type unitRow struct {
	name, state, health, err string
	pid, restarts            int
	httpAddr                 string // the command endpoint while it runs
}

// serviceRow is a row of the Services table; invokes, errors and lat count the calls
// of the service's commands (records of kind "command" to it), not the subscription
// deliveries it handles.
type serviceRow struct {
	name, version, state string
	invokes, errors      int
	lat                  []time.Duration
}

// recordRow is one line of the message stream; to and trace let the invoke dialog
// find the trace of its call.
type recordRow struct {
	seq   int // numbers the records in arrival order (from 1), for the selection
	at    time.Time
	text  string
	kind  string
	to    wire.Address
	trace string
}

type logRow struct {
	at                      time.Time
	unit, service, level, m string
}

// TracesMsg says that spans have arrived in ModelOptions.Traces: an open trace view
// redraws.
type TracesMsg struct{}

// RunnerMsg carries one message of the supervisor (a devmsg type) into the TUI.
type RunnerMsg struct{ Msg any }

// buildTickMsg redraws the elapsed time of the build gen.
type buildTickMsg struct{ gen int }

// invokeResultMsg is the answer to the invoke dialog's call.
type invokeResultMsg struct {
	out json.RawMessage
	err error
}

// logLevels are the level filter's steps, lowest first.
func logLevels() []string { return []string{"DEBUG", "INFO", "WARN", "ERROR"} }

// NewModel returns the TUI model.
func NewModel(opts ModelOptions) Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BuildTick <= 0 {
		opts.BuildTick = time.Second
	}
	m := Model{opts: opts, st: newStyles(opts.NoColor), keys: DefaultKeyMap(), follow: true, logLevel: 1, width: 100, height: 30,
		subs: map[string]string{}}
	m.helpView = newHelp(m.st)
	for _, u := range opts.Units {
		m.units = append(m.units, &unitRow{name: u, state: "pending"})
	}
	for _, s := range opts.Services {
		m.services = append(m.services, &serviceRow{name: s.Name, version: s.Version, state: "pending"})
	}
	for _, i := range opts.Info {
		m.apply(i)
	}
	m.filter = textinput.New()
	m.filter.Prompt = "/"
	m.filter.Placeholder = "filter messages"
	return m
}

// Init implements tea.Model.
func (m Model) Init() tea.Cmd { return nil }

// Quitting reports whether the user asked to quit.
func (m Model) Quitting() bool { return m.quit }

// Update implements tea.Model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		if m.dialog != nil {
			m.dialog.resize(m.width, m.height)
		}
		return m, nil
	case RunnerMsg:
		gen := m.buildGen
		m.apply(msg.Msg)
		if m.buildGen != gen { // a build started
			return m, buildTick(m.buildGen, m.opts.BuildTick)
		}
		return m, nil
	case buildTickMsg:
		if m.build.Started && msg.gen == m.buildGen {
			return m, buildTick(msg.gen, m.opts.BuildTick) // the view shows the elapsed time; stops with the build
		}
		return m, nil
	case invokeResultMsg:
		if m.dialog != nil {
			m.dialog.setResult(msg.out, msg.err)
			m.traceDialog()
		}
		return m, nil
	case TracesMsg:
		return m, nil // the trace view reads the store when it draws
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	if m.dialog != nil {
		return m, m.dialog.update(msg)
	}
	if m.filtering {
		var cmd tea.Cmd
		m.filter, cmd = m.filter.Update(msg)
		return m, cmd
	}
	return m, nil
}

func (m Model) nextLogService() string {
	names := []string{""}
	for _, s := range m.services {
		names = append(names, s.name)
	}
	i := slices.Index(names, m.logService)
	return names[(i+1)%len(names)]
}

// invoke returns the command that performs the dialog's call.
func (m Model) invoke(c invokeCall) tea.Cmd {
	inv := m.opts.Invoker
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 35*time.Second)
		defer cancel()
		out, err := inv.Invoke(ctx, c.service, c.version, c.command, c.payload)
		return invokeResultMsg{out: out, err: err}
	}
}

// apply folds a runner message into the model.
func (m *Model) apply(msg any) {
	switch v := msg.(type) {
	case devmsg.UnitStateMsg:
		u := m.unit(v.Unit)
		u.state, u.pid, u.restarts, u.err = v.State, v.PID, v.Restarts, v.Err
		if v.HTTPAddr != "" {
			u.httpAddr = v.HTTPAddr
		}
		if v.State != devmsg.StateRunning {
			u.health = ""
		}
		// A crash's error is "exited with code N:" and the tail of its stderr: one log
		// row a line, so that the screen keeps its layout.
		if v.Err != "" {
			for i, l := range strings.Split(v.Err, "\n") {
				if i == 0 {
					l = v.Unit + " " + l
				} else {
					l = "  " + l
				}
				m.addLog(logRow{at: m.opts.Now(), unit: v.Unit, level: "ERROR", m: l})
			}
		}
	case devmsg.HealthMsg:
		u := m.unit(v.Unit)
		u.health = "ok"
		if !v.OK {
			u.health = "down"
		}
	case devmsg.BuildMsg:
		if v.Started && !m.build.Started {
			m.buildAt = m.opts.Now()
			m.buildGen++
		}
		m.build = v
	case devmsg.ReadyMsg:
		m.ready = &v
	case devmsg.InfoMsg:
		m.info = appendCapped(m.info, v, 3)
	case devmsg.ServicesMsg:
		m.applyServices(v)
	case devmsg.UnitEventMsg:
		m.applyEvent(v)
	}
}

func (m *Model) applyEvent(v devmsg.UnitEventMsg) {
	e := v.Event
	switch e.Type {
	case "state":
		if s := m.service(e.Service); s != nil {
			s.state = e.State
		}
		if e.State == "ready" {
			for _, c := range e.Commands {
				if !slices.ContainsFunc(m.commands, func(x framework.CommandInfo) bool {
					return x.Service == c.Service && x.Version == c.Version && x.Name == c.Name
				}) {
					m.commands = append(m.commands, c)
				}
			}
			sort.SliceStable(m.commands, func(i, j int) bool {
				return m.commands[i].Service+"."+m.commands[i].Name < m.commands[j].Service+"."+m.commands[j].Name
			})
		}
	case "record":
		if e.Record == nil {
			return
		}
		r := e.Record
		if r.Kind == "command" { // a call of a command the service handles; not a delivery
			if s := m.service(r.To.ServiceName); s != nil {
				s.invokes++
				if r.Status >= 400 || r.Error != "" {
					s.errors++
				}
				s.lat = appendCapped(s.lat, r.Latency, maxLatency)
			}
		}
		if r.Kind == "subscription" && r.To.ServiceTarget != "" {
			m.subs[r.To.ServiceTarget] = r.To.ServiceName
		}
		m.nextSeq++
		m.records = insertByTime(m.records, recordRow{seq: m.nextSeq, at: e.Time, text: devmsg.FormatRecord(e), kind: r.Kind, to: r.To,
			trace: r.TraceID}, maxRecords)
		m.traceDialog()
	case "log":
		m.addLog(logRow{at: e.Time, unit: v.Unit, service: e.Service, level: e.Level, m: e.Message + devmsg.FormatAttrs(e.Attrs)})
	}
}

func (m *Model) addLog(l logRow) {
	m.logs = appendCapped(m.logs, l, maxLogs)
}

func (m *Model) unit(name string) *unitRow {
	for _, u := range m.units {
		if u.name == name {
			return u
		}
	}
	u := &unitRow{name: name}
	m.units = append(m.units, u)
	return u
}

func (m *Model) service(name string) *serviceRow {
	for _, s := range m.services {
		if strings.EqualFold(s.name, name) {
			return s
		}
	}
	return nil
}

// insertByTime inserts r into rows, which are in time order, after every row of the
// same time, and drops the oldest rows beyond limit. Records reach dev in the order
// their processes write them, and a call is written when it ends: an outer command
// comes after the calls it made, though it started first.
func insertByTime(rows []recordRow, r recordRow, limit int) []recordRow {
	i := sort.Search(len(rows), func(i int) bool { return rows[i].at.After(r.at) })
	rows = slices.Insert(rows, i, r)
	if len(rows) > limit {
		rows = slices.Delete(rows, 0, len(rows)-limit)
	}
	return rows
}

// traceDialog gives the invoke dialog's answer the trace id of its call when the answer
// has none (a success carries only the output): the first record of a command call to
// the invoked command that started after the dialog sent it.
func (m *Model) traceDialog() {
	d := m.dialog
	if d == nil || d.sending || d.result == "" || d.trace != "" || d.call == nil {
		return
	}
	for _, r := range m.records {
		if r.kind == "command" && r.trace != "" && !r.at.Before(d.sentAt) &&
			strings.EqualFold(r.to.ServiceName, d.call.service) && r.to.ServiceTarget == d.call.command &&
			(r.to.ServiceVersion == "" || r.to.ServiceVersion == d.call.version) {
			d.trace = r.trace
			return
		}
	}
}

// buildTick asks for a redraw of build gen after every.
func buildTick(gen int, every time.Duration) tea.Cmd {
	return tea.Tick(every, func(time.Time) tea.Msg { return buildTickMsg{gen: gen} })
}

// appendCapped appends v and drops the oldest entries beyond limit.
func appendCapped[T any](s []T, v T, limit int) []T {
	s = append(s, v)
	if len(s) > limit {
		s = slices.Delete(s, 0, len(s)-limit)
	}
	return s
}

// p50 returns the median of ds (0 when empty).
func p50(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	c := slices.Clone(ds)
	slices.Sort(c)
	return c[len(c)/2]
}

// healthOf returns the health shown for a service: its unit's.
func (m Model) healthOf(service string) string {
	for _, u := range m.units {
		if u.name == devmsg.MonolithUnit || strings.EqualFold(u.name, service) {
			return u.health
		}
	}
	return ""
}

// levelRank orders slog level names.
func levelRank(l string) int {
	switch {
	case strings.HasPrefix(l, "DEBUG"):
		return 0
	case strings.HasPrefix(l, "WARN"):
		return 2
	case strings.HasPrefix(l, "ERROR"):
		return 3
	}
	return 1
}
