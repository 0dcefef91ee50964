// Package report holds the result schema of uaaf's benchmarks and writes it
// out: one CSV and one PNG per panel (WriteCSV, WritePNG), a summary.json and
// a summary.md per run (WriteSummary), and a progress bar on stderr
// (Progress). It measures nothing itself except the machine it runs on
// (DetectMachine).
//
// Values are passed by value or as read-only slices: the writers never keep
// or modify what they are given and may be called from any goroutine, each
// writing its own files.
package report

import (
	"errors"
	"fmt"
	"math"
	"regexp"
)

// Sentinel errors. Each error returned by this package wraps one of them or
// an I/O error.
var (
	// ErrInvalid: a panel or summary breaks the schema (no name, a
	// duplicate system, a non-finite value, a category index out of
	// range, a non-positive value on a log axis).
	ErrInvalid = errors.New("report: invalid data")
)

// Axis names one axis of a panel: Label is what is measured ("start
// latency"), Unit its unit ("ms"); the plot shows "Label (Unit)".
type Axis struct {
	Label string `json:"label"`
	Unit  string `json:"unit"`
}

// Title returns "Label (Unit)", or Label alone when Unit is empty.
func (a Axis) Title() string {
	if a.Unit == "" {
		return a.Label
	}
	return a.Label + " (" + a.Unit + ")"
}

// Interval is an error bar: absolute lower and upper bounds around a Y value
// (e.g. a confidence interval or min–max), not distances.
type Interval struct {
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
}

// Point is one measurement of one system.
type Point struct {
	// X is the abscissa: a number (instances live), or in a categorical
	// panel the index of the category in Panel.Categories.
	X float64 `json:"x"`
	// Y is the central value, usually a median.
	Y float64 `json:"y"`
	// P99 is the 99th percentile behind Y; 0 means not measured (latencies
	// and sizes are positive).
	P99 float64 `json:"p99,omitempty"`
	// Err, when set, is drawn as an error bar around Y.
	Err *Interval `json:"err,omitempty"`
	// N is the number of samples behind Y; 0 means not recorded.
	N int `json:"n,omitempty"`
}

// Series is the points of one system ("uaaf", "uaaf-isolated", "solo5-hvt",
// "runc") in one panel.
type Series struct {
	System string  `json:"system"`
	Points []Point `json:"points"`
}

// Panel is one plot of a figure and its table: Series per system over a
// common X and Y axis.
type Panel struct {
	// Name is the file stem of DIR/Name.csv and DIR/Name.png: lower-case
	// letters, digits, '-' and '_' ("startup", "scale", "memory").
	Name string `json:"name"`
	// Title is drawn above the plot; empty means Name.
	Title string `json:"title,omitempty"`
	X     Axis   `json:"x"`
	Y     Axis   `json:"y"`
	// Categories, when non-empty, makes X categorical: point X values are
	// indices 0..len-1 into it (e.g. "library load", "to first
	// instruction", "to exit", "whole invocation"), drawn as groups.
	Categories []string `json:"categories,omitempty"`
	// Series holds one entry per system, in legend and CSV order.
	Series []Series `json:"series"`
	// Notes are free-form remarks carried into the summary.
	Notes []string `json:"notes,omitempty"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Validate reports the first way p breaks the schema, wrapping ErrInvalid.
func (p Panel) Validate() error {
	if !nameRE.MatchString(p.Name) {
		return fmt.Errorf("%w: panel name %q (want [a-z0-9][a-z0-9_-]*)", ErrInvalid, p.Name)
	}
	seen := map[string]bool{}
	for _, s := range p.Series {
		if s.System == "" {
			return fmt.Errorf("%w: panel %s: a series has no system name", ErrInvalid, p.Name)
		}
		if seen[s.System] {
			return fmt.Errorf("%w: panel %s: system %q appears twice", ErrInvalid, p.Name, s.System)
		}
		seen[s.System] = true
		for i, pt := range s.Points {
			vals := []float64{pt.X, pt.Y, pt.P99}
			if pt.Err != nil {
				vals = append(vals, pt.Err.Lo, pt.Err.Hi)
			}
			for _, v := range vals {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("%w: panel %s, %s point %d: non-finite value %v", ErrInvalid, p.Name, s.System, i, v)
				}
			}
			if pt.N < 0 {
				return fmt.Errorf("%w: panel %s, %s point %d: negative sample count %d", ErrInvalid, p.Name, s.System, i, pt.N)
			}
			if pt.Err != nil && pt.Err.Lo > pt.Err.Hi {
				return fmt.Errorf("%w: panel %s, %s point %d: error bar [%v, %v] inverted", ErrInvalid, p.Name, s.System, i, pt.Err.Lo, pt.Err.Hi)
			}
			if len(p.Categories) > 0 {
				if pt.X != math.Trunc(pt.X) || pt.X < 0 || int(pt.X) >= len(p.Categories) {
					return fmt.Errorf("%w: panel %s, %s point %d: category index %v outside 0..%d", ErrInvalid, p.Name, s.System, i, pt.X, len(p.Categories)-1)
				}
			}
		}
	}
	return nil
}

// category returns the category name of x in a categorical panel, else "".
func (p Panel) category(x float64) string {
	if len(p.Categories) == 0 {
		return ""
	}
	return p.Categories[int(x)]
}
