package scenario

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// JUnit XML, the report format CI systems read: one test suite per
// scenario, one test case per expectation and per command (a command is an
// expectation that the controller accepts, or refuses, it), plus any other
// step that failed. A failed expectation is a <failure>; a step that could
// not run (setup failure, limit reached) is <skipped> and the scenario gets
// an <error> case saying why.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	File     string      `xml:"file,attr,omitempty"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Props    []junitProp `xml:"properties>property,omitempty"`
	Cases    []junitCase `xml:"testcase"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func secs(d interface{ Seconds() float64 }) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes results as JUnit XML.
func WriteJUnit(w io.Writer, results []*Result) error {
	var all junitSuites
	var total float64
	for _, r := range results {
		s := junitSuite{Name: r.Scenario, File: r.File, Time: secs(r.Wall),
			Props: []junitProp{{Name: "plant_time", Value: r.Plant.Round(time.Millisecond).String()}}}
		for _, st := range r.Steps {
			if st.Kind != "expect" && st.Kind != "command" && st.Kind != "setup" && st.Passed {
				continue
			}
			c := junitCase{Name: fmt.Sprintf("%02d %s", st.Index, st.Name), ClassName: r.Scenario, Time: secs(st.Wall)}
			detail := fmt.Sprintf("step %d (%s) at plant time +%v: %s", st.Index, st.Kind, st.At.Round(1e6), st.Message)
			switch {
			case st.Skipped:
				c.Skipped = &junitMessage{Message: st.Message}
				s.Skipped++
			case !st.Passed && (st.Kind == "expect" || st.Kind == "command"):
				c.Failure = &junitMessage{Message: firstLine(st.Message), Text: detail}
				s.Failures++
			case !st.Passed:
				c.Error = &junitMessage{Message: firstLine(st.Message), Text: detail}
				s.Errors++
			default:
				c.SystemOut = detail
			}
			s.Cases = append(s.Cases, c)
		}
		if r.Err != nil && !hasErrorCase(s.Cases) {
			s.Cases = append(s.Cases, junitCase{Name: "scenario", ClassName: r.Scenario, Time: "0",
				Error: &junitMessage{Message: r.Err.Error(), Text: r.Err.Error()}})
			s.Errors++
		}
		s.Tests = len(s.Cases)
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Errors += s.Errors
		all.Skipped += s.Skipped
		total += r.Wall.Seconds()
		all.Suites = append(all.Suites, s)
	}
	all.Time = fmt.Sprintf("%.3f", total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func hasErrorCase(cs []junitCase) bool {
	for _, c := range cs {
		if c.Error != nil {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// WriteReport writes results for people: a line per reported step with
// PASS, FAIL or SKIP, and a summary line per scenario.
func WriteReport(w io.Writer, results []*Result) error {
	for _, r := range results {
		if _, err := fmt.Fprintf(w, "scenario %s (%s)\n", r.Scenario, r.File); err != nil {
			return err
		}
		for _, st := range r.Steps {
			if st.Kind != "expect" && st.Kind != "command" && st.Kind != "setup" && st.Passed {
				continue
			}
			verdict := "PASS"
			switch {
			case st.Skipped:
				verdict = "SKIP"
			case !st.Passed:
				verdict = "FAIL"
			}
			line := fmt.Sprintf("  %s  %02d %-60s +%v", verdict, st.Index, st.Name, st.At.Round(1e9))
			if !st.Passed || st.Kind == "command" && st.Message != "" {
				line += "\n        " + st.Message
			}
			if _, err := fmt.Fprintln(w, line); err != nil {
				return err
			}
		}
		verdict := "ok"
		if r.Failed() > 0 || r.Err != nil {
			verdict = fmt.Sprintf("FAILED (%d)", r.Failed())
		}
		if r.Err != nil {
			verdict += ": " + r.Err.Error()
		}
		if _, err := fmt.Fprintf(w, "  %s: %d steps, %v plant time in %v wall\n", verdict, len(r.Steps), r.Plant.Round(1e9), r.Wall.Round(1e7)); err != nil {
			return err
		}
	}
	return nil
}
