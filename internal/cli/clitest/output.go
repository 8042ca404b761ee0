package clitest

import (
	"strings"
	"testing"
)

// Contains fails t for each of wants that got (the stream called name) lacks.
func Contains(t *testing.T, name, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s %q lacks %q", name, got, w)
		}
	}
}
