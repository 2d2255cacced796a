package loadgen

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"chat/internal/procfs"
)

// A stat line whose command name holds spaces and parentheses, as a process
// may name itself anything.
const fakeStat = "4242 (chat) (server x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 3 0 12345 123456789 2048 18446744073709551615\n"

const fakeStatus = `Name:	chat-server
VmPeak:	  123456 kB
VmHWM:	   30720 kB
VmRSS:	   20480 kB
Threads:	3
`

// statCPU is what readProc makes of a stat file's CPU time.
func statCPU(stat []byte) (time.Duration, error) {
	_, f, ok := procfs.ParseStat(stat)
	if !ok {
		return 0, errors.New("no command name in stat")
	}
	return fieldsCPU(f)
}

func TestParseStatCPU(t *testing.T) {
	got, err := statCPU([]byte(fakeStat))
	if err != nil {
		t.Fatal(err)
	}
	if want := 3250 * time.Millisecond; got != want { // (250+75) ticks of 10 ms
		t.Fatalf("cpu %v, want %v", got, want)
	}
	for _, bad := range []string{"", "4242 chat S 1", "4242 (chat) S 1 2 3", "4242 (x) S 1 2 3 4 5 6 7 8 9 10 x 75"} {
		if _, err := statCPU([]byte(bad)); err == nil {
			t.Errorf("statCPU(%q) accepted", bad)
		}
	}
}

func TestParseStatusMemory(t *testing.T) {
	rss, hwm := parseStatusMemory([]byte(fakeStatus))
	if rss != 20480 || hwm != 30720 {
		t.Fatalf("rss %d hwm %d, want 20480 30720", rss, hwm)
	}
	if rss, hwm := parseStatusMemory([]byte("Name:\tzombie\nState:\tZ\n")); rss != 0 || hwm != 0 {
		t.Fatalf("a zombie has no memory lines: got %d %d", rss, hwm)
	}
}

func TestReadProcFakeRoot(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "4242")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "stat"), []byte(fakeStat), 0o644)
	os.WriteFile(filepath.Join(dir, "status"), []byte(fakeStatus), 0o644)
	s, err := readProc(root, 4242)
	if err != nil {
		t.Fatal(err)
	}
	if s.CPU != 3250*time.Millisecond || s.RSSKB != 20480 || s.HWMKB != 30720 {
		t.Fatalf("got %+v", s)
	}
	if _, err := readProc(root, 1); err == nil {
		t.Fatal("a missing process should be an error")
	}
}

// The server's cost counts its children: live ones (password workers)
// and the CPU of those that ended.
func TestReadProcTreeCountsChildren(t *testing.T) {
	root := t.TempDir()
	write := func(pid, stat, status string) {
		dir := filepath.Join(root, pid)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644)
		os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644)
	}
	// The server: 250+75 ticks, and 40+10 of children that ended.
	write("4242", "4242 (chat-server) S 1 4242 4242 0 -1 0 0 0 0 0 250 75 40 10 20 0 3 0 1 1 1\n", fakeStatus)
	// A password worker: 100+20 ticks, 8 MB.
	write("4300", "4300 (chat-server) S 4242 4242 4242 0 -1 0 0 0 0 0 100 20 0 0 39 19 1 0 1 1 1\n",
		"VmHWM:\t 25000 kB\nVmRSS:\t 8000 kB\n")
	// Not a child.
	write("5000", "5000 (other) S 1 5000 5000 0 -1 0 0 0 0 0 999 999 0 0 20 0 1 0 1 1 1\n", "VmHWM:\t 1 kB\nVmRSS:\t 1 kB\n")
	s, err := readProcTree(root, 4242)
	if err != nil {
		t.Fatal(err)
	}
	if want := (250 + 75 + 40 + 10 + 100 + 20) * 10 * time.Millisecond; s.CPU != want {
		t.Errorf("cpu %v, want %v", s.CPU, want)
	}
	if s.RSSKB != 20480+8000 || s.HWMKB != 30720+25000 {
		t.Errorf("rss %d hwm %d, want %d %d", s.RSSKB, s.HWMKB, 20480+8000, 30720+25000)
	}
}

func TestReadProcSelf(t *testing.T) {
	a, err := readProc("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the kernel's tick-based accounting moves; bounded.
	var b procSample
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		x := 0
		for i := range 1_000_000 {
			x += i * i
		}
		_ = x
		if b, err = readProc("/proc", os.Getpid()); err != nil {
			t.Fatal(err)
		}
		if b.CPU > a.CPU {
			break
		}
	}
	if b.CPU <= a.CPU {
		t.Fatalf("own CPU did not grow: %v then %v", a.CPU, b.CPU)
	}
	if b.RSSKB == 0 || b.HWMKB < b.RSSKB {
		t.Fatalf("own memory: rss %d kB, hwm %d kB", b.RSSKB, b.HWMKB)
	}
	if p := cpuPercent(a, b); p <= 0 || p > 100*float64(64) {
		t.Fatalf("cpu percent %v", p)
	}
}

func TestCPUPercent(t *testing.T) {
	a := procSample{At: t0, CPU: time.Second}
	b := procSample{At: t0.Add(2 * time.Second), CPU: 2 * time.Second}
	if p := cpuPercent(a, b); p != 50 {
		t.Fatalf("1 s of CPU in 2 s is %v%%, want 50", p)
	}
	if p := cpuPercent(b, b); p != 0 {
		t.Fatalf("no time passed: %v%%", p)
	}
}

// AllProcessCPU lists every process with its name, kernel threads and
// names with spaces and parentheses included, and skips what is not a
// process.
func TestAllProcessCPU(t *testing.T) {
	root := t.TempDir()
	for pid, stat := range map[string]string{
		"107":  "107 (kdamond.0) S 2 0 0 0 -1 0 0 0 0 0 30 120 0 0 20 0 1 0 1 0 0\n",
		"4242": "4242 (a (b) c) S 1 4242 4242 0 -1 0 0 0 0 0 250 75 0 0 20 0 3 0 1 1 1\n",
		"self": "1 (not a pid) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1\n",
		"9":    "9 no name\n",
	} {
		if err := os.Mkdir(filepath.Join(root, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(root, pid, "stat"), []byte(stat), 0o644)
	}
	got := AllProcessCPU(root)
	want := map[int]ProcessCPU{
		107:  {Name: "kdamond.0", CPU: 1500 * time.Millisecond},
		4242: {Name: "a (b) c", CPU: 3250 * time.Millisecond},
	}
	if len(got) != len(want) || got[107] != want[107] || got[4242] != want[4242] {
		t.Fatalf("got %v, want %v", got, want)
	}
	if self := AllProcessCPU("/proc")[os.Getpid()]; self.Name == "" {
		t.Fatal("this process is not in /proc's list")
	}
}
