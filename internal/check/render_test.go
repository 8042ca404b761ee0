package check

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"
)

func sampleReport() Report {
	r := Report{SchemaVersion: SchemaVersion, Project: "shop", Dir: "/p/shop", Broker: "nats (embedded)",
		Started: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), Duration: 12300 * time.Millisecond,
		Checks: []Result{
			{Name: TwoModels, Title: "t", Status: Pass, Reason: "2 commands equal", Duration: time.Second},
			{Name: ExternalConfig, Title: "t", Status: Fail, Reason: "1 bridge choice",
				Evidence: []Evidence{{Message: `broker URL "nats://x" <&>`, File: "services/a/v1/service/a.go", Line: 7}}},
			{Name: Stateless, Title: "t", Status: Skip, Reason: "not selected"},
		}}
	r.finish()
	return r
}

// TestJUnit parses the JUnit output against what the Ant/Jenkins junit-4.xsd requires:
// testsuites > testsuite (name, tests, failures, errors, time, timestamp, hostname, id,
// package; properties, testcase*, system-out, system-err in that order) > testcase
// (name, classname, time) with at most one failure or skipped.
func TestJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	type tc struct {
		Name      string     `xml:"name,attr"`
		Classname string     `xml:"classname,attr"`
		Time      string     `xml:"time,attr"`
		Failure   []xml.Name `xml:"failure"`
		Skipped   []xml.Name `xml:"skipped"`
	}
	var doc struct {
		XMLName xml.Name `xml:"testsuites"`
		Suites  []struct {
			Attrs []xml.Attr `xml:",any,attr"`
			Cases []tc       `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, buf.String())
	}
	if !strings.HasPrefix(buf.String(), "<?xml") || len(doc.Suites) != 1 {
		t.Fatalf("want one testsuite under testsuites:\n%s", buf.String())
	}
	s := doc.Suites[0]
	have := map[string]string{}
	for _, a := range s.Attrs {
		have[a.Name.Local] = a.Value
	}
	for _, req := range []string{"name", "tests", "failures", "errors", "time", "timestamp", "hostname", "id", "package"} {
		if _, ok := have[req]; !ok {
			t.Errorf("testsuite lacks attribute %s", req)
		}
	}
	if have["tests"] != "3" || have["failures"] != "1" || have["skipped"] != "1" || have["timestamp"] != "2026-11-25T12:00:00" {
		t.Errorf("counts/timestamp wrong: %v", have)
	}
	var order []string
	dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 3 && (len(order) == 0 || order[len(order)-1] != el.Name.Local) {
				order = append(order, el.Name.Local)
			}
		case xml.EndElement:
			depth--
		}
	}
	if strings.Join(order, ",") != "properties,testcase,system-out,system-err" {
		t.Errorf("element order %v", order)
	}
	tests := []struct {
		name          string
		failure, skip int
	}{{TwoModels, 0, 0}, {ExternalConfig, 1, 0}, {Stateless, 0, 1}}
	for i, tt := range tests {
		c := s.Cases[i]
		if c.Name != tt.name || c.Classname == "" || c.Time == "" || len(c.Failure) != tt.failure || len(c.Skipped) != tt.skip {
			t.Errorf("testcase %d = %+v, want %s with %d failure %d skipped", i, c, tt.name, tt.failure, tt.skip)
		}
	}
}

// TestJSONAndText checks the documented JSON fields and the table.
func TestJSONAndText(t *testing.T) {
	rep := sampleReport()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rep, false); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schemaVersion", "project", "dir", "broker", "passed", "started", "durationMs", "summary", "checks"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, buf.String())
		}
	}
	c := got["checks"].([]any)[1].(map[string]any)
	for _, k := range []string{"name", "title", "status", "reason", "durationMs", "evidence"} {
		if _, ok := c[k]; !ok {
			t.Errorf("check lacks %q", k)
		}
	}
	if got["passed"] != false || c["status"] != "fail" {
		t.Errorf("passed/status wrong: %s", buf.String())
	}
	buf.Reset()
	if err := WriteText(&buf, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CHECK", "FAIL", "services/a/v1/service/a.go:7: broker URL", "1 passed, 1 failed, 1 skipped"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestSelection(t *testing.T) {
	tests := []struct {
		name       string
		only, skip []string
		want       int
		wantErr    bool
		errText    string // in the error, which must then be a usage error
	}{
		{name: "all", want: 6},
		{name: "only", only: []string{Stateless}, want: 1},
		{name: "skip", skip: []string{Stateless, TwoModels}, want: 4},
		{name: "unknown", only: []string{"nope"}, wantErr: true},
		{name: "only and skip cancel", only: []string{ExternalConfig}, skip: []string{ExternalConfig}, wantErr: true,
			errText: "--skip external-config leaves out every check that --only external-config selects"},
		{name: "only partly skipped", only: []string{ExternalConfig, Stateless}, skip: []string{Stateless}, want: 1},
		{name: "only all skipped", only: []string{ExternalConfig, Stateless}, skip: []string{Stateless, TwoModels, ExternalConfig}, wantErr: true,
			errText: "--skip stateless,external-config leaves out every check that --only external-config,stateless selects"},
		{name: "skip all", skip: Names(), wantErr: true, errText: "--skip " + strings.Join(Names(), ",") + " leaves out every check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := selection(tt.only, tt.skip)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil && (!errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.errText)) {
				t.Fatalf("err = %v, want a usage error with %q", err, tt.errText)
			}
			n := 0
			for _, on := range sel {
				if on {
					n++
				}
			}
			if !tt.wantErr && n != tt.want {
				t.Errorf("%d selected, want %d", n, tt.want)
			}
		})
	}
}

// TestLongEvidence checks that evidence is cut only in the table column: the details of
// a failed check, the JSON and the JUnit carry it in full.
func TestLongEvidence(t *testing.T) {
	long := "package-level var seen (map[string]int) is mutable state that a second instance of the service does not share; " +
		"move it into a store the deployment provides, or make it a constant: END-OF-EVIDENCE"
	second := "second line of the evidence"
	rep := sampleReport()
	rep.Checks[1].Evidence = []Evidence{{Message: long + "\n" + second, File: "services/a/v1/service/a.go", Line: 9}}
	tests := []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{name: "text", write: func(b *bytes.Buffer) error { return WriteText(b, rep) }},
		{name: "json", write: func(b *bytes.Buffer) error { return WriteJSON(b, rep, false) }},
		{name: "junit", write: func(b *bytes.Buffer) error { return WriteJUnit(b, rep) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tt.write(&buf); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if !strings.Contains(out, "END-OF-EVIDENCE") || !strings.Contains(out, second) {
				t.Errorf("output lacks the full evidence:\n%s", out)
			}
			if tt.name != "text" {
				return
			}
			table, details, _ := strings.Cut(out, "external-config failed:")
			if strings.Contains(table, "END-OF-EVIDENCE") || !strings.Contains(table, "…") {
				t.Errorf("the table column is not cut:\n%s", table)
			}
			if !strings.Contains(details, "  - services/a/v1/service/a.go:9: "+long+"\n    "+second+"\n") {
				t.Errorf("details do not carry the evidence in full, second line indented:\n%s", details)
			}
		})
	}
}

// TestReasonCounts: reasons say "1 command", "2 commands", and a project without
// cross-service calls is not reported as "0 cross-service calls answer".
func TestReasonCounts(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"one", count(1, "command", "commands"), "1 command"},
		{"several", count(2, "process", "processes"), "2 processes"},
		{"none", count(0, "package", "packages"), "0 packages"},
		{"no calls", timeoutsReason(0, 2), "no cross-service calls to stop a callee of; 2 subscriptions retry"},
		{"one call, one subscription", timeoutsReason(1, 1),
			"1 cross-service call answers in bounded time with the callee stopped; 1 subscription retries"},
		{"several calls, no subscription", timeoutsReason(3, 0),
			"3 cross-service calls answer in bounded time with the callee stopped; 0 subscriptions retry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
