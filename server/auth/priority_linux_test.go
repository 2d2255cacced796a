package auth

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"chat/server/hub"
)

// nicedThreads returns the IDs of this process's threads whose nice value
// is workerNice. Other tests' workers and hash processes' starter threads
// come and go while this runs, so callers compare sets of IDs rather than
// counts.
func nicedThreads(t *testing.T) map[string]bool {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	niced := map[string]bool{}
	for _, task := range tasks {
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
			niced[task.Name()] = true
		}
	}
	return niced
}

// newIn returns the members of now that were not in before.
func newIn(now, before map[string]bool) []string {
	var fresh []string
	for id := range now {
		if !before[id] {
			fresh = append(fresh, id)
		}
	}
	return fresh
}

// The password workers hash on threads of the lowest priority, which end
// with them (never handed to other goroutines such as the loop's), and only
// when GOMAXPROCS leaves the loop a P while every worker holds one.
func TestVerifierWorkersNiced(t *testing.T) {
	path := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland"})
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	before := nicedThreads(t)

	runtime.GOMAXPROCS(3)
	v, err := NewVerifier(path, 2, nil, func() {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var workers []string
	waitFor(t, "two niced worker threads", func() bool {
		workers = newIn(nicedThreads(t), before)
		return len(workers) >= 2
	})
	if !v.Submit(hub.VerifyRequest{Name: "alice", Secret: "wonderland"}) {
		t.Fatal("submit refused")
	}
	if r := <-v.Results(); r.Verdict != hub.VerdictOK {
		t.Fatalf("verdict %v", r.Verdict)
	}
	v.Close()
	// The main thread cannot exit: a worker that ran on it leaves it niced
	// but running nothing.
	main := strconv.Itoa(os.Getpid())
	waitFor(t, "the niced threads to end with the workers", func() bool {
		niced := nicedThreads(t)
		for _, id := range workers {
			if niced[id] && id != main {
				return false
			}
		}
		return true
	})

	// No P to spare: nicing would make the loop wait for a niced thread.
	runtime.GOMAXPROCS(2)
	before = nicedThreads(t)
	v, err = NewVerifier(path, 2, nil, func() {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if !v.Submit(hub.VerifyRequest{Name: "alice", Secret: "wonderland"}) {
		t.Fatal("submit refused")
	}
	<-v.Results()
	if fresh := newIn(nicedThreads(t), before); len(fresh) != 0 {
		t.Fatalf("niced threads %v with GOMAXPROCS 2 and 2 workers, want none", fresh)
	}
}
