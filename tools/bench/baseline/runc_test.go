package baseline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/tools/bench/procmem"
)

// requireRunc skips t when runc is not installed or we are not root. runc
// is optional for the benchmark (the container baseline is reported as
// skipped without it), so this never fails, even under UAAF_REQUIRE_KVM=1.
// The returned Runc keeps its state in a private temporary --root.
func requireRunc(t testing.TB) Runc {
	t.Helper()
	r, err := LookRunc()
	if err != nil {
		t.Skipf("runc baseline: %v (apt-get install runc)", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("runc baseline: needs root")
	}
	r.Root = filepath.Join(t.TempDir(), "runc-state")
	return r
}

// buildFn builds the function binary, skipping t without gcc.
func buildFn(t testing.TB) string {
	t.Helper()
	bin, err := BuildFunction(context.Background(), t.TempDir())
	if errors.Is(err, ErrNotInstalled) {
		t.Skipf("function binary: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// containersLeft lists the containers runc r still knows about.
func containersLeft(t testing.TB, r Runc) []string {
	t.Helper()
	out, err := exec.Command(r.Path, r.argv("list", "-q")[1:]...).Output()
	if err != nil {
		t.Fatalf("runc list: %v", err)
	}
	return strings.Fields(string(out))
}

func TestFunction(t *testing.T) {
	bin := buildFn(t)
	ctx := context.Background()
	res, err := Run(ctx, []string{bin}, FunctionExpect)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(res.Stdout), "SUCCESS\n") || strings.Contains(string(res.Stdout), "READY") {
		t.Errorf("output %q", res.Stdout)
	}
	_, err = Run(ctx, []string{bin, "--bogus"}, FunctionExpect)
	var re *RunError
	if !errors.As(err, &re) || re.Status != "exit status 2" {
		t.Errorf("fn --bogus: %v, want exit status 2", err)
	}
	g, err := StartGroup(ctx, []string{bin, FunctionWaitArg}, 2, FunctionReady)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	pss, err := g.Pss()
	if err != nil || pss == 0 {
		t.Errorf("Pss of two waiting functions = %d, %v", pss, err)
	}
}

func TestEditSpec(t *testing.T) {
	base := `{"ociVersion":"1.0.2","process":{"terminal":true,"args":["sh"],"cwd":"/"},"root":{"path":"rootfs"},"hostname":"runc","linux":{"namespaces":[{"type":"pid"}]}}`
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"runc spec", base, true},
		{"not JSON", "{", false},
		{"no process", `{"root":{}}`, false},
		{"process not an object", `{"process":[]}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := editSpec([]byte(tc.in), []string{"/fn", "--wait"})
			if tc.ok != (err == nil) {
				t.Fatalf("editSpec error = %v, want ok=%v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			var spec struct {
				Process struct {
					Terminal bool     `json:"terminal"`
					Args     []string `json:"args"`
					Cwd      string   `json:"cwd"`
				} `json:"process"`
				Root struct {
					Path     string `json:"path"`
					Readonly bool   `json:"readonly"`
				} `json:"root"`
				Hostname string         `json:"hostname"`
				Linux    map[string]any `json:"linux"`
			}
			if err := json.Unmarshal(out, &spec); err != nil {
				t.Fatal(err)
			}
			if spec.Process.Terminal || !slices.Equal(spec.Process.Args, []string{"/fn", "--wait"}) || spec.Process.Cwd != "/" ||
				spec.Root.Path != "rootfs" || !spec.Root.Readonly || spec.Hostname != "uaaf-bench" || spec.Linux["namespaces"] == nil {
				t.Errorf("edited spec wrong: %s", out)
			}
		})
	}
}

func TestRuncRun(t *testing.T) {
	r := requireRunc(t)
	bin := buildFn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	v, err := r.Version(ctx)
	if err != nil || v == "" || v[0] < '0' || v[0] > '9' {
		t.Errorf("Version = %q, %v", v, err)
	}
	b, err := r.NewBundle(ctx, t.TempDir(), bin)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(ctx, b, FunctionExpect)
	if err != nil {
		t.Fatal(err)
	}
	if res.Wall <= 0 {
		t.Errorf("Wall = %v", res.Wall)
	}
	if left := containersLeft(t, r); len(left) != 0 {
		t.Errorf("containers left after a run: %v", left)
	}
}

func TestRuncRunFailures(t *testing.T) {
	r := requireRunc(t)
	bin := buildFn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	good, err := r.NewBundle(ctx, t.TempDir(), bin)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := r.NewBundle(ctx, t.TempDir(), bin, "--bogus")
	if err != nil {
		t.Fatal(err)
	}
	missing := &Bundle{Dir: filepath.Join(t.TempDir(), "nothing-here")}
	tests := []struct {
		name   string
		b      *Bundle
		want   Expect
		status string
		reason string
	}{
		{"function exits 2", bad, FunctionExpect, "exit status 2", "exit status 2, want 0"},
		{"output lacks a line", good, Expect{Stdout: []string{"SUCCESS", "not printed"}}, "exit status 0", `stdout lacks "not printed"`},
		{"no bundle", missing, FunctionExpect, "exit status 1", "exit status 1, want 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Run(ctx, tc.b, tc.want)
			var re *RunError
			if !errors.As(err, &re) || !errors.Is(err, ErrBaselineFailed) {
				t.Fatalf("Run: %v, want a *RunError", err)
			}
			if re.Status != tc.status || re.Reason != tc.reason || re.Cmd[0] != r.Path {
				t.Errorf("RunError{Cmd %q, Status %q, Reason %q}, want %q, %q", re.Cmd, re.Status, re.Reason, tc.status, tc.reason)
			}
			if left := containersLeft(t, r); len(left) != 0 {
				t.Errorf("containers left after a failed run: %v", left)
			}
		})
	}
}

func TestRuncContainers(t *testing.T) {
	r := requireRunc(t)
	bin := buildFn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := r.NewBundle(ctx, t.TempDir(), bin, FunctionWaitArg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.StartContainers(ctx, b, 3, FunctionReady)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ids := c.IDs(); len(ids) != 3 || !slices.Equal(containersLeft(t, r), sortedCopy(ids)) {
		t.Errorf("IDs %v, runc lists %v", ids, containersLeft(t, r))
	}
	pids, err := c.PIDs(ctx)
	if err != nil || len(pids) != 3 {
		t.Fatalf("PIDs = %v, %v; want one process per container", pids, err)
	}
	pss, err := c.Pss(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("3 containers of the waiting function: Pss %d KiB in all", pss/1024)
	if pss == 0 {
		t.Error("Pss is 0")
	}
	cgmem, err := c.CgroupMemory(ctx)
	switch {
	case errors.Is(err, procmem.ErrNoMemoryCgroup):
		t.Logf("no memory cgroup to read: %v", err)
	case err != nil:
		t.Error(err)
	default:
		t.Logf("3 containers: %d KiB charged to their memory cgroups", cgmem/1024)
		// Three idle containers of a 0.7 MiB program: far below 64 MiB
		// each, unless a parent cgroup (everything on the host) was read.
		if cgmem == 0 || cgmem > 3*64<<20 {
			t.Errorf("CgroupMemory = %d bytes for 3 idle containers: implausible", cgmem)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if left := containersLeft(t, r); len(left) != 0 {
		t.Errorf("containers left after Close: %v", left)
	}
	for _, pid := range pids {
		// Detached containers are children of init, which reaps them when
		// it gets to it: a zombie counts as gone.
		if running(pid) {
			t.Errorf("container process %d survived Close", pid)
		}
	}
	if _, err := c.Pss(ctx); !errors.Is(err, ErrBaselineFailed) {
		t.Errorf("Pss after Close: %v", err)
	}
}

// running reports whether pid exists and is not a zombie.
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) STATE ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func TestRuncContainersFailures(t *testing.T) {
	r := requireRunc(t)
	bin := buildFn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Without --wait the function exits after SUCCESS: never READY.
	exits, err := r.NewBundle(ctx, t.TempDir(), bin)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.StartContainers(ctx, exits, 2, FunctionReady)
	var re *RunError
	if !errors.As(err, &re) || re.Status != "stopped" || !strings.Contains(re.Reason, "container stopped before it printed") {
		t.Errorf("containers that exit: %v, want a stopped container", err)
	}
	if left := containersLeft(t, r); len(left) != 0 {
		t.Errorf("containers left after a failed start: %v", left)
	}
	// A bundle runc cannot start: runc run -d fails.
	_, err = r.StartContainers(ctx, &Bundle{Dir: filepath.Join(t.TempDir(), "none")}, 1, FunctionReady)
	if !errors.As(err, &re) || re.Status != "exit status 1" || !strings.Contains(re.Reason, "runc run -d failed") {
		t.Errorf("missing bundle: %v", err)
	}
	if left := containersLeft(t, r); len(left) != 0 {
		t.Errorf("containers left after a failed start: %v", left)
	}
}

// BenchmarkRuncCold runs the function in a new container (runc run,
// foreground) b.N times and reports the median and p99 wall time.
func BenchmarkRuncCold(b *testing.B) {
	r := requireRunc(b)
	bin := buildFn(b)
	bundle, err := r.NewBundle(context.Background(), b.TempDir(), bin)
	if err != nil {
		b.Fatal(err)
	}
	var walls []time.Duration
	var rss []float64
	for b.Loop() {
		res, err := r.Run(context.Background(), bundle, FunctionExpect)
		if err != nil {
			b.Fatal(err)
		}
		walls = append(walls, res.Wall)
		rss = append(rss, float64(res.MaxRSS)/1024)
	}
	reportRuns(b, walls, rss)
}
