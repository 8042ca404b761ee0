package app

import (
	"strings"
	"testing"
)

func TestOpenEventsRejects(t *testing.T) {
	tests := []struct{ dest, want string }{
		{"fd:987", "is not open in this process"},
		{"fd:zero", "use fd:N"},
		{"fd:0", "use fd:N"},
		{t.TempDir() + "/missing/dir/events.jsonl", "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.dest, func(t *testing.T) {
			w, closeFn, err := openEvents(tt.dest)
			if err == nil {
				closeFn()
				t.Fatalf("openEvents(%q) = %v, nil; want an error", tt.dest, w)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("openEvents(%q) error %q, want it to say %q", tt.dest, err, tt.want)
			}
		})
	}
}
