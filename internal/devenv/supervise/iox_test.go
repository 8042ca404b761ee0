package supervise

import "testing"

// TestTailBufferWholeLines: once the front of a process's stderr was dropped, the
// tail starts at a whole line.
func TestTailBufferWholeLines(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		writes []string
		want   string
	}{
		{"fits", 100, []string{"a\n", "b\n"}, "a\nb\n"},
		{"cut mid-line drops the partial line", 10, []string{"first line\n", "second\n", "third\n"}, "third\n"},
		{"cut at a line start keeps the line", 13, []string{"aaaa\n", "second\n", "third\n"}, "second\nthird\n"},
		{"one long line without newline is kept", 4, []string{"abcdefgh"}, "efgh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := &tailBuffer{max: tt.max}
			for _, w := range tt.writes {
				_, _ = tb.Write([]byte(w))
			}
			if got := tb.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
