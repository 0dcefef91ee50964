package contrib

import (
	"os"
	"strings"
	"testing"
)

// TestWorkedExample: docs/scheduling.md shows ewma.go whole, as the
// worked example of adding a policy; the two must not drift apart.
func TestWorkedExample(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/scheduling.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("ewma.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```go\n"+string(src)+"```\n") {
		t.Error("docs/scheduling.md does not show session/sched/contrib/ewma.go as it is")
	}
}
