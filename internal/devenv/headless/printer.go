// Package headless prints the messages of a `purista dev` session as lines: prefixed
// text for a person reading a log, or JSON objects for a program.
package headless

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/purista-go/purista/internal/devenv/devmsg"
)

// Options configure a Printer.
type Options struct {
	// JSON prints one JSON object per line instead of prefixed text.
	JSON bool
	// Units are the unit names known at the start (they set the prefix column's width).
	Units []string
	// SecureHTTP says the app runs with the project's authentication, not in the HTTP
	// development mode that the running line otherwise names.
	SecureHTTP bool
}

// Printer prints the supervisor's messages for headless mode: one prefixed text line per
// message, or (JSON) one JSON object per line: {"kind":"event"|"state"|"health"|"build"|
// "ready"|"services"|"info","unit":…,…}. It is safe for concurrent use; its Sink is the
// supervisor's sink.
type Printer struct {
	mu    sync.Mutex
	out   io.Writer
	opts  Options
	width int // prefix width
}

// NewPrinter returns a Printer writing to out.
func NewPrinter(out io.Writer, opts Options) *Printer {
	w := 4
	for _, u := range opts.Units {
		w = max(w, len(u))
	}
	return &Printer{out: out, opts: opts, width: w}
}

// Sink prints msg.
func (p *Printer) Sink(msg any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.opts.JSON {
		p.printJSON(msg)
		return
	}
	switch m := msg.(type) {
	case devmsg.UnitEventMsg:
		p.printEvent(m)
	case devmsg.UnitStateMsg:
		line := fmt.Sprintf("%s pid=%d restarts=%d", m.State, m.PID, m.Restarts)
		if m.HTTPAddr != "" && m.State == devmsg.StateRunning {
			line += " http=http://" + m.HTTPAddr + "/api openapi=http://" + m.HTTPAddr + "/openapi.json"
			if !p.opts.SecureHTTP {
				line += " (HTTP development mode)"
			}
		}
		if m.State == devmsg.StateStopped || m.State == devmsg.StateExited {
			line += fmt.Sprintf(" code=%d", m.ExitCode)
		}
		// A crash's error is "exited with code N:" and the tail of its stderr: the
		// first line goes on the state line, the others below it, each with the prefix.
		first, more, _ := strings.Cut(m.Err, "\n")
		if first != "" {
			line += " error=" + first
		}
		p.line(m.Unit, line)
		if more != "" {
			for _, l := range strings.Split(more, "\n") {
				p.line(m.Unit, "  "+l)
			}
		}
	case devmsg.HealthMsg:
		if m.OK {
			p.line(m.Unit, "health ok")
		} else {
			p.line(m.Unit, "health unavailable: "+m.Err)
		}
	case devmsg.BuildMsg:
		switch {
		case m.Started && len(m.Files) > 0:
			p.line("dev", "change in "+strings.Join(m.Files, ", ")+": rebuilding")
		case m.Started:
			p.line("dev", "building; "+devmsg.FirstBuildNote)
		case m.Cancelled:
			p.line("dev", m.FailText())
		case m.Err != "":
			p.line("dev", m.FailText()+":")
			for _, l := range strings.Split(m.Err, "\n") {
				p.line("dev", "  "+l)
			}
		default:
			p.line("dev", "built in "+devmsg.Round(m.Took))
		}
	case devmsg.ReadyMsg:
		what := "all services ready"
		if m.Rebuild {
			what = "restarted: all services ready"
		}
		p.line("dev", fmt.Sprintf("%s in %s", what, devmsg.Round(m.Took)))
	case devmsg.ServicesMsg:
		p.line("dev", m.Text())
	case devmsg.InfoMsg:
		if m.Error {
			p.line("dev", "error: "+m.Text)
		} else if m.Warn {
			p.line("dev", "WARNING: "+m.Text)
		} else {
			p.line("dev", m.Text)
		}
	}
}

func (p *Printer) line(prefix, text string) {
	// A service added while dev runs widens the column from then on.
	p.width = max(p.width, len(prefix))
	_, _ = fmt.Fprintf(p.out, "%-*s | %s\n", p.width, prefix, text) // a closed stdout is not our problem
}

func (p *Printer) printEvent(m devmsg.UnitEventMsg) {
	e := m.Event
	switch e.Type {
	case "record":
		if e.Record != nil {
			p.line(m.Unit, "msg "+devmsg.FormatRecord(e))
		}
	case "log":
		prefix := m.Unit
		if e.Service != "" {
			prefix = e.Service
		}
		p.line(prefix, fmt.Sprintf("%-5s %s%s", e.Level, e.Message, devmsg.FormatAttrs(e.Attrs)))
	case "state":
		p.line(e.Service, "service "+e.State)
	}
}

func (p *Printer) printJSON(msg any) {
	var kinds map[string]any
	switch m := msg.(type) {
	case devmsg.UnitEventMsg:
		kinds = map[string]any{"kind": "event", "unit": m.Unit, "event": m.Event}
	case devmsg.UnitStateMsg:
		kinds = map[string]any{"kind": "state", "unit": m.Unit, "state": m.State, "pid": m.PID, "restarts": m.Restarts,
			"exitCode": m.ExitCode, "httpAddr": m.HTTPAddr, "error": m.Err}
	case devmsg.HealthMsg:
		kinds = map[string]any{"kind": "health", "unit": m.Unit, "ok": m.OK, "error": m.Err}
	case devmsg.BuildMsg:
		kinds = map[string]any{"kind": "build", "started": m.Started, "error": m.Err, "tookMs": m.Took.Milliseconds(), "files": m.Files,
			"cancelled": m.Cancelled}
	case devmsg.ReadyMsg:
		kinds = map[string]any{"kind": "ready", "tookMs": m.Took.Milliseconds(), "rebuild": m.Rebuild}
	case devmsg.ServicesMsg:
		kinds = map[string]any{"kind": "services", "services": serviceList(m), "units": m.Units, "added": m.Added, "removed": m.Removed}
	case devmsg.InfoMsg:
		kinds = map[string]any{"kind": "info", "text": m.Text, "error": m.Error, "warn": m.Warn}
	default:
		return
	}
	b, err := json.Marshal(kinds)
	if err != nil {
		return
	}
	_, _ = p.out.Write(append(b, '\n'))
}

// serviceList is a ServicesMsg's Services for JSON lines: [{"name":…,"version":…}].
func serviceList(m devmsg.ServicesMsg) []map[string]string {
	out := make([]map[string]string, len(m.Services))
	for i, s := range m.Services {
		out[i] = map[string]string{"name": s.Name, "version": s.Version}
	}
	return out
}
