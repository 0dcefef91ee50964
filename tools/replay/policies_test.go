package replay

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/uaaf/uaaf/session/sched"
)

func TestParsePolicies(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{"ttl=10m,hybrid,pinned", []string{"ttl=10m", "hybrid", "pinned"}, ""},
		{"ttl=10m,hybrid,fallback=10m,pinned", []string{"ttl=10m", "hybrid,fallback=10m", "pinned"}, ""},
		{"hybrid,range=2h,bin=2m;hybrid,range=4h", []string{"hybrid,range=2h,bin=2m", "hybrid,range=4h"}, ""},
		{" ttl = 5m , pinned ", []string{"ttl = 5m", "pinned"}, ""},
		{"ttl", []string{"ttl"}, ""},
		{"", nil, "bad policy spec"},
		{"ttl=10m,,pinned", nil, `policy "ttl=10m,"`},
		{"lru,pinned", nil, `unknown policy: keepalive "lru"`},
		{"ttl=x", nil, `ttl="x" is not a duration`},
		{"hybrid,fallbak=1m", nil, `unknown parameter "fallbak"`},
		{"pinned;pinned", nil, `policy "pinned" given twice`},
		{"ttl=1m,ttl=1m", nil, "given twice"},
	} {
		got, err := ParsePolicies(tc.in)
		if tc.err != "" {
			if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParsePolicies(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParsePolicies(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{"ttl=10m": "ttl-10m", "hybrid,fallback=10m": "hybrid-fallback-10m",
		"pinned": "pinned", "hybrid,cv=1.5": "hybrid-cv-1.5", "a/b c": "a-b-c"} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParsePolicies: every policy accepted parses on its own, slugs are
// distinct directory names, and nothing panics.
func FuzzParsePolicies(f *testing.F) {
	for _, s := range []string{"ttl=10m,hybrid,pinned", "ttl=10m,hybrid,fallback=10m,pinned", "hybrid,range=2h;ttl", "", ",,", "pinned;;", "ttl=-1s", "a=b=c,ttl"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		specs, err := ParsePolicies(s)
		if err != nil {
			if specs != nil || !errors.Is(err, ErrUsage) {
				t.Fatalf("%q: %v with %q", s, err, specs)
			}
			return
		}
		slugs := map[string]bool{}
		for _, spec := range specs {
			if _, err := sched.ParseKeepAlive(spec); err != nil {
				t.Fatalf("%q: accepted %q, which does not parse: %v", s, spec, err)
			}
			sl := Slug(spec)
			if sl == "" || sl == "." || sl == ".." || strings.ContainsRune(sl, '/') || slugs[sl] {
				t.Fatalf("%q: slug %q of %q", s, sl, spec)
			}
			slugs[sl] = true
		}
	})
}
