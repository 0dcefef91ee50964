package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/tools/oci"
)

// criSection is the CRI configuration docs/containerd.md gives, with the
// node's directory for CNI (host-network pods never call CNI) and the
// sandbox image the test imports.
const criSection = `
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "uaaf.local/pause:1"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "%[1]s/cni/bin"
    conf_dir = "%[1]s/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.uaaf]
    runtime_type = "io.containerd.uaaf.v1"
    pod_annotations = ["uaaf.io/*"]
    container_annotations = ["uaaf.io/*"]
`

// TestCRIE2E plays the kubelet's part with crictl: a pod whose runtime
// handler is "uaaf" (what a RuntimeClass with handler uaaf selects) runs a
// session container; its logs, exit code, memory limit and libraries come
// through the CRI plugin. Debian has no crictl package, so this test runs
// only where crictl is on PATH (`go install
// sigs.k8s.io/cri-tools/cmd/crictl@v1.34.0`), even under UAAF_REQUIRE_KVM=1.
func TestCRIE2E(t *testing.T) {
	requireContainerd(t)
	crictl, err := exec.LookPath("crictl")
	if err != nil {
		t.Skipf("crictl not on PATH (go install sigs.k8s.io/cri-tools/cmd/crictl@v1.34.0): %v", err)
	}
	n := startNode(t, nodeConfig{ns: "k8s.io", cri: criSection})
	cri := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, crictl, append([]string{"-r", "unix://" + n.sock, "-t", "30s"}, args...)...)
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			err = fmt.Errorf("crictl %s: %w: %s", strings.Join(args, " "), err, ee.Stderr)
		}
		return strings.TrimSpace(string(out)), err
	}
	mustCRI := func(args ...string) string {
		t.Helper()
		out, err := cri(args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	writeJSON := func(name string, v any) string {
		t.Helper()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(n.dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// The sandbox image: the shim never runs it, any file will do.
	pause := filepath.Join(n.dir, "pause")
	if err := os.WriteFile(pause, []byte("never run"), 0o644); err != nil {
		t.Fatal(err)
	}
	pauseTar := filepath.Join(n.dir, "pause.tar")
	if _, err := oci.BuildFile(pauseTar, pause, oci.Options{Name: "uaaf.local/pause:1", Path: "/pause"}); err != nil {
		t.Fatal(err)
	}
	n.mustCtr("image", "import", pauseTar)
	exitcode := n.image("exitcode", []string{"3"})
	idle := n.image("idle", nil)

	logDir := filepath.Join(n.dir, "pods")
	pod := writeJSON("pod.json", map[string]any{
		"metadata":      map[string]any{"name": "uaaf-pod", "namespace": "default", "uid": "uaaf-pod-uid", "attempt": 1},
		"log_directory": logDir,
		"annotations":   map[string]string{"uaaf.io/libs": "sha256"},
		"linux": map[string]any{"security_context": map[string]any{
			"namespace_options": map[string]any{"network": 2}, // NODE: no CNI
		}},
	})
	podID := mustCRI("runp", "--runtime", "uaaf", pod)
	t.Cleanup(func() {
		cri("stopp", podID)
		cri("rmp", podID)
	})

	container := func(name, image string) string {
		cfg := map[string]any{
			"metadata": map[string]any{"name": name},
			"image":    map[string]any{"image": image},
			"log_path": name + ".log",
			"linux": map[string]any{"resources": map[string]any{
				"memory_limit_in_bytes": 64 << 20,
			}},
		}
		return mustCRI("create", podID, writeJSON(name+".json", cfg), pod)
	}
	state := func(id string) (string, int) {
		var st struct {
			Status struct {
				State    string `json:"state"`
				ExitCode int    `json:"exitCode"`
			} `json:"status"`
		}
		if err := json.Unmarshal([]byte(mustCRI("inspect", id)), &st); err != nil {
			t.Fatal(err)
		}
		return st.Status.State, st.Status.ExitCode
	}

	t.Run("session exits", func(t *testing.T) {
		id := container("exits", exitcode)
		mustCRI("start", id)
		eventually(t, "the container to exit", func() bool { s, _ := state(id); return s == "CONTAINER_EXITED" })
		if _, code := state(id); code != 3 {
			t.Errorf("exit code %d, want 3", code)
		}
		logs := mustCRI("logs", id)
		for _, want := range []string{"uaaf guest: starting, mem 64 MiB", "exitcode: exiting with 3", "uaaf guest: exit 3"} {
			if !strings.Contains(logs, want) {
				t.Errorf("logs %q lack %q", logs, want)
			}
		}
		mustCRI("rm", id)
	})

	t.Run("session stopped", func(t *testing.T) {
		id := container("runs", idle)
		mustCRI("start", id)
		eventually(t, "the container to run", func() bool { s, _ := state(id); return s == "CONTAINER_RUNNING" })
		if got := n.refs("sha256"); got != 1 {
			t.Errorf("sha256 refs %d, want 1", got)
		}
		// -a: the daemon never measures a session's memory apart from its
		// own, so a running session reports 0 memory, which crictl's
		// default view may take for a stopped container.
		if out := mustCRI("stats", "-a", "-o", "json", "--id", id); !strings.Contains(out, `"name": "runs"`) {
			t.Errorf("stats: %s", out)
		}
		mustCRI("stop", "-t", "5", id) // SIGTERM
		if s, code := state(id); s != "CONTAINER_EXITED" || code != 143 {
			t.Errorf("after stop: %s %d, want CONTAINER_EXITED 143", s, code)
		}
		mustCRI("rm", id)
		if got := n.refs("sha256"); got != 0 {
			t.Errorf("sha256 refs %d after stop", got)
		}
	})

	t.Run("exec refused", func(t *testing.T) {
		id := container("noexec", idle)
		mustCRI("start", id)
		_, err := cri("exec", id, "/bin/sh")
		if err == nil || !strings.Contains(err.Error(), "not supported by uaaf") {
			t.Errorf("exec: %v", err)
		}
		mustCRI("stop", "-t", "0", id)
		mustCRI("rm", id)
	})

	mustCRI("stopp", podID)
	mustCRI("rmp", podID)
	if got := n.sessions(); len(got) != 0 {
		t.Errorf("sessions left: %+v", got)
	}
}
