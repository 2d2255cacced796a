package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"chat/harness"
	"chat/internal/wire"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	// serve, called in process by these tests, starts its password workers
	// as this program with the hash-worker subcommand: this test binary.
	if len(os.Args) > 1 && os.Args[1] == hashWorkerCommand {
		os.Exit(hashWorker(os.Stdin, os.Stdout, os.Stderr))
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildBinary builds chat-server once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "chat-server-test-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "chat-server")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

var readyRE = regexp.MustCompile(`^chat-server: listening on (\S+)$`)

// startBinary starts the server and returns its address once the ready
// line is out. Lines before it are returned too.
func startBinary(t *testing.T, cmd *exec.Cmd) (addr string, before []string) {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// A demo users directory left by a killed server lands in the test's
	// temporary directory, which is removed after the test.
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := readyRE.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, stdout)
			return m[1], before
		}
		before = append(before, sc.Text())
	}
	t.Fatalf("no ready line; got %q", before)
	return "", nil
}

func rawLogin(t *testing.T, addr, name, pw string) (net.Conn, *wire.Decoder) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var buf []byte
	buf = wire.Append(buf, &wire.Frame{Type: wire.TypeHello, ID: 1, Version: wire.Version})
	if name != "" {
		buf = wire.Append(buf, &wire.Frame{Type: wire.TypeLogin, ID: 2, Name: name, Secret: pw})
	}
	c.Write(buf)
	d := &wire.Decoder{}
	for i := 0; i < 2 && (name != "" || i == 0); i++ {
		if f := readFrame(t, c, d); f.Type != wire.TypeReply || f.Code != wire.OK {
			t.Fatalf("hello/login: %+v", f)
		}
	}
	return c, d
}

func readFrame(t *testing.T, c net.Conn, d *wire.Decoder) *wire.Frame {
	t.Helper()
	f, err := tryFrame(c, d)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func tryFrame(c net.Conn, d *wire.Decoder) (*wire.Frame, error) {
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var f wire.Frame
		if ok, err := d.Next(&f); err != nil || ok {
			return &f, err
		}
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		d.Feed(buf[:n])
	}
}

func TestBinaryDemoAndSignal(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "-demo", "-addr", "127.0.0.1:0")
	cmd.Dir = t.TempDir()
	addr, before := startBinary(t, cmd)
	m := regexp.MustCompile(`^chat-server: demo accounts \(passwords shown once\): alice (\S{12}), bob (\S{12})$`).FindStringSubmatch(strings.Join(before, "\n"))
	if m == nil {
		t.Fatalf("demo line: %q", before)
	}
	c, d := rawLogin(t, addr, "alice", m[1])
	// The password was checked by a child process at the lowest priority.
	workers := harness.Children(cmd.Process.Pid, hashWorkerCommand)
	if len(workers) == 0 {
		t.Fatal("no hash-worker child after a login")
	}
	for pid, nice := range workers {
		if nice != 19 {
			t.Errorf("hash worker %d at nice %d, want 19", pid, nice)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if f := readFrame(t, c, d); f.Type != wire.TypeNotice || f.Code != wire.NoticeShutdown {
		t.Fatalf("want shutdown notice, got %+v", f)
	}
	if f := readFrame(t, c, d); f.Type != wire.TypeBye || f.Code != wire.ByeShutdown {
		t.Fatalf("want bye, got %+v", f)
	}
	if _, err := tryFrame(c, d); !errors.Is(err, io.EOF) {
		t.Fatalf("want EOF, got %v", err)
	}
	c.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGINT: %v", err)
	}
	if ents, _ := os.ReadDir(cmd.Dir); len(ents) != 0 {
		t.Fatalf("demo wrote into the working directory: %v", ents)
	}
	for pid := range workers {
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err == nil {
			t.Errorf("hash worker %d outlived the server", pid)
		}
	}
}

// lineMatching returns the submatches of the first line matching re.
func lineMatching(t *testing.T, lines []string, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	for _, l := range lines {
		if m := rx.FindStringSubmatch(l); m != nil {
			return m
		}
	}
	t.Fatalf("no line /%s/ in %q", re, lines)
	return nil
}
