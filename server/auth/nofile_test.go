package auth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"chat/server/hub"
)

// logLines collects what a Verifier logs.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// verdict submits one check and waits for its result.
func verdict(t *testing.T, v *Verifier, name, pw string) hub.Verdict {
	t.Helper()
	if !v.Submit(hub.VerifyRequest{Session: 1, ReqID: 1, Name: name, Secret: pw}) {
		t.Fatal("submit refused")
	}
	select {
	case r := <-v.Results():
		return r.Verdict
	case <-time.After(10 * time.Second):
		t.Fatalf("no verdict for %s within 10s", name)
	}
	return 0
}

// A verifier allowed to start without its users file has no accounts: a
// login is refused as for an unknown name, quietly, until the file appears;
// then it is read as a changed file is, without a restart.
func TestVerifierWithoutUsersFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.db")
	var log logLines
	v, err := NewVerifierAllowMissing(path, 1, nil, func() {}, log.logf)
	if err != nil {
		t.Fatalf("no users file: %v", err)
	}
	defer v.Close()
	if got := verdict(t, v, "alice", "wonderland"); got != hub.VerdictWrong {
		t.Fatalf("login with no users file: %v, want %v (as for an unknown name)", got, hub.VerdictWrong)
	}
	if v.Registered("alice") {
		t.Fatal("alice registered with no users file")
	}
	if lines := log.all(); len(lines) != 0 {
		t.Fatalf("a missing file that may be missing was logged: %q", lines)
	}

	// The operator runs useradd.
	u := &Users{}
	u.Add("alice", cheapHash(t, "wonderland"))
	if err := u.Save(path); err != nil {
		t.Fatal(err)
	}
	if got := verdict(t, v, "alice", "wonderland"); got != hub.VerdictOK {
		t.Fatalf("login after the file appeared: %v", got)
	}
	if !v.Registered("alice") {
		t.Fatal("alice not registered after the file appeared")
	}
	if got := verdict(t, v, "alice", "nope"); got != hub.VerdictWrong {
		t.Fatalf("wrong password after the file appeared: %v", got)
	}
	want := "users file " + path + " appeared: 1 account registered"
	if lines := log.all(); !slices.Equal(lines, []string{want}) {
		t.Fatalf("logged %q, want only %q", lines, want)
	}

	// Once read, the file is like any other: removing it keeps the last
	// good copy, and says so.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if got := verdict(t, v, "alice", "wonderland"); got != hub.VerdictOK {
		t.Fatalf("login after the file was removed: %v", got)
	}
	if lines := log.all(); len(lines) != 2 || !strings.Contains(lines[1], "still using the last good copy") {
		t.Fatalf("removal logged %q", lines)
	}
}

// A users file that appears broken is no accounts still, and is said to
// be; fixed, it is read.
func TestVerifierWithoutUsersFileAppearsBroken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.db")
	var log logLines
	v, err := NewVerifierAllowMissing(path, 1, nil, func() {}, log.logf)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := os.WriteFile(path, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := verdict(t, v, "alice", "wonderland"); got != hub.VerdictWrong {
		t.Fatalf("login with a broken file: %v", got)
	}
	if lines := log.all(); len(lines) != 1 || !strings.Contains(lines[0], "line 1: want NAME:HASH (still no accounts)") {
		t.Fatalf("broken file logged %q", lines)
	}
	u := &Users{}
	u.Add("alice", cheapHash(t, "wonderland"))
	if err := u.Save(path); err != nil {
		t.Fatal(err)
	}
	// The fix may land within the clock's granularity of the broken write
	// and be of the same size; a distinct time makes it a change.
	future := time.Now().Add(time.Hour)
	os.Chtimes(path, future, future)
	if got := verdict(t, v, "alice", "wonderland"); got != hub.VerdictOK {
		t.Fatalf("login after the file was fixed: %v", got)
	}
}

// Only a file that does not exist may be missing: one that cannot be read
// or does not parse is an error at start, allowed or not; and NewVerifier
// still requires the file.
func TestVerifierAllowMissingRefusesOtherErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewVerifier(filepath.Join(dir, "missing"), 1, nil, func() {}, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("NewVerifier without a file: %v, want not exist", err)
	}
	broken := filepath.Join(dir, "broken.db")
	if err := os.WriteFile(broken, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewVerifierAllowMissing(broken, 1, nil, func() {}, nil); err == nil || !strings.Contains(err.Error(), "want NAME:HASH") {
		t.Fatalf("broken file: %v", err)
	}
	if _, err := NewVerifierAllowMissing(dir, 1, nil, func() {}, nil); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a directory for a users file: %v", err)
	}
	t.Run("unreadable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads a file of mode 0000 (the chat-server binary test runs this case as another user)")
		}
		locked := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland"})
		if err := os.Chmod(locked, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := NewVerifierAllowMissing(locked, 1, nil, func() {}, nil); !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("unreadable file: %v, want permission denied", err)
		}
	})
}
