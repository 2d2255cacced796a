package auth

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"chat/server/hub"
)

// nicedThreads counts this process's threads whose nice value is
// workerNice; all but the main thread, which cannot exit: a worker that ran
// on it leaves it wedged (niced, but running nothing) when it ends.
func nicedThreads(t *testing.T, main bool) int {
	t.Helper()
	pid := strconv.Itoa(os.Getpid())
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, task := range tasks {
		if !main && task.Name() == pid {
			continue
		}
		stat, err := os.ReadFile("/proc/self/task/" + task.Name() + "/stat")
		if err != nil {
			continue // the thread exited meanwhile
		}
		// Fields after "(comm)": state is field 3, nice field 19.
		i := strings.LastIndexByte(string(stat), ')')
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 17 {
			t.Fatalf("short stat line %q", stat)
		}
		if nice, err := strconv.Atoi(fields[16]); err == nil && nice == workerNice {
			n++
		}
	}
	return n
}

// The password workers hash on threads of the lowest priority, which end
// with them (never handed to other goroutines such as the loop's), and only
// when GOMAXPROCS leaves the loop a P while every worker holds one.
func TestVerifierWorkersNiced(t *testing.T) {
	path := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland"})
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	base, baseWorkers := nicedThreads(t, true), nicedThreads(t, false)

	runtime.GOMAXPROCS(3)
	v, err := NewVerifier(path, 2, nil, func() {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two niced worker threads", func() bool { return nicedThreads(t, true) == base+2 })
	if !v.Submit(hub.VerifyRequest{Name: "alice", Secret: "wonderland"}) {
		t.Fatal("submit refused")
	}
	if r := <-v.Results(); r.Verdict != hub.VerdictOK {
		t.Fatalf("verdict %v", r.Verdict)
	}
	v.Close()
	waitFor(t, "the niced threads to end with the workers", func() bool { return nicedThreads(t, false) == baseWorkers })

	// No P to spare: nicing would make the loop wait for a niced thread.
	base = nicedThreads(t, true)
	runtime.GOMAXPROCS(2)
	v, err = NewVerifier(path, 2, nil, func() {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if !v.Submit(hub.VerifyRequest{Name: "alice", Secret: "wonderland"}) {
		t.Fatal("submit refused")
	}
	<-v.Results()
	if n := nicedThreads(t, true); n != base {
		t.Fatalf("%d niced threads with GOMAXPROCS 2 and 2 workers, want %d", n, base)
	}
}
