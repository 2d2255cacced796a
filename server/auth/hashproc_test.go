package auth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"chat/harness"
	"chat/server/hub"

	"golang.org/x/sys/unix"
)

// request encodes one hash worker request.
func hashRequest(hash, secret string) []byte {
	return appendField(appendField(nil, hash), secret)
}

func TestServeHashWorker(t *testing.T) {
	hash := cheapHash(t, "wonderland")
	var in bytes.Buffer
	in.Write(hashRequest(hash, "wonderland"))
	in.Write(hashRequest(hash, "nope"))
	in.Write(hashRequest("not a PHC string", "wonderland"))
	in.Write(hashRequest(hash, ""))
	var out bytes.Buffer
	if err := ServeHashWorker(&in, &out); err != nil {
		t.Fatalf("ServeHashWorker: %v", err)
	}
	if got, want := out.Bytes(), []byte{hashOK, hashWrong, hashWrong, hashWrong}; !bytes.Equal(got, want) {
		t.Fatalf("answers %v, want %v", got, want)
	}

	// Not a request: an error, and no answer.
	for name, input := range map[string][]byte{
		"oversize hash":   appendField(nil, strings.Repeat("x", maxHashBytes+1)),
		"oversize secret": hashRequest(hash, strings.Repeat("x", 1025)),
		"cut short":       hashRequest(hash, "wonderland")[:20],
	} {
		out.Reset()
		if err := ServeHashWorker(bytes.NewReader(input), &out); err == nil || out.Len() != 0 {
			t.Errorf("%s: err %v, answers %v", name, err, out.Bytes())
		}
	}
}

// TestHashWorkerHelperProcess is the child the tests below start: this test
// binary, running only this test, with CHAT_HASH_WORKER_HELPER set.
func TestHashWorkerHelperProcess(t *testing.T) {
	if os.Getenv("CHAT_HASH_WORKER_HELPER") != "1" {
		t.Skip("the hash worker child of TestVerifierHashWorkers")
	}
	if err := ServeHashWorker(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// hashWorkerChildren returns this process's hash worker children (the
// test binary running TestHashWorkerHelperProcess) and their nice values.
func hashWorkerChildren(t *testing.T) map[int]int {
	t.Helper()
	return harness.Children(os.Getpid(), "TestHashWorkerHelperProcess")
}

// The verifier's workers check passwords in child processes at nice 19;
// a child that dies is restarted; one that cannot be started is replaced
// by a check in the server's process; Close ends the children.
func TestVerifierHashWorkers(t *testing.T) {
	t.Setenv("CHAT_HASH_WORKER_HELPER", "1")
	path := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland"})
	var logMu sync.Mutex
	var logs []string
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		logs = append(logs, fmt.Sprintf(format, args...))
	}
	argv := []string{os.Args[0], "-test.run=^TestHashWorkerHelperProcess$"}
	v, err := NewVerifier(path, 1, argv, func() {}, logf)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name, pw string) hub.Verdict {
		t.Helper()
		if !v.Submit(hub.VerifyRequest{Name: name, Secret: pw}) {
			t.Fatal("submit refused")
		}
		select {
		case r := <-v.Results():
			return r.Verdict
		case <-time.After(20 * time.Second):
			t.Fatal("no result")
			return 0
		}
	}
	for _, c := range []struct {
		name, pw string
		want     hub.Verdict
	}{{"alice", "wonderland", hub.VerdictOK}, {"alice", "nope", hub.VerdictWrong}, {"zed", "wonderland", hub.VerdictWrong}} {
		if got := check(c.name, c.pw); got != c.want {
			t.Errorf("%s/%s: %v, want %v", c.name, c.pw, got, c.want)
		}
	}
	kids := hashWorkerChildren(t)
	if len(kids) != 1 {
		t.Fatalf("hash worker children: %v, want one", kids)
	}
	for pid, nice := range kids {
		if nice != workerNice {
			t.Errorf("child %d runs at nice %d, want %d", pid, nice, workerNice)
		}
		if attr, err := unix.SchedGetAttr(pid, 0); err != nil || attr.Policy != unix.SCHED_IDLE {
			t.Errorf("child %d scheduling policy: %+v %v, want SCHED_IDLE", pid, attr, err)
		}
		// A child that dies is replaced, and the check still answered.
		syscall.Kill(pid, syscall.SIGKILL)
		waitFor(t, "the killed child to be gone", func() bool {
			_, ok := hashWorkerChildren(t)[pid]
			return !ok
		})
	}
	if got := check("alice", "wonderland"); got != hub.VerdictOK {
		t.Errorf("after the child died: %v, want OK", got)
	}
	if n := len(hashWorkerChildren(t)); n != 1 {
		t.Errorf("%d children after the restart, want 1", n)
	}
	v.Close()
	if kids := hashWorkerChildren(t); len(kids) != 0 {
		t.Errorf("children left after Close: %v", kids)
	}
	logMu.Lock()
	if !strings.Contains(strings.Join(logs, "\n"), "restarting it") {
		t.Errorf("log %q does not tell of the restart", logs)
	}
	logMu.Unlock()

	// No worker program: the server checks in its own process.
	v, err = NewVerifier(path, 1, []string{filepath.Join(t.TempDir(), "missing")}, func() {}, logf)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if got := check("alice", "wonderland"); got != hub.VerdictOK {
		t.Errorf("without a worker program: %v, want OK", got)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(strings.Join(logs, "\n"), "checking in the server's process") {
		t.Errorf("log %q does not tell of the fallback", logs)
	}
}

// A check against a child that answers nothing and is gone reports an
// error rather than hanging.
func TestHashProcCheckFailsWhenTheChildIsGone(t *testing.T) {
	p, err := startHashProc([]string{"true"})
	if err != nil {
		t.Skip("no true(1):", err)
	}
	defer p.stop(time.Second)
	if _, err := p.check("h", "s"); err == nil || !(errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE)) {
		t.Fatalf("check against a child that exited: %v", err)
	}
}
