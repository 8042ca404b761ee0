package ui

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
)

// TestKeyMapDrivesKeysFooterAndHelp: a key rebound in the KeyMap changes what the key
// does, the footer and the help screen at once (the bindings are defined once).
func TestKeyMapDrivesKeysFooterAndHelp(t *testing.T) {
	tests := []struct {
		name    string
		rebind  func(*KeyMap)
		press   string
		old     string
		footer  string
		help    string
		opens   func(Model) bool
		oldGone bool
	}{
		{"invoke on n", func(k *KeyMap) { k.Invoke.SetKeys("n"); k.Invoke.SetHelp("n", "invoke a command") }, "n", "i",
			"n invoke", "  n ", func(m Model) bool { return m.dialog != nil }, true},
		{"help on h", func(k *KeyMap) { k.Help.SetKeys("h"); k.Help.SetHelp("h", "this help (any key closes it)") }, "h", "?",
			"h help", "  h ", func(m Model) bool { return m.help }, true},
		{"follow disabled", func(k *KeyMap) { k.Follow.SetEnabled(false) }, "f", "f",
			"", "", func(m Model) bool { return !m.follow }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := signupModel(t, &fakeInvoker{})
			tt.rebind(&m.keys)
			footer := lastLine(screen(m))
			if tt.footer != "" && !strings.Contains(footer, tt.footer) {
				t.Errorf("footer %q lacks %q", footer, tt.footer)
			}
			if tt.footer == "" && strings.Contains(footer, "follow") {
				t.Errorf("footer %q shows the disabled binding", footer)
			}
			if tt.help != "" && !strings.Contains(m.helpScreen(), tt.help) {
				t.Errorf("help screen lacks %q:\n%s", tt.help, m.helpScreen())
			}
			if tt.oldGone && tt.opens(send(t, m, press(tt.old))) {
				t.Errorf("the old key %q still works", tt.old)
			}
			if got := tt.opens(send(t, m, press(tt.press))); got == !tt.oldGone {
				t.Errorf("after %q: effect %v, want %v", tt.press, got, tt.oldGone)
			}
		})
	}
}

// TestHelpListsEveryKey: every key of every binding of the KeyMap is on the help
// screen, so that no key works without being documented.
func TestHelpListsEveryKey(t *testing.T) {
	m := signupModel(t, nil)
	help := m.helpScreen()
	shown := map[string]string{"up": "↑", "down": "↓"}
	v := reflect.ValueOf(m.keys)
	for i := range v.NumField() {
		b := v.Field(i).Interface().(key.Binding)
		for _, k := range b.Keys() {
			label := k
			if s, ok := shown[k]; ok {
				label = s
			}
			re := regexp.MustCompile(`(^|[\s/(])` + regexp.QuoteMeta(label) + `($|[\s/,)])`)
			if !re.MatchString(help) {
				t.Errorf("%s: key %q (%q) is not on the help screen:\n%s", v.Type().Field(i).Name, k, label, help)
			}
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
