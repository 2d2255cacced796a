package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"chat/harness"
	"chat/internal/wire"
	"chat/internal/wireconn"
)

// noUsersFileLine is what a guests server says once when it starts with no
// users file at path.
func noUsersFileLine(path string) string {
	return "no users file " + path + ": no accounts are registered; guests only (create one with: chat-server useradd -users " +
		path + " NAME; it is read without a restart)"
}

// badLogin is the hub's answer to an unknown name or a wrong password; a
// server without accounts gives it too, so no answer tells what exists.
const badLogin = "login failed: wrong name or password"

// TestBinaryGuestsWithoutUsersFile: chat-server -guests starts with no
// users file, says so once, serves guests and refuses logins as for an
// unknown name; an account useradd makes afterwards logs in without a
// restart.
func TestBinaryGuestsWithoutUsersFile(t *testing.T) {
	bin := buildBinary(t)
	users := filepath.Join(t.TempDir(), "users.db")
	var stderr harness.LockedBuffer
	cmd := exec.Command(bin, "-guests", "-addr", "127.0.0.1:0", "-users", users)
	cmd.Dir = t.TempDir()
	cmd.Stderr = &stderr
	addr, _ := startBinary(t, cmd)
	notice := noUsersFileLine(users)
	waitForText(t, &stderr, notice)

	a := dialHello(t, addr)
	if err := a.Claim("visitor", 10*time.Second); err != nil {
		t.Fatalf("guest claim: %v", err)
	}
	b := dialHello(t, addr)
	if err := b.Claim("other", 10*time.Second); err != nil {
		t.Fatalf("second guest claim: %v", err)
	}
	if _, err := a.CallOK(&wire.Frame{Type: wire.TypeTell, To: "other", Text: "hello without accounts"}, 10*time.Second); err != nil {
		t.Fatalf("tell: %v", err)
	}
	var f wire.Frame
	if err := b.NextWithin(&f, 10*time.Second); err != nil {
		t.Fatalf("waiting for the private message: %v", err)
	}
	if f.Type != wire.TypePrivate || f.From != "visitor" || f.Text != "hello without accounts" {
		t.Fatalf("other got %+v, want the private message from visitor", f)
	}

	// No accounts: a login is refused in the words an unknown name gets.
	refusedLogin(t, addr, "alice", "wonderland")

	// The operator adds an account; the server reads the file at the next
	// login.
	add := exec.Command(bin, "useradd", "-users", users, "alice")
	add.Stdin = strings.NewReader("wonderland\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v\n%s", err, out)
	}
	c := dialHello(t, addr)
	if err := c.Login("alice", "wonderland", 10*time.Second); err != nil {
		t.Fatalf("login after useradd, without a restart: %v; server said:\n%s", err, stderr.String())
	}
	refusedLogin(t, addr, "alice", "not her password")
	waitForText(t, &stderr, "users file "+users+" appeared: 1 account registered")
	if n := strings.Count(stderr.String(), "no users file"); n != 1 {
		t.Fatalf("the missing users file was mentioned %d times, want once:\n%s", n, stderr.String())
	}
}

// TestBinaryMissingUsersFileWithoutGuests: without -guests a server with no
// accounts is of no use, so a missing users file stays an error.
func TestBinaryMissingUsersFileWithoutGuests(t *testing.T) {
	bin := buildBinary(t)
	users := filepath.Join(t.TempDir(), "users.db")
	code, stderr := runToExit(t, exec.Command(bin, "-addr", "127.0.0.1:0", "-users", users))
	want := "chat-server: cannot read users file " + users + ": no such file or directory (create it with: chat-server useradd -users " +
		users + " NAME, or try chat-server -demo)\n"
	if code != 1 || stderr != want {
		t.Fatalf("exit %d, stderr %q; want exit 1, stderr %q", code, stderr, want)
	}
}

// TestBinaryGuestsUnreadableUsersFile: only a users file that does not exist
// may be missing; one the server may not read is an error with -guests too.
// Root reads any file, so as root the server runs as nobody.
func TestBinaryGuestsUnreadableUsersFile(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	users := filepath.Join(dir, "users.db")
	if err := os.WriteFile(users, nil, 0); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-guests", "-addr", "127.0.0.1:0", "-users", users)
	if os.Geteuid() == 0 {
		const nobody = 65534
		// nobody must reach the binary and the file's directory, and be
		// refused the file itself (mode 0000, owned by root).
		for _, d := range []string{filepath.Dir(bin), filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		cmd.Dir = dir
	}
	code, stderr := runToExit(t, cmd)
	want := "chat-server: cannot read users file " + users + ": permission denied\n"
	if code != 1 || stderr != want {
		t.Fatalf("exit %d, stderr %q; want exit 1, stderr %q", code, stderr, want)
	}
}

// TestServeGuestsBrokenUsersFile: a users file that is there but does not
// parse, or is no file, is an error with -guests too.
func TestServeGuestsBrokenUsersFile(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "users.db")
	if err := os.WriteFile(broken, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCmd(t, "", "-guests", "-quiet", "-addr", "127.0.0.1:0", "-users", broken)
	if want := "chat-server: bad users file: " + broken + " line 1: want NAME:HASH\n"; code != 1 || errs != want {
		t.Fatalf("broken users file: exit %d, stderr %q; want exit 1, %q", code, errs, want)
	}
	code, _, errs = runCmd(t, "", "-guests", "-quiet", "-addr", "127.0.0.1:0", "-users", dir)
	if want := "chat-server: cannot read users file " + dir + ": is a directory\n"; code != 1 || errs != want {
		t.Fatalf("a directory for a users file: exit %d, stderr %q; want exit 1, %q", code, errs, want)
	}
}

func dialHello(t *testing.T, addr string) *wireconn.Conn {
	t.Helper()
	c, err := wireconn.Dial(addr, wireconn.Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("guests-test", 10*time.Second); err != nil {
		t.Fatalf("hello: %v", err)
	}
	return c
}

// refusedLogin logs in on a new connection and wants the refusal an unknown
// name or a wrong password gets.
func refusedLogin(t *testing.T, addr, name, pw string) {
	t.Helper()
	c := dialHello(t, addr)
	err := c.Login(name, pw, 10*time.Second)
	refused, ok := errors.AsType[*wireconn.RefusedError](err)
	if !ok || refused.Code != wire.ErrBadLogin || refused.Text != badLogin {
		t.Fatalf("login %s: %v; want refused with code %d: %s", name, err, wire.ErrBadLogin, badLogin)
	}
}

// runToExit runs a server that must fail at once, and returns its status
// and standard error.
func runToExit(t *testing.T, cmd *exec.Cmd) (int, string) {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if _, exited := errors.AsType[*exec.ExitError](err); err != nil && !exited {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), stderr.String()
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running after 30s; stderr so far:\n%s", stderr.String())
		return 0, ""
	}
}

// waitForText polls what the server wrote to standard error for text.
func waitForText(t *testing.T, out *harness.LockedBuffer, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q on standard error within 10s; got:\n%s", text, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
