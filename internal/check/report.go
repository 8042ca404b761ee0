package check

import (
	"encoding/json"
	"strconv"
	"time"
)

// SchemaVersion is the version of the JSON report (Report.SchemaVersion). It changes only
// when a field is removed or changes meaning; new fields may be added at any time.
const SchemaVersion = 1

// Status is the outcome of one check.
type Status string

// The outcomes of a check.
const (
	// Pass means the item holds.
	Pass Status = "pass"
	// Fail means the item does not hold; the evidence says why.
	Fail Status = "fail"
	// Skip means the check did not run; Result.Reason says why.
	Skip Status = "skip"
)

// Evidence is one fact a check found: what it saw, and where when it is in the source.
type Evidence struct {
	// Message says what was observed, e.g. "broker URL \"nats://…\" in service code".
	Message string `json:"message"`
	// File is the source file, relative to the project root, when the fact has a place.
	File string `json:"file,omitempty"`
	// Line is the 1-based line in File.
	Line int `json:"line,omitempty"`
}

// String renders the evidence as "file:line: message" (or just the message).
func (e Evidence) String() string {
	if e.File == "" {
		return e.Message
	}
	if e.Line > 0 {
		return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Message
	}
	return e.File + ": " + e.Message
}

// Result is the outcome of one check with its evidence.
type Result struct {
	// Name is the check's stable name, e.g. "two-models".
	Name string `json:"name"`
	// Title is the checklist item in words.
	Title string `json:"title"`
	// Status is pass, fail or skip.
	Status Status `json:"status"`
	// Reason is a one-line summary of the outcome: what passed, why it failed or why it
	// was skipped.
	Reason string `json:"reason,omitempty"`
	// Duration is how long the check ran.
	Duration time.Duration `json:"-"`
	// Evidence lists what the check observed: the cause first when it failed.
	Evidence []Evidence `json:"evidence"`
}

// MarshalJSON adds durationMs and keeps evidence an array.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	if r.Evidence == nil {
		r.Evidence = []Evidence{}
	}
	return json.Marshal(struct {
		plain
		DurationMS int64 `json:"durationMs"`
	}{plain(r), r.Duration.Milliseconds()})
}

// Summary counts results by status.
type Summary struct {
	// Passed, Failed and Skipped count the checks with that status.
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

// Report is the outcome of one `purista check` run. Its JSON form is documented in
// docs/check.md and stable within a SchemaVersion.
type Report struct {
	// SchemaVersion is SchemaVersion.
	SchemaVersion int `json:"schemaVersion"`
	// Project is the project name from purista.yaml.
	Project string `json:"project"`
	// Dir is the absolute project root.
	Dir string `json:"dir"`
	// Broker describes the broker used by the broker checks, e.g. "nats (embedded)".
	Broker string `json:"broker"`
	// Passed is true when no check failed.
	Passed bool `json:"passed"`
	// Started is when the run began.
	Started time.Time `json:"started"`
	// Duration is the wall time of the whole run, build included.
	Duration time.Duration `json:"-"`
	// Summary counts the results.
	Summary Summary `json:"summary"`
	// Checks are the results in checklist order.
	Checks []Result `json:"checks"`
}

// MarshalJSON adds durationMs.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report
	if r.Checks == nil {
		r.Checks = []Result{}
	}
	return json.Marshal(struct {
		plain
		DurationMS int64 `json:"durationMs"`
	}{plain(r), r.Duration.Milliseconds()})
}

// finish computes Summary and Passed from Checks.
func (r *Report) finish() {
	r.Summary = Summary{}
	for _, c := range r.Checks {
		switch c.Status {
		case Pass:
			r.Summary.Passed++
		case Fail:
			r.Summary.Failed++
		case Skip:
			r.Summary.Skipped++
		}
	}
	r.Passed = r.Summary.Failed == 0
}

// Result returns the result of the check called name.
func (r Report) Result(name string) (Result, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Result{}, false
}
