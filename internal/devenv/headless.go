package devenv

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// firstBuildNote tells why the first build may take long.
const firstBuildNote = "the first build downloads and compiles the modules on a cold Go cache (a few minutes)"

// Printer prints runner messages for headless mode: one prefixed text line per message,
// or (JSON) one JSON object per line: {"kind":"event"|"state"|"health"|"build"|"ready"|
// "services"|"info","unit":…,…}. It is safe for concurrent use; use its Sink as Options.Sink.
type Printer struct {
	mu    sync.Mutex
	out   io.Writer
	json  bool
	width int // prefix width
	// secureHTTP says the app runs with the project's authentication, not in the HTTP
	// development mode that the running line otherwise names.
	secureHTTP bool
}

// NewPrinter returns a Printer writing to out; units are the unit names (for alignment).
func NewPrinter(out io.Writer, jsonLines bool, units []string) *Printer {
	w := 4
	for _, u := range units {
		w = max(w, len(u))
	}
	return &Printer{out: out, json: jsonLines, width: w}
}

// Sink prints msg.
func (p *Printer) Sink(msg any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		p.printJSON(msg)
		return
	}
	switch m := msg.(type) {
	case UnitEventMsg:
		p.printEvent(m)
	case UnitStateMsg:
		line := fmt.Sprintf("%s pid=%d restarts=%d", m.State, m.PID, m.Restarts)
		if m.HTTPAddr != "" && m.State == StateRunning {
			line += " http=http://" + m.HTTPAddr + "/api openapi=http://" + m.HTTPAddr + "/openapi.json"
			if !p.secureHTTP {
				line += " (HTTP development mode)"
			}
		}
		if m.State == StateStopped || m.State == StateExited {
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
	case HealthMsg:
		if m.OK {
			p.line(m.Unit, "health ok")
		} else {
			p.line(m.Unit, "health unavailable: "+m.Err)
		}
	case BuildMsg:
		switch {
		case m.Started && len(m.Files) > 0:
			p.line("dev", "change in "+strings.Join(m.Files, ", ")+": rebuilding")
		case m.Started:
			p.line("dev", "building; "+firstBuildNote)
		case m.Cancelled:
			p.line("dev", m.failText())
		case m.Err != "":
			p.line("dev", m.failText()+":")
			for _, l := range strings.Split(m.Err, "\n") {
				p.line("dev", "  "+l)
			}
		default:
			p.line("dev", "built in "+round(m.Took))
		}
	case ReadyMsg:
		what := "all services ready"
		if m.Rebuild {
			what = "restarted: all services ready"
		}
		p.line("dev", fmt.Sprintf("%s in %s", what, round(m.Took)))
	case ServicesMsg:
		p.line("dev", m.text())
	case InfoMsg:
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

func (p *Printer) printEvent(m UnitEventMsg) {
	e := m.Event
	switch e.Type {
	case "record":
		if e.Record != nil {
			p.line(m.Unit, "msg "+FormatRecord(e))
		}
	case "log":
		prefix := m.Unit
		if e.Service != "" {
			prefix = e.Service
		}
		p.line(prefix, fmt.Sprintf("%-5s %s%s", e.Level, e.Message, formatAttrs(e.Attrs)))
	case "state":
		p.line(e.Service, "service "+e.State)
	}
}

func (p *Printer) printJSON(msg any) {
	var kinds map[string]any
	switch m := msg.(type) {
	case UnitEventMsg:
		kinds = map[string]any{"kind": "event", "unit": m.Unit, "event": m.Event}
	case UnitStateMsg:
		kinds = map[string]any{"kind": "state", "unit": m.Unit, "state": m.State, "pid": m.PID, "restarts": m.Restarts,
			"exitCode": m.ExitCode, "httpAddr": m.HTTPAddr, "error": m.Err}
	case HealthMsg:
		kinds = map[string]any{"kind": "health", "unit": m.Unit, "ok": m.OK, "error": m.Err}
	case BuildMsg:
		kinds = map[string]any{"kind": "build", "started": m.Started, "error": m.Err, "tookMs": m.Took.Milliseconds(), "files": m.Files,
			"cancelled": m.Cancelled}
	case ReadyMsg:
		kinds = map[string]any{"kind": "ready", "tookMs": m.Took.Milliseconds(), "rebuild": m.Rebuild}
	case ServicesMsg:
		kinds = map[string]any{"kind": "services", "services": m.serviceList(), "units": m.Units, "added": m.Added, "removed": m.Removed}
	case InfoMsg:
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

// FormatAddress renders a wire address as Service.target (or Service when there is no
// target).
func FormatAddress(a wire.Address) string {
	if a.ServiceTarget == "" {
		return a.ServiceName
	}
	return a.ServiceName + "." + a.ServiceTarget
}

// FormatRecord renders a record event as
// "command User.signUp → Email.sendWelcome 200 1.2ms trace=…".
func FormatRecord(e runtime.Event) string {
	r := e.Record
	to := FormatAddress(r.To)
	if r.Kind == "event" || r.EventName != "" && r.To.ServiceName == "" {
		to = "event " + r.EventName
	}
	s := fmt.Sprintf("%s %s → %s %d %s", r.Kind, FormatAddress(r.From), to, r.Status, round(r.Latency))
	if r.TraceID != "" {
		s += " trace=" + r.TraceID
	}
	if r.Error != "" {
		s += " error=" + r.Error
	}
	return s
}

func formatAttrs(attrs map[string]any) string {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		if k != "service" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, formatAttr(k, attrs[k]))
	}
	return b.String()
}

// durationKeyRE matches attribute keys that name a duration: the word alone or as the
// last part of the key ("timeout", "took", "retryDelay", "grace_period", "http.latency").
var durationKeyRE = func() *regexp.Regexp {
	words := []string{"timeout", "duration", "took", "elapsed", "latency", "grace", "interval", "delay", "wait", "ttl", "backoff", "period"}
	camel := make([]string, len(words))
	for i, w := range words {
		camel[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	lower := strings.Join(words, "|")
	return regexp.MustCompile(`(?:(?:^|[_.\-])(?i:` + lower + `)|[a-z0-9](?:` + strings.Join(camel, "|") + `|` + strings.ToUpper(lower) + `))$`)
}()

// formatAttr renders one log attribute. The event stream carries a slog time.Duration
// as its nanoseconds (a JSON number), so a whole number under a duration-like key is
// shown as a Go duration ("15s", not "1.5e+10"); other whole numbers print as integers.
func formatAttr(key string, v any) string {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
		return fmt.Sprint(v)
	}
	if durationKeyRE.MatchString(key) {
		return time.Duration(int64(f)).String()
	}
	return strconv.FormatInt(int64(f), 10)
}

// round shortens a duration for display.
func round(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}
