package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/memory"
)

// TestObserverRecords: the event stream gets one record line per handled command, in
// the order the handlers finish.
func TestObserverRecords(t *testing.T) {
	var buf logBuffer
	rt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{echoService(), relayService()},
		WithObserver(newEventStream(&buf)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	if _, err := relay.Invoke(rt.Client(context.Background()), echoIn{Text: "o"}); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var l StreamLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		kinds = append(kinds, l.Type+" "+l.Record.From.ServiceName+"->"+l.Record.To.ServiceName)
	}
	if got := strings.Join(kinds, ","); got != "record Relay->Echo,record client->Relay" {
		t.Fatalf("records %v", got)
	}
}
