package traces

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)

// sp is a span of trace "t1" from ms to ms+dur milliseconds.
func sp(id, parent, name, kind string, ms, dur int, attrs ...string) Span {
	s := Span{TraceID: "t1", SpanID: id, ParentID: parent, Name: name, Kind: kind, Resource: "signup",
		Start: t0.Add(time.Duration(ms) * time.Millisecond), End: t0.Add(time.Duration(ms+dur) * time.Millisecond), Attrs: map[string]string{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		s.Attrs[attrs[i]] = attrs[i+1]
	}
	return s
}

// outline renders rows as "depth-indented name (service)[ orphan]" lines.
func outline(rows []Row) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%s%s (%s)", strings.Repeat("  ", r.Depth), r.Name, r.Service)
		if r.Orphan {
			b.WriteString(" orphan")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestTree(t *testing.T) {
	signup := []Span{
		sp("a", "", "User.v1/signUp", "client", 0, 10, "rpc.method", "User.v1/signUp"),
		sp("b", "a", "User.v1/signUp", "server", 1, 8, "rpc.method", "User.v1/signUp"),
		sp("c", "b", "Email.v1/sendWelcome", "client", 2, 3, "rpc.method", "Email.v1/sendWelcome"),
		sp("d", "c", "Email.v1/sendWelcome", "server", 3, 1, "rpc.method", "Email.v1/sendWelcome"),
		sp("e", "b", "send userAudit", "producer", 6, 1),
		sp("f", "b", "process userSignedUp", "consumer", 9, 2, "messaging.destination.subscription.name", "onUserSignedUp"),
	}
	const want = `User.v1/signUp (signup)
  User.v1/signUp (User)
    Email.v1/sendWelcome (User)
      Email.v1/sendWelcome (Email)
    send userAudit (User)
    process userSignedUp (Email)
`
	reversed := make([]Span, len(signup))
	for i, s := range signup {
		reversed[len(signup)-1-i] = s
	}
	subs := map[string]string{"onUserSignedUp": "Email"}
	tests := []struct {
		name  string
		spans []Span
		subs  map[string]string
		want  string
	}{
		{"in order", signup, subs, want},
		{"out of order", reversed, subs, want},
		{"consumer without a known subscription: the resource's service", signup, nil,
			strings.Replace(want, "process userSignedUp (Email)", "process userSignedUp (signup)", 1)},
		{"missing parent: the child is a root, marked", []Span{signup[0], signup[3], signup[5]}, subs,
			"User.v1/signUp (signup)\nEmail.v1/sendWelcome (Email) orphan\nprocess userSignedUp (Email) orphan\n"},
		{"siblings that start together: by name", []Span{sp("x", "", "b", "internal", 0, 1), sp("y", "", "a", "internal", 0, 1)}, nil,
			"a (signup)\nb (signup)\n"},
		{"a cycle of parent ids shows every span once", []Span{sp("x", "y", "x", "internal", 0, 1), sp("y", "x", "y", "internal", 1, 1)}, nil,
			"x (signup) orphan\n  y (signup)\n"},
		{"own parent", []Span{sp("x", "x", "x", "internal", 0, 1)}, nil, "x (signup) orphan\n"},
		{"server span with an odd rpc.method: the resource", []Span{sp("x", "", "odd", "server", 0, 1, "rpc.method", "odd")}, nil, "odd (signup)\n"},
		{"empty", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := outline(Tree(tt.spans, tt.subs)); got != tt.want {
				t.Errorf("Tree:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestBounds(t *testing.T) {
	rows := Tree([]Span{sp("a", "", "a", "", 5, 10), sp("b", "a", "b", "", 2, 30)}, nil)
	start, end := Bounds(rows)
	if !start.Equal(t0.Add(2*time.Millisecond)) || !end.Equal(t0.Add(32*time.Millisecond)) {
		t.Errorf("Bounds = %v, %v", start, end)
	}
}

func TestStore(t *testing.T) {
	withTrace := func(s Span, trace, ptid string) Span {
		s.TraceID = trace
		if ptid != "" {
			s.Attrs = map[string]string{"purista.trace_id": ptid}
		}
		return s
	}
	tests := []struct {
		name      string
		maxTraces int
		maxSpans  int
		adds      [][]Span
		lookup    string
		wantIDs   string // span ids found, sorted by Tree
		wantDrop  int
		wantLen   int
	}{
		{"by W3C trace id", 0, 0, [][]Span{{withTrace(sp("a", "", "a", "", 0, 1), "w1", "p1")}}, "w1", "a", 0, 1},
		{"by PURISTA traceId, across W3C traces", 0, 0, [][]Span{
			{withTrace(sp("a", "", "a", "", 0, 1), "w1", "p1")},
			{withTrace(sp("b", "", "b", "", 1, 1), "w2", "p1"), withTrace(sp("c", "", "c", "", 2, 1), "w3", "p2")}}, "p1", "a b", 0, 3},
		{"a PURISTA traceId is matched exactly", 0, 0, [][]Span{{withTrace(sp("a", "", "a", "", 0, 1), "w1", "Order-42")}}, "Order-42", "a", 0, 1},
		{"upper case id", 0, 0, [][]Span{{withTrace(sp("a", "", "a", "", 0, 1), "w1", "")}}, " W1 ", "a", 0, 1},
		{"a span sent twice is kept once", 0, 0, [][]Span{{withTrace(sp("a", "", "a", "", 0, 1), "w1", "")}, {withTrace(sp("a", "", "a", "", 0, 1), "w1", "")}}, "w1", "a", 0, 1},
		{"spans beyond the cap are dropped and counted", 0, 2, [][]Span{{withTrace(sp("a", "", "a", "", 0, 1), "w1", ""),
			withTrace(sp("b", "", "b", "", 1, 1), "w1", ""), withTrace(sp("c", "", "c", "", 2, 1), "w1", "")}}, "w1", "a b", 1, 1},
		{"the oldest trace goes first", 2, 0, [][]Span{{withTrace(sp("a", "", "a", "", 0, 1), "w1", "p1")},
			{withTrace(sp("b", "", "b", "", 1, 1), "w2", "")}, {withTrace(sp("c", "", "c", "", 2, 1), "w3", "")}}, "p1", "", 0, 2},
		{"a newer trace stays", 2, 0, [][]Span{{withTrace(sp("a", "", "a", "", 0, 1), "w1", "p1")},
			{withTrace(sp("b", "", "b", "", 1, 1), "w2", "")}, {withTrace(sp("c", "", "c", "", 2, 1), "w3", "")}}, "w3", "c", 0, 2},
		{"spans without ids are ignored", 0, 0, [][]Span{{withTrace(sp("", "", "a", "", 0, 1), "w1", "")}}, "w1", "", 0, 0},
		{"unknown id", 0, 0, [][]Span{{withTrace(sp("a", "", "a", "", 0, 1), "w1", "")}}, "nope", "", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(tt.maxTraces, tt.maxSpans)
			v := s.Version()
			for _, a := range tt.adds {
				s.Add(a)
			}
			spans, dropped := s.Lookup(tt.lookup)
			var ids []string
			for _, r := range Tree(spans, nil) {
				ids = append(ids, r.SpanID)
			}
			if got := strings.Join(ids, " "); got != tt.wantIDs || dropped != tt.wantDrop {
				t.Errorf("Lookup(%q) = %q dropped %d, want %q dropped %d", tt.lookup, got, dropped, tt.wantIDs, tt.wantDrop)
			}
			if s.Len() != tt.wantLen {
				t.Errorf("Len = %d, want %d", s.Len(), tt.wantLen)
			}
			if tt.wantLen > 0 && s.Version() == v {
				t.Error("Version did not change after Add")
			}
		})
	}
}

func TestStoreAddReturnsChanged(t *testing.T) {
	s := NewStore(0, 0)
	a := sp("a", "", "a", "", 0, 1)
	if got := s.Add([]Span{a, sp("b", "a", "b", "", 0, 1)}); strings.Join(got, ",") != "t1" {
		t.Errorf("Add = %v, want [t1]", got)
	}
	if got := s.Add([]Span{a}); len(got) != 0 {
		t.Errorf("Add of a span held = %v, want none", got)
	}
}

func TestUserConfigured(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{nil, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "console"}, "OTEL_TRACES_EXPORTER"},
		{map[string]string{"OTEL_SDK_DISABLED": "true"}, "OTEL_SDK_DISABLED"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t/v1/traces", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{map[string]string{"OTEL_SERVICE_NAME": "x", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, ""},
	}
	for _, tt := range tests {
		if got := UserConfigured(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("UserConfigured(%v) = %q, want %q", tt.env, got, tt.want)
		}
	}
}
