package auth

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// t0 is the fixed time of tests that pass the time in.
var t0 = time.Date(2026, 11, 21, 14, 3, 7, 0, time.UTC)

// cheapHash makes a valid argon2id hash quickly, for tests.
func cheapHash(t testing.TB, pw string) string {
	t.Helper()
	h, err := hashWith(pw, 64, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func writeUsers(t testing.TB, dir string, pws map[string]string) string {
	t.Helper()
	u := &Users{}
	for name, pw := range pws {
		if err := u.Add(name, cheapHash(t, pw)); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "users.db")
	if err := u.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}
