package trace

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReadInvocations reads the default generated day (200 functions).
func BenchmarkReadInvocations(b *testing.B) {
	dir := b.TempDir()
	if err := Generate(dir, DefaultGenOptions()); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, InvocationsFile(1)))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for range b.N {
		if _, err := ReadInvocations("b", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkArrivals spreads the default generated day's first hour.
func BenchmarkArrivals(b *testing.B) {
	tr, err := GenerateTrace(DefaultGenOptions())
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range []Spread{Uniform, Poisson} {
		b.Run(s.String(), func(b *testing.B) {
			var n int
			for range b.N {
				as, err := Arrivals(tr, ArrivalOptions{Window: Window{1, 60}, Spread: s})
				if err != nil {
					b.Fatal(err)
				}
				n = len(as)
			}
			b.ReportMetric(float64(n), "arrivals/op")
		})
	}
}
