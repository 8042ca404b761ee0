package check

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files from the output")

// volatile are the parts of a report that change from run to run, with what replaces
// them, in order: ports, durations, temporary paths, instance ids, load counts, the
// bridge's error text.
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(127\.0\.0\.1|localhost|\[::1\]):\d+`), "$1:PORT"},
	{regexp.MustCompile(`\b(\d+(\.\d+)?(ns|µs|ms|h|m|s))+\b`), "DUR"},
	{regexp.MustCompile(`(/tmp|/var/folders)/\S+`), "TMP"},
	{regexp.MustCompile(`\b[0-9a-f]{32}\b`), "ID"},
	{regexp.MustCompile(`\d+ calls answered during the load, \d+ refused`), "N calls answered during the load, N refused"},
	{regexp.MustCompile(`(unavailable DUR after the cut: ).*`), "${1}BRIDGE ERROR"}, // the client library's words
}

// normalised returns r with what changes from run to run replaced by fixed values, so
// that its rendering can be compared with a golden file.
func normalised(r Report) Report {
	scrub := func(s string) string {
		for _, v := range volatile {
			s = v.re.ReplaceAllString(s, v.with)
		}
		return s
	}
	r.Dir = "/path/to/" + r.Project
	r.Started = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r.Duration = 12300 * time.Millisecond
	r.Checks = append([]Result(nil), r.Checks...)
	for i := range r.Checks {
		c := &r.Checks[i]
		c.Reason = scrub(c.Reason)
		c.Duration = 0
		if c.Status != Skip {
			c.Duration = 1500 * time.Millisecond
		}
		ev := make([]Evidence, len(c.Evidence))
		for j, e := range c.Evidence {
			e.Message = scrub(e.Message)
			ev[j] = e
		}
		c.Evidence = ev
	}
	return r
}

// compareGolden renders the normalised report as text and as JSON and compares each
// with testdata/<name>.text.golden and testdata/<name>.json.golden (-update rewrites
// them), so that a change of layout shows in review.
func compareGolden(t *testing.T, name string, r Report) {
	t.Helper()
	r = normalised(r)
	var text, js bytes.Buffer
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, r, true); err != nil {
		t.Fatal(err)
	}
	for file, got := range map[string][]byte{name + ".text.golden": text.Bytes(), name + ".json.golden": js.Bytes()} {
		path := filepath.Join("testdata", file)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the output (go test -run %s -update rewrites it):\n--- want\n%s\n--- got\n%s", path, t.Name(), want, got)
		}
	}
}

// TestGolden compares the text and JSON of reports with every kind of result (pass, a
// failure with a place and multi-line evidence, skip, a row cut at 120 characters) with
// their golden files.
func TestGolden(t *testing.T) {
	r := Report{SchemaVersion: SchemaVersion, Project: "shop", Dir: "/p/shop", Broker: "amqp amqp://xxxxx@127.0.0.1:5672/",
		Checks: []Result{
			{Name: TwoModels, Title: "the same binary runs as a monolith and as one process per service with equal results", Status: Fail,
				Reason: "Orders v1 place: output field id differs between calls: if that is meant (a random id, a time stamp), " +
					"declare it in purista.yaml: check: {nondeterministic: {Orders.place: [id]}}",
				Evidence: []Evidence{
					{Message: `Orders v1 place gives different results: monolith (memory) {"id":"a"}, one process per service (amqp) {"id":"b"}`},
					{Message: `Orders v1 list: {"items":[]} in both models`}}},
			{Name: ExternalConfig, Title: "bridge configuration is external", Status: Fail, Reason: "1 bridge choices in service code",
				Evidence: []Evidence{{Message: "broker URL \"nats://127.0.0.1:4222\" hard-coded in service Orders\nsecond line", File: "services/orders/v1/service/service.go", Line: 13}}},
			{Name: Stateless, Title: "services are stateless", Status: Pass,
				Reason:   "no package-level mutable state in 2 packages; 2 instances agree on 2 commands",
				Evidence: []Evidence{{Message: `Orders v1 place: 4 calls over 2 instances all answered {"id":"(nondeterministic)"}`}}},
			{Name: TimeoutsAndRetries, Title: "bounded timeouts", Status: Fail,
				Reason: "endless retry loop ignoring cancellation: with the callee stopped, a caller's handler outlived its answer and held up shutdown",
				Evidence: []Evidence{{File: "services/orders/v1/service/service.go", Line: 40,
					Message: "with Stock stopped, the process of Orders kept a handler running after every call had its answer, and exited with code 1 5.004s after SIGTERM"}}},
			{Name: GracefulShutdown, Title: "SIGTERM under load", Status: Skip, Reason: "not selected (--only/--skip)"},
			{Name: HealthConnectivity, Title: "health reports the broker connection", Status: Pass,
				Reason: "readyz follows the broker connection: unavailable when cut, ok when restored"},
		}}
	r.finish()
	compareGolden(t, "sample", r)
}
