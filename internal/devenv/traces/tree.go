package traces

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Row is one line of a waterfall: a span, how deep it sits under its root, and the
// service it belongs to.
type Row struct {
	Span
	// Depth is 0 for a root, 1 for its children, and so on.
	Depth int
	// Orphan is set on a root whose parent span has not been received (yet): a span of
	// a process that exports later, or of a caller outside dev.
	Orphan bool
	// Service is the PURISTA service the span belongs to (see Tree).
	Service string
}

// Tree arranges the spans of a trace as a waterfall: every root (a span without a
// parent, or whose parent is not among spans) followed by its descendants, depth first,
// siblings ordered by start time. Spans may come in any order.
//
// A row's Service is the service of the handler the span ran in, which the resource's
// service.name does not tell when one process runs several services (the monolith): a
// server span's is the service of its rpc.method, a consumer span's that of its
// subscription in subscriptions (subscription name → service, when known), any other
// span's that of its parent; without one of these, the resource's service.name.
func Tree(spans []Span, subscriptions map[string]string) []Row {
	byID := make(map[string]Span, len(spans))
	for _, s := range spans {
		byID[s.SpanID] = s
	}
	children := map[string][]Span{}
	var roots []Span
	for _, s := range byID {
		if _, ok := byID[s.ParentID]; ok && s.ParentID != s.SpanID {
			children[s.ParentID] = append(children[s.ParentID], s)
		} else {
			roots = append(roots, s)
		}
	}
	rows := make([]Row, 0, len(byID))
	seen := make(map[string]bool, len(byID))
	var walk func(s Span, depth int, parentService string)
	walk = func(s Span, depth int, parentService string) {
		if seen[s.SpanID] {
			return // a cycle of parent ids: each span shows once
		}
		seen[s.SpanID] = true
		r := Row{Span: s, Depth: depth, Orphan: depth == 0 && s.ParentID != "", Service: serviceOf(s, parentService, subscriptions)}
		rows = append(rows, r)
		kids := children[s.SpanID]
		sortSpans(kids)
		for _, k := range kids {
			walk(k, depth+1, r.Service)
		}
	}
	sortSpans(roots)
	for _, r := range roots {
		walk(r, 0, "")
	}
	// Spans on a cycle of parent ids have no root: show them at the top level.
	rest := make([]Span, 0)
	for _, s := range byID {
		if !seen[s.SpanID] {
			rest = append(rest, s)
		}
	}
	sortSpans(rest)
	for _, s := range rest {
		walk(s, 0, "")
	}
	return rows
}

// sortSpans orders spans by start time, then name and span id (a stable order for
// spans that start together).
func sortSpans(spans []Span) {
	slices.SortFunc(spans, func(a, b Span) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Name, b.Name), cmp.Compare(a.SpanID, b.SpanID))
	})
}

// serviceOf is the service a span belongs to (see Tree).
func serviceOf(s Span, parentService string, subscriptions map[string]string) string {
	switch {
	case s.Kind == "server" && s.Attrs["rpc.method"] != "":
		if svc, ok := methodService(s.Attrs["rpc.method"]); ok {
			return svc
		}
	case s.Kind == "consumer":
		if svc := subscriptions[s.Attrs["messaging.destination.subscription.name"]]; svc != "" {
			return svc
		}
		return s.Resource
	case parentService != "":
		return parentService
	}
	return s.Resource
}

// methodService returns the service of an rpc.method "<service>.v<version>/<command>".
func methodService(method string) (string, bool) {
	head, _, ok := strings.Cut(method, "/")
	if !ok {
		return "", false
	}
	i := strings.LastIndex(head, ".v")
	if i <= 0 {
		return "", false
	}
	return head[:i], true
}

// Bounds returns the earliest start and the latest end of rows (zero times for none).
func Bounds(rows []Row) (start, end time.Time) {
	for i, r := range rows {
		if i == 0 || r.Start.Before(start) {
			start = r.Start
		}
		if i == 0 || r.End.After(end) {
			end = r.End
		}
	}
	return start, end
}
