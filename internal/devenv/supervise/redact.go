package supervise

import (
	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/pkg/framework/app"
)

// redactor keeps the credentials of the broker URL out of everything `purista dev`
// shows: the TUI and the headless printer both draw only what reaches the runner's Sink,
// and the CLI prints Run's error. The app scrubs its own output already; this is the
// second line of defence for what a process writes that the app does not control (a
// panic, a library writing to stderr) and for the runner's own messages.
type redactor struct {
	app.Redactor // the broker URL's credentials; none: nothing to do
}

// newRedactor returns the redactor for bridgeURL.
func newRedactor(bridgeURL string) redactor { return redactor{app.NewRedactor(bridgeURL)} }

// text returns s without the URL's credentials.
func (r redactor) text(s string) string {
	if !r.Active() || s == "" {
		return s
	}
	return r.Text(s)
}

// err returns err with the URL's credentials scrubbed from its message (errors.Is and
// errors.As still see the original).
func (r redactor) err(err error) error { return r.Error(err) }

// sink returns next, wrapped so that every runner message it receives is scrubbed.
func (r redactor) sink(next func(any)) func(any) {
	if !r.Active() {
		return next
	}
	return func(msg any) { next(r.msg(msg)) }
}

// msg returns msg with the credentials removed from every text it carries.
func (r redactor) msg(msg any) any {
	switch m := msg.(type) {
	case devmsg.UnitEventMsg:
		e := m.Event
		e.Message = r.text(e.Message)
		if e.Attrs != nil {
			attrs := make(map[string]any, len(e.Attrs))
			for k, v := range e.Attrs {
				attrs[k] = r.value(v)
			}
			e.Attrs = attrs
		}
		if e.Record != nil {
			rec := *e.Record
			rec.Error = r.text(rec.Error)
			e.Record = &rec
		}
		m.Event = e
		return m
	case devmsg.UnitStateMsg:
		m.Err = r.text(m.Err)
		return m
	case devmsg.HealthMsg:
		m.Err = r.text(m.Err)
		return m
	case devmsg.BuildMsg:
		m.Err = r.text(m.Err)
		return m
	case devmsg.InfoMsg:
		m.Text = r.text(m.Text)
		return m
	}
	return msg
}

// value scrubs the strings of a decoded JSON value (an event's attribute).
func (r redactor) value(v any) any {
	switch x := v.(type) {
	case string:
		return r.text(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = r.value(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = r.value(e)
		}
		return out
	}
	return v
}
