package headless

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/project"
)

// TestServicesMsgPrinted: the headless output (text and JSON) follows a ServicesMsg.
func TestServicesMsgPrinted(t *testing.T) {
	change := devmsg.ServicesMsg{
		Services: []project.Service{{Name: "User", Version: "1"}, {Name: "Shipping", Version: "1"}},
		Added:    []string{"Shipping v1"}, Removed: []string{"Email v1"},
	}
	var text, lines strings.Builder
	NewPrinter(&text, Options{Units: []string{devmsg.MonolithUnit}}).Sink(change)
	if want := "dev  | services changed (added Shipping v1; removed Email v1): now User, Shipping\n"; text.String() != want {
		t.Errorf("headless line %q, want %q", text.String(), want)
	}
	c := change
	c.Units = []string{devmsg.MonolithUnit}
	NewPrinter(&lines, Options{JSON: true}).Sink(c)
	var got map[string]any
	if err := json.Unmarshal([]byte(lines.String()), &got); err != nil {
		t.Fatalf("JSON line %q: %v", lines.String(), err)
	}
	if got["kind"] != "services" || fmt.Sprint(got["services"]) != "[map[name:User version:1] map[name:Shipping version:1]]" ||
		fmt.Sprint(got["added"]) != "[Shipping v1]" || fmt.Sprint(got["removed"]) != "[Email v1]" || fmt.Sprint(got["units"]) != "[app]" {
		t.Errorf("JSON line %s", lines.String())
	}
}
