package auth

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"chat/server/hub"
)

func TestLoginThrottleUnit(t *testing.T) {
	th := newLoginThrottle(3, time.Second, 30*time.Second, time.Minute, 1000)
	now := t0
	want := func(name, ip string, d time.Duration) {
		t.Helper()
		if got := th.admit(name, ip, now); got != d {
			t.Fatalf("admit(%s, %s) = %v, want %v", name, ip, got, d)
		}
	}
	// Per account: different addresses each time.
	for i, d := range []time.Duration{0, 0, 0, 1, 2, 4, 8, 16, 30, 30} {
		want("alice", fmt.Sprint("10.0.0.", i), d*time.Second)
		th.result("alice", fmt.Sprint("10.0.0.", i), hub.VerdictWrong, now)
	}
	// The right password forgets the account's count.
	want("alice", "10.0.1.1", 30*time.Second)
	th.result("alice", "10.0.1.1", hub.VerdictOK, now)
	want("alice", "10.0.1.2", 0)
	// Per address: wrong passwords for different names each time.
	for i, d := range []time.Duration{0, 0, 0, 1, 2} {
		want(fmt.Sprint("user", i), "10.9.9.9", d*time.Second)
		th.result(fmt.Sprint("user", i), "10.9.9.9", hub.VerdictWrong, now)
	}
	// Checks that did not run do not count.
	want("user9", "10.9.9.9", 4*time.Second)
	th.result("user9", "10.9.9.9", hub.VerdictBusy, now)
	want("user10", "10.9.9.9", 4*time.Second)
	th.result("user10", "10.9.9.9", hub.VerdictWrong, now)
	// Counts halve every quiet minute: 6 wrong → 3 (+1) → 1 → 0.
	now = now.Add(time.Minute)
	want("user11", "10.9.9.9", time.Second)
	th.result("user11", "10.9.9.9", hub.VerdictWrong, now)
	now = now.Add(2 * time.Minute)
	want("user12", "10.9.9.9", 0)
	// Parallel guesses at one account, verdicts not yet known: they wait
	// like guesses in a row.
	for i, d := range []time.Duration{0, 0, 0, 1, 2, 4} {
		want("dave", fmt.Sprint("10.2.0.", i), d*time.Second)
	}
	// Many users logging in together from one address (a NAT, everyone
	// back after a restart): no wait, right or wrong, until wrong verdicts
	// come in.
	for i := range 50 {
		want(fmt.Sprint("member", i), "10.3.3.3", 0)
	}
	for i := range 50 {
		v := hub.VerdictOK
		if i < 3 {
			v = hub.VerdictWrong
		}
		th.result(fmt.Sprint("member", i), "10.3.3.3", v, now)
	}
	want("member0", "10.3.3.3", time.Second)
	// Refused resume tokens (every client's, after a restart with a new
	// key) count neither for the address nor for the account: the
	// passwords that follow go through at once.
	for i := range 50 {
		want(fmt.Sprint("back", i), "10.4.4.4", 0)
		th.tokenRefused(fmt.Sprint("back", i), now)
	}
	for i := range 50 {
		want(fmt.Sprint("back", i), "10.4.4.4", 0)
		th.result(fmt.Sprint("back", i), "10.4.4.4", hub.VerdictOK, now)
	}
	for range 5 {
		want("erin", "10.5.5.5", 0)
		th.tokenRefused("erin", now)
	}
	want("erin", "10.5.5.5", 0)
	// The table stays within its bound.
	small := newLoginThrottle(3, time.Second, 30*time.Second, time.Minute, 8)
	for i := range 100 {
		small.admit(fmt.Sprint("n", i), fmt.Sprint("10.1.", i), now)
		if len(small.keys) > 8 {
			t.Fatalf("%d keys kept, bound 8", len(small.keys))
		}
	}
	// Off: never a delay.
	off := newLoginThrottle(3, 0, 0, 0, 8)
	for range 10 {
		if d := off.admit("alice", "x", now); d != 0 {
			t.Fatalf("disabled throttle: %v", d)
		}
	}
}

func TestUsersFileModeWarning(t *testing.T) {
	dir := t.TempDir()
	path := writeUsers(t, dir, map[string]string{"alice": "wonderland"})
	var mu sync.Mutex
	var warnings []string
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if line := fmt.Sprintf(format, args...); strings.Contains(line, "warning") {
			warnings = append(warnings, line)
		}
	}
	// Saved by Save: 0600, no warning.
	v, err := NewVerifier(path, 1, nil, func() {}, logf)
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	if len(warnings) != 0 {
		t.Fatalf("warned about a 0600 file: %q", warnings)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o606, 0o620} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		warnings = nil
		v, err := NewVerifier(path, 1, nil, func() {}, logf)
		if err != nil {
			t.Fatal(err)
		}
		v.Close()
		want := fmt.Sprintf("warning: users file %s has mode %04o: others may read or change the password hashes; fix it with: chmod 600 %s", path, mode, path)
		if len(warnings) != 1 || warnings[0] != want {
			t.Fatalf("mode %04o: got %q, want %q", mode, warnings, want)
		}
	}
	// On a reload too: the file changes and is still readable by others.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	warnings = nil
	v, err = NewVerifier(path, 1, nil, func() {}, logf)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	u, _ := LoadUsers(path)
	u.Add("bob", cheapHash(t, "builder"))
	if err := u.Save(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := v.refresh(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 1 || !strings.Contains(warnings[0], "chmod 600 "+path) {
		t.Fatalf("reload: %q", warnings)
	}
}
