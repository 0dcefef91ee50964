package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// CSVHeader is the header row of every panel CSV. Columns:
//
//	panel     Panel.Name
//	system    Series.System
//	x         Point.X (in a categorical panel: the category index)
//	x_unit    Panel.X.Unit
//	category  the category name in a categorical panel, else empty
//	y         Point.Y
//	y_unit    Panel.Y.Unit
//	p99       Point.P99, empty when not measured
//	err_lo    Point.Err.Lo, empty without an error bar
//	err_hi    Point.Err.Hi, empty without an error bar
//	n         Point.N, empty when not recorded
//
// Numbers are written in Go's shortest round-trip form ('g', -1). Rows come
// in series order (as in Panel.Series), and within a series in ascending X
// (points with equal X keep their order).
var CSVHeader = []string{"panel", "system", "x", "x_unit", "category", "y", "y_unit", "p99", "err_lo", "err_hi", "n"}

// EncodeCSV returns p as CSV (CSVHeader, then one row per point), or an
// error wrapping ErrInvalid when p fails Validate.
func EncodeCSV(p Panel) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(CSVHeader); err != nil {
		return nil, err
	}
	for _, s := range p.Series {
		pts := slices.Clone(s.Points)
		slices.SortStableFunc(pts, func(a, b Point) int {
			switch {
			case a.X < b.X:
				return -1
			case a.X > b.X:
				return 1
			}
			return 0
		})
		for _, pt := range pts {
			row := []string{p.Name, s.System, num(pt.X), p.X.Unit, p.category(pt.X), num(pt.Y), p.Y.Unit, "", "", "", ""}
			if pt.P99 != 0 {
				row[7] = num(pt.P99)
			}
			if pt.Err != nil {
				row[8], row[9] = num(pt.Err.Lo), num(pt.Err.Hi)
			}
			if pt.N != 0 {
				row[10] = strconv.Itoa(pt.N)
			}
			if err := w.Write(row); err != nil {
				return nil, err
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteCSV writes EncodeCSV(p) to dir/p.Name.csv (mode 0644, replacing any
// old file) and returns the path.
func WriteCSV(dir string, p Panel) (string, error) {
	b, err := EncodeCSV(p)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, p.Name+".csv")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("report: write %s: %w", path, err)
	}
	return path, nil
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
