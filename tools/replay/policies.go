package replay

import (
	"fmt"
	"slices"
	"strings"

	"github.com/uaaf/uaaf/session/sched"
)

// ParsePolicies splits a --policies list into keep-alive policy specs and
// checks each with sched.ParseKeepAlive. Policies are separated by ';' or
// ','; since a spec's own parameters are separated by ',' too, a
// comma-separated item that does not start with a registered policy's name
// continues the policy before it:
//
//	ttl=10m,hybrid,pinned               → ttl=10m | hybrid | pinned
//	ttl=10m,hybrid,fallback=10m,pinned  → ttl=10m | hybrid,fallback=10m | pinned
//
// A spec given twice is an error (its runs would write the same files).
func ParsePolicies(list string) ([]string, error) {
	names := sched.KeepAliveNames()
	var specs []string
	for _, group := range strings.Split(list, ";") {
		var cur []string
		flush := func() {
			if len(cur) > 0 {
				specs = append(specs, strings.Join(cur, ","))
				cur = nil
			}
		}
		for _, item := range strings.Split(group, ",") {
			item = strings.TrimSpace(item)
			name, _, _ := strings.Cut(item, "=")
			if slices.Contains(names, strings.TrimSpace(name)) || len(cur) == 0 {
				flush()
			}
			cur = append(cur, item)
		}
		flush()
	}
	seen := map[string]bool{}
	for _, s := range specs {
		if _, err := sched.ParseKeepAlive(s); err != nil {
			return nil, fmt.Errorf("%w: policy %q: %w", ErrUsage, s, err)
		}
		if seen[Slug(s)] {
			return nil, fmt.Errorf("%w: policy %q given twice", ErrUsage, s)
		}
		seen[Slug(s)] = true
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("%w: no policy given", ErrUsage)
	}
	return specs, nil
}

// Slug turns a policy spec into a directory name: letters, digits, '.'
// and '_' kept, everything else '-' ("hybrid,fallback=10m" →
// "hybrid-fallback-10m").
func Slug(spec string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' {
			return r
		}
		return '-'
	}, spec)
}
