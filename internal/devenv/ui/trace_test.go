package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/devenv/traces"
	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/pkg/framework/app"
)

// goldenSpan is a span of trace id from goldenT0 + startµs, lasting durµs, recorded by
// the monolith ("signup").
func goldenSpan(trace, id, parent, name, kind string, startµs, durµs int, attrs ...string) traces.Span {
	s := traces.Span{TraceID: trace, SpanID: id, ParentID: parent, Name: name, Kind: kind, Resource: "signup",
		Start: goldenT0.Add(time.Duration(startµs) * time.Microsecond), End: goldenT0.Add(time.Duration(startµs+durµs) * time.Microsecond),
		Attrs: map[string]string{"purista.trace_id": trace}}
	for i := 0; i+1 < len(attrs); i += 2 {
		s.Attrs[attrs[i]] = attrs[i+1]
	}
	return s
}

const (
	traceOK  = "4bf92f3577b34da6a3ce929d0e0e4736"
	traceBad = "00f067aa0ba902b7a3ce929d0e0e4736"
)

// goldenSpans are the spans of goldenModel's two traces: a sign-up over HTTP (the
// server span of the request is the root) that calls Email.sendWelcome, emits
// userAudit and whose success event reaches onUserSignedUp, and one from the invoke
// dialog whose nested call failed.
func goldenSpans() []traces.Span {
	return []traces.Span{
		// out of order on purpose: the consumer first, the root last
		goldenSpan(traceOK, "f", "b", "process userSignedUp", "consumer", 1400, 40, "messaging.destination.subscription.name", "onUserSignedUp"),
		goldenSpan(traceOK, "c", "b", "Email.v1/sendWelcome", "client", 100, 330, "rpc.method", "Email.v1/sendWelcome"),
		goldenSpan(traceOK, "d", "c", "Email.v1/sendWelcome", "server", 120, 310, "rpc.method", "Email.v1/sendWelcome"),
		goldenSpan(traceOK, "e", "b", "send userAudit", "producer", 500, 20),
		goldenSpan(traceOK, "b", "a", "User.v1/signUp", "server", 20, 1380, "rpc.method", "User.v1/signUp"),
		goldenSpan(traceOK, "a", "h", "User.v1/signUp", "client", 0, 1450, "rpc.method", "User.v1/signUp"),
		goldenSpan(traceOK, "h", "", "POST /api/User/v1/signUp", "server", 0, 1500, "http.request.method", "POST",
			"http.route", "/api/User/v1/signUp", "http.response.status_code", "200"),

		goldenSpan(traceBad, "1", "", "User.v1/signUp", "client", 5000, 800, "rpc.method", "User.v1/signUp"),
		goldenSpan(traceBad, "2", "1", "User.v1/signUp", "server", 5010, 780, "rpc.method", "User.v1/signUp", "purista.status", "422"),
		func() traces.Span {
			s := goldenSpan(traceBad, "3", "2", "Email.v1/sendWelcome", "client", 5100, 600, "rpc.method", "Email.v1/sendWelcome", "purista.status", "500")
			s.Error, s.Message = true, "Internal Server Error"
			return s
		}(),
		func() traces.Span { // its parent (the server span in the Email process) never came
			s := goldenSpan(traceBad, "5", "4", "send emailFailed", "producer", 5200, 10)
			s.Resource = "Email"
			return s
		}(),
	}
}

// w3cSpans are the sign-up's spans in a W3C trace whose id differs from PURISTA's
// traceId (which the spans carry as purista.trace_id).
func w3cSpans() []traces.Span {
	spans := goldenSpans()[:7]
	for i := range spans {
		spans[i].TraceID = "0af7651916cd43dd8448eb211c80319c"
	}
	return spans
}

// traceModel is goldenModel with a trace store holding spans, plus the subscription
// record that tells the trace view onUserSignedUp's service.
func traceModel(t *testing.T, c *clock, spans []traces.Span) Model {
	t.Helper()
	m := goldenModel(t, c)
	store := traces.NewStore(0, 0)
	store.Add(spans)
	m.opts.Traces = store
	return m
}

// TestTraceScreens renders the trace view at fixed sizes with fixed spans and compares
// it with testdata/trace-*.golden.
func TestTraceScreens(t *testing.T) {
	sub := RunnerMsg{devmsg.UnitEventMsg{Unit: devmsg.MonolithUnit, Event: runtime.Event{Type: "record",
		Time: goldenT0.Add(2 * time.Millisecond), Record: &app.Record{Kind: "subscription", From: addr("User", "signUp"),
			To: addr("Email", "onUserSignedUp"), EventName: "userSignedUp", Status: 200, Latency: 40 * time.Microsecond, TraceID: traceOK}}}}
	tests := []struct {
		name  string
		spans []traces.Span
		msgs  []tea.Msg
	}{
		// tab selects the newest message (the refused sign-up); up the one before it
		{"messages-selected", goldenSpans(), []tea.Msg{sub, press("tab"), press("up"), press("up")}},
		{"trace-waterfall", goldenSpans(), []tea.Msg{sub, press("tab"), press("up"), press("up"), press("t")}},
		{"trace-error", goldenSpans(), []tea.Msg{sub, press("tab"), press("enter")}},
		// the status (its word at least) and the duration win over the bar and the names
		{"trace-error-60", goldenSpans(), []tea.Msg{tea.WindowSizeMsg{Width: 60, Height: 10}, sub, press("tab"), press("enter")}},
		{"trace-error-40", goldenSpans(), []tea.Msg{tea.WindowSizeMsg{Width: 40, Height: 10}, sub, press("tab"), press("enter")}},
		{"trace-ok-40", goldenSpans(), []tea.Msg{tea.WindowSizeMsg{Width: 40, Height: 12}, sub, press("tab"), press("up"), press("up"), press("t")}},
		{"trace-newest-without-selection", goldenSpans(), []tea.Msg{press("t")}},
		{"trace-waiting", nil, []tea.Msg{press("t")}},
		{"trace-narrow", goldenSpans(), []tea.Msg{tea.WindowSizeMsg{Width: 60, Height: 12}, sub, press("tab"), press("up"), press("up"), press("t")}},
		{"trace-scrolled", goldenSpans(), []tea.Msg{tea.WindowSizeMsg{Width: 100, Height: 6}, sub, press("tab"), press("up"), press("up"),
			press("t"), press("down"), press("down"), press("down"), press("down"), press("down"), press("up")}},
		{"trace-off", nil, []tea.Msg{press("t")}},
		// a chain started by TypeScript PURISTA: its W3C trace id is not the traceId
		{"trace-w3c-differs", w3cSpans(), []tea.Msg{sub, press("tab"), press("up"), press("up"), press("t")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: goldenT0.Add(time.Minute)}
			m := traceModel(t, c, tt.spans)
			if tt.name == "trace-off" {
				m.opts.Traces = nil
			}
			m = send(t, m, tt.msgs...)
			checkGolden(t, tt.name, screen(m))
		})
	}
}

// TestTraceFillsIn: a trace view opened before its spans arrive fills in as they come
// (TracesMsg), and esc goes back to the main screen with the selection kept.
func TestTraceFillsIn(t *testing.T) {
	c := &clock{t: goldenT0.Add(time.Minute)}
	m := traceModel(t, c, nil)
	m = send(t, m, press("tab"), press("up"), press("t"))
	if s := screen(m); !strings.Contains(s, "waiting for the spans") || !strings.Contains(s, "Trace "+traceOK) {
		t.Fatalf("before the spans:\n%s", s)
	}
	spans := goldenSpans()
	m.opts.Traces.Add(spans[:1]) // the consumer alone: its parent has not come
	m = send(t, m, TracesMsg{})
	if s := screen(m); !strings.Contains(s, "⋯ process userSignedUp") || !strings.Contains(s, "1 spans") {
		t.Fatalf("after the first span:\n%s", s)
	}
	m.opts.Traces.Add(spans)
	m = send(t, m, TracesMsg{})
	s := screen(m)
	for _, want := range []string{"7 spans · 1.50ms", "  POST /api/User/v1/signUp", "    User.v1/signUp", "        Email.v1/sendWelcome", "    process userSignedUp"} {
		if !strings.Contains(s, want) {
			t.Errorf("after every span, no %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "⋯") {
		t.Errorf("a span still shows as orphan:\n%s", s)
	}
	m = send(t, m, press("esc"))
	if s := screen(m); !strings.Contains(s, "▸ 10:00:00.086 command User.signUp → Email.sendWelcome") {
		t.Errorf("esc did not go back to the selected message:\n%s", s)
	}
	m = send(t, m, press("tab"))
	if s := screen(m); strings.Contains(s, "▸") {
		t.Errorf("tab did not give the selection back to the processes:\n%s", s)
	}
}

func TestWaterfallBar(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		off, d, total time.Duration
		width         int
		want          string
	}{
		{0, 10 * ms, 10 * ms, 10, "██████████"},
		{5 * ms, 5 * ms, 10 * ms, 10, "·····█████"},
		{0, 0, 10 * ms, 4, "█···"},
		{10 * ms, 0, 10 * ms, 4, "···█"},
		{2 * ms, 1 * ms, 10 * ms, 10, "··█·······"},
		{0, 0, 0, 3, "███"},
	}
	for _, tt := range tests {
		if got := waterfallBar(tt.off, tt.d, tt.total, tt.width); got != tt.want {
			t.Errorf("waterfallBar(%v, %v, %v, %d) = %q, want %q", tt.off, tt.d, tt.total, tt.width, got, tt.want)
		}
	}
}

func TestDurationText(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0ns"},
		{850 * time.Nanosecond, "850ns"},
		{4 * time.Microsecond, "4.00µs"},
		{850 * time.Microsecond, "850µs"},
		{999_600 * time.Nanosecond, "1.00ms"},
		{4 * time.Millisecond, "4.00ms"},
		{3440 * time.Microsecond, "3.44ms"},
		{6800 * time.Microsecond, "6.80ms"},
		{9996 * time.Microsecond, "10.0ms"},
		{12_340 * time.Microsecond, "12.3ms"},
		{123_400 * time.Microsecond, "123ms"},
		{1450 * time.Millisecond, "1.45s"},
		{20 * time.Minute, "1200s"},
	}
	for _, tt := range tests {
		if got := durationText(tt.d); got != tt.want {
			t.Errorf("durationText(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestColumnsFor: a row fits the window from 40 columns on, the status column keeps at
// least the status word and at most statusCap cells, and the bar shrinks before the
// status does.
func TestColumnsFor(t *testing.T) {
	tests := []struct {
		width, name, status, word int
		wantBar, wantStatus       int
	}{
		{140, 28, 2, 2, 66, 6},
		{100, 20, 32, 9, 18, statusCap},
		{100, 28, 32, 9, 15, statusCap},
		{60, 28, 32, 9, barMin, 9},
		{60, 28, 2, 2, barMin, 6},
		{40, 28, 32, 9, 0, 9},
		{40, 28, 2, 2, 0, 6},
	}
	for _, tt := range tests {
		c := columnsFor(tt.width, tt.name, tt.status, tt.word)
		if c.width() != tt.width || c.bar != tt.wantBar || c.status != tt.wantStatus || c.dur != durWidth {
			t.Errorf("columnsFor(%d, %d, %d, %d) = %+v (%d cells), want %d cells, bar %d, status %d, duration %d",
				tt.width, tt.name, tt.status, tt.word, c, c.width(), tt.width, tt.wantBar, tt.wantStatus, durWidth)
		}
	}
}
