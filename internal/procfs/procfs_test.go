package procfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func TestParseStat(t *testing.T) {
	name, f, ok := ParseStat([]byte("4242 (a (b) c) S 1 4242 4242\n"))
	if !ok || name != "a (b) c" || !slices.Equal(f, []string{"S", "1", "4242", "4242"}) {
		t.Fatalf("got %q %q %v", name, f, ok)
	}
	for _, bad := range []string{"", "4242 chat S 1", "4242 )chat( S 1"} {
		if _, _, ok := ParseStat([]byte(bad)); ok {
			t.Errorf("ParseStat(%q) accepted", bad)
		}
	}
}

// Children finds a fake root's children of a process, the zombie too, and
// All skips what is not a process.
func TestChildrenFakeRoot(t *testing.T) {
	root := t.TempDir()
	for pid, stat := range map[string]string{
		"10":   "10 (parent) S 1 10 10\n",
		"11":   "11 (worker) S 10 10 10\n",
		"12":   "12 (ended) Z 10 10 10\n",
		"13":   "13 (other) S 1 13 13\n",
		"self": "10 (parent) S 1 10 10\n",
		"14":   "14 no name\n",
	} {
		if err := os.Mkdir(filepath.Join(root, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, pid, "stat"), []byte(stat), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(All(root)); n != 4 {
		t.Errorf("All found %d processes, want 4", n)
	}
	var got []string
	for _, p := range Children(root, 10) {
		got = append(got, p.Name+" "+p.State())
	}
	slices.Sort(got)
	if want := []string{"ended Z", "worker S"}; !slices.Equal(got, want) {
		t.Fatalf("children %q, want %q", got, want)
	}
}

func TestChildrenSelf(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep(1):", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for _, p := range Children("/proc", os.Getpid()) {
		if p.PID == cmd.Process.Pid {
			return
		}
	}
	t.Fatalf("child %d not found", cmd.Process.Pid)
}
