package check

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes the report as a table a human reads at a glance: one row per check
// with its result, time and first line of evidence (cut to fit), then the full,
// untruncated evidence of every failed check and a summary line.
func WriteText(w io.Writer, r Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tTIME\tEVIDENCE")
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, statusWord(c.Status), seconds(c.Duration), oneLine(firstLine(c)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range r.Checks {
		if c.Status != Fail {
			continue
		}
		fmt.Fprintf(w, "\n%s failed: %s\n", c.Name, c.Reason)
		for _, e := range c.Evidence {
			// In full: continuation lines are indented under the bullet.
			fmt.Fprintf(w, "  - %s\n", strings.ReplaceAll(strings.TrimRight(e.String(), "\n"), "\n", "\n    "))
		}
	}
	_, err := fmt.Fprintf(w, "\n%d passed, %d failed, %d skipped in %s (%s, broker: %s)\n",
		r.Summary.Passed, r.Summary.Failed, r.Summary.Skipped, seconds(r.Duration), r.Project, r.Broker)
	return err
}

// WriteJSON writes the report as one JSON object (schema in docs/check.md), indented
// when indent is true.
func WriteJSON(w io.Writer, r Report, indent bool) error {
	enc := json.NewEncoder(w)
	if indent {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(r)
}

func statusWord(s Status) string {
	switch s {
	case Fail:
		return "FAIL"
	case Skip:
		return "skip"
	}
	return "pass"
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

// firstLine is the one-line summary of a result for the table.
func firstLine(c Result) string {
	switch {
	case c.Status == Skip && c.Reason != "":
		return c.Reason
	case c.Status == Fail && len(c.Evidence) > 0:
		return c.Evidence[0].String()
	case c.Reason != "":
		return c.Reason
	case len(c.Evidence) > 0:
		return c.Evidence[0].String()
	}
	return ""
}

// oneLine cuts s to its first line of at most 120 runes, for the table column only.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	const max = 120
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

// JUnit XML, in the form of the Ant/Jenkins schema (junit-4.xsd) that GitHub, GitLab,
// Jenkins, CircleCI and Azure Pipelines read: <testsuites> with one <testsuite> holding
// one <testcase> per check; a failed check has <failure>, a skipped one <skipped>.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	ID         int             `xml:"id,attr"`
	Package    string          `xml:"package,attr"`
	Hostname   string          `xml:"hostname,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out"`
	SystemErr  string          `xml:"system-err"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML.
func WriteJUnit(w io.Writer, r Report) error {
	host, _ := os.Hostname() // informative only
	if host == "" {
		host = "localhost"
	}
	secs := func(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
	suite := junitSuite{Name: "purista check " + r.Project, Package: "purista.check", Hostname: host,
		Tests: len(r.Checks), Failures: r.Summary.Failed, Skipped: r.Summary.Skipped, Time: secs(r.Duration),
		Timestamp:  r.Started.UTC().Format("2006-01-02T15:04:05"),
		Properties: []junitProperty{{Name: "project", Value: r.Project}, {Name: "dir", Value: r.Dir}, {Name: "broker", Value: r.Broker}}}
	for _, c := range r.Checks {
		var ev strings.Builder
		for _, e := range c.Evidence {
			ev.WriteString(e.String())
			ev.WriteByte('\n')
		}
		tc := junitCase{Name: c.Name, Classname: "purista.check." + r.Project, Time: secs(c.Duration), SystemOut: ev.String()}
		switch c.Status {
		case Fail:
			tc.Failure = &junitMessage{Message: c.Reason, Type: "CheckFailed", Text: ev.String()}
		case Skip:
			tc.Skipped = &junitMessage{Message: c.Reason}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	doc := junitSuites{Name: "purista check", Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped,
		Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
