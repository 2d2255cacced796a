package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"chat/internal/wire"
)

// stderrLines collects a command's standard error line by line.
type stderrLines struct {
	mu    sync.Mutex
	lines []string
	news  chan string // every line, as it comes
	done  chan struct{}
}

func captureStderr(t *testing.T, cmd *exec.Cmd) *stderrLines {
	t.Helper()
	r, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	l := &stderrLines{news: make(chan string, 1<<16), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.lines = append(l.lines, sc.Text())
			l.mu.Unlock()
			select {
			case l.news <- sc.Text():
			default:
			}
		}
	}()
	return l
}

// waitLine waits until a line containing s is written, and returns it.
func (l *stderrLines) waitLine(t *testing.T, s string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line := <-l.news:
			if strings.Contains(line, s) {
				return line
			}
		case <-l.done:
			if len(l.news) == 0 {
				t.Fatalf("standard error ended without %q", s)
			}
		case <-timeout:
			t.Fatalf("no %q on standard error", s)
		}
	}
}

func (l *stderrLines) all() string {
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func TestBinaryWarnsAboutUsersFileMode(t *testing.T) {
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "users.db")
	if code, _, errs := runCmd(t, "wonderland\n", "useradd", "-users", db, "alice"); code != 0 {
		t.Fatalf("useradd: %d %s", code, errs)
	}
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-users", db)
	errs := captureStderr(t, cmd)
	startBinary(t, cmd)
	want := "warning: users file " + db + " has mode 0644: others may read or change the password hashes; fix it with: chmod 600 " + db
	if line := errs.waitLine(t, "warning"); !strings.HasSuffix(line, want) {
		t.Fatalf("warning line %q, want it to end with %q", line, want)
	}
}

// TestBinaryPasswordNeverShown runs useradd and a server with its log on,
// logs in with a distinctive password right and wrong, and looks for the
// password in everything the programs wrote and in the process listing.
func TestBinaryPasswordNeverShown(t *testing.T) {
	const secret = "Zebra-Quartz-9137-Secret"
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "users.db")
	code, out, errs := runCmd(t, secret+"\n", "useradd", "-users", db, "carol")
	if code != 0 {
		t.Fatalf("useradd: %d %s", code, errs)
	}
	if strings.Contains(out+errs, secret) {
		t.Fatalf("useradd showed the password: %q %q", out, errs)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-users", db)
	log := captureStderr(t, cmd)
	addr, before := startBinary(t, cmd)
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "cmdline"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(cmdline, []byte(secret)) || strings.Contains(strings.Join(before, "\n"), secret) {
		t.Fatalf("the password is in the command line or the output")
	}
	c, d := rawLogin(t, addr, "", "")
	var buf []byte
	buf = wire.Append(buf, &wire.Frame{Type: wire.TypeLogin, ID: 2, Name: "carol", Secret: secret + "!"})
	buf = wire.Append(buf, &wire.Frame{Type: wire.TypeLogin, ID: 3, Name: "nobody", Secret: secret})
	buf = wire.Append(buf, &wire.Frame{Type: wire.TypeLogin, ID: 4, Name: "carol", Secret: secret})
	c.Write(buf)
	for _, want := range []wire.Code{wire.ErrBadLogin, wire.ErrBadLogin, wire.OK} {
		if f := readFrame(t, c, d); f.Type != wire.TypeReply || f.Code != want {
			t.Fatalf("want code %d, got %+v", want, f)
		}
	}
	log.waitLine(t, "logged in as carol")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	text := log.all()
	if !strings.Contains(text, "failed login as carol") {
		t.Fatalf("the log does not show the failed login:\n%s", text)
	}
	if strings.Contains(text, secret) || strings.Contains(text, "Zebra") {
		t.Fatalf("the password is in the log:\n%s", text)
	}
}
