package session

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestAliased: Config.Libraries renames imported libraries; an entry for a
// library not imported, or two imports landing on one library, is refused.
func TestAliased(t *testing.T) {
	order := []string{"sha256", "crc32", "sort"}
	for _, tc := range []struct {
		name  string
		alias map[string]string
		want  []string
		err   string // substring of the error; "" for none
	}{
		{"none", nil, order, ""},
		{"some", map[string]string{"sha256": "a1_sha256", "sort": "a1_sort"}, []string{"a1_sha256", "crc32", "a1_sort"}, ""},
		{"identity", map[string]string{"crc32": "crc32"}, order, ""},
		{"swap", map[string]string{"sha256": "crc32", "crc32": "sha256"}, []string{"crc32", "sha256", "sort"}, ""},
		{"not imported", map[string]string{"base64": "x_base64"}, nil, "library base64 is given another library (x_base64) but is not imported"},
		{"onto another import", map[string]string{"sha256": "crc32"}, nil, "imports of sha256 and crc32 would both be served by library crc32"},
		{"two onto one", map[string]string{"sha256": "x", "sort": "x"}, nil, "imports of sha256 and sort would both be served by library x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := aliased(order, tc.alias)
			if tc.err != "" {
				if !errors.Is(err, ErrUnresolved) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want ErrUnresolved with %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("aliased = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
