package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"chat/server/auth"
)

// stdinWith returns a file (not a terminal) whose content is s.
func stdinWith(t *testing.T, s string) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stdin")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, stdinWith(t, stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestUserCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "users.db")
	if code, _, errs := runCmd(t, "", "passwd", "-users", db, "alice"); code != 1 || !strings.Contains(errs, "no users file") {
		t.Fatalf("passwd without a file: %d %q", code, errs)
	}
	if code, out, errs := runCmd(t, "wonderland\r\n", "useradd", "-users", db, "alice"); code != 0 || !strings.Contains(out, "added user alice") {
		t.Fatalf("useradd: %d %q %q", code, out, errs)
	}
	u, err := auth.LoadUsers(db)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := u.Hash("alice")
	if !auth.CheckPassword(h, "wonderland") {
		t.Fatal("password not stored (or \\r\\n not stripped)")
	}
	if code, _, errs := runCmd(t, "x\n", "useradd", "-users", db, "alice"); code != 1 || !strings.Contains(errs, "already exists") {
		t.Fatalf("useradd twice: %d %q", code, errs)
	}
	if code, _, errs := runCmd(t, "\n", "useradd", "-users", db, "bob"); code != 1 || !strings.Contains(errs, "empty password") {
		t.Fatalf("empty password: %d %q", code, errs)
	}
	if code, _, errs := runCmd(t, "x\n", "useradd", "-users", db, "a b"); code != 1 || !strings.Contains(errs, "bad user name") {
		t.Fatalf("bad name: %d %q", code, errs)
	}
	if code, _, errs := runCmd(t, "x\n", "passwd", "-users", db, "bob"); code != 1 || !strings.Contains(errs, "no user bob") {
		t.Fatalf("passwd missing: %d %q", code, errs)
	}
	if code, _, _ := runCmd(t, "newpw\n", "passwd", "-users", db, "alice"); code != 0 {
		t.Fatalf("passwd: %d", code)
	}
	u, _ = auth.LoadUsers(db)
	h, _ = u.Hash("alice")
	if !auth.CheckPassword(h, "newpw") {
		t.Fatal("password not changed")
	}
	if code, _, errs := runCmd(t, "", "userdel", "-users", db, "bob"); code != 1 || !strings.Contains(errs, "no user bob") {
		t.Fatalf("userdel missing: %d %q", code, errs)
	}
	if code, _, _ := runCmd(t, "", "userdel", "-users", db, "alice"); code != 0 {
		t.Fatalf("userdel: %d", code)
	}
	if u, _ := auth.LoadUsers(db); u.Len() != 0 {
		t.Fatal("alice not deleted")
	}
}

func TestServeErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "users.db")
	code, _, errs := runCmd(t, "", "-addr", "127.0.0.1:0", "-users", missing)
	if code != 1 || !strings.Contains(errs, "cannot read users file "+missing+": no such file or directory (create it with: chat-server useradd -users "+missing+" NAME, or try chat-server -demo)") {
		t.Fatalf("missing users file: %d %q", code, errs)
	}
	if code, _, _ := runCmd(t, "", "-addr", "127.0.0.1:0", "70000"); code != 2 {
		t.Fatalf("bad port: %d", code)
	}
	if code, _, _ := runCmd(t, "", "1", "2"); code != 2 {
		t.Fatalf("two ports: %d", code)
	}
	db := filepath.Join(t.TempDir(), "users.db")
	runCmd(t, "pw\n", "useradd", "-users", db, "alice")
	code, _, errs = runCmd(t, "", "-addr", "256.0.0.1:0", "-users", db)
	if code != 1 || !strings.Contains(errs, "cannot listen on 256.0.0.1:0") {
		t.Fatalf("bad address: %d %q", code, errs)
	}
}
