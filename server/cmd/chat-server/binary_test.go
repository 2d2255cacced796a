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

	"chat/internal/wire"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
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
}

func TestBinarySecondInterruptKills(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "-demo", "-addr", "127.0.0.1:0", "-shutdown-timeout", "1m")
	addr, _ := startBinary(t, cmd)
	// A client that never closes keeps the graceful shutdown waiting.
	c, d := rawLogin(t, addr, "", "")
	cmd.Process.Signal(syscall.SIGINT)
	readFrame(t, c, d) // the shutdown has started
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
		t.Fatalf("want death by SIGINT, got %v", err)
	}
}

// TestBinaryOutOfDescriptors runs the server with a low descriptor limit:
// connections beyond it wait in the backlog, the server does not spin on
// EMFILE, and serves them once descriptors are free again.
func TestBinaryOutOfDescriptors(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command("sh", "-c", `ulimit -n 24 && exec "$0" "$@"`, bin, "-demo", "-addr", "127.0.0.1:0")
	addr, before := startBinary(t, cmd)
	_ = before
	var conns []net.Conn
	for i := 0; i < 20; i++ {
		c, err := net.Dial("tcp", addr) // completes in the kernel backlog
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(wire.Encode(&wire.Frame{Type: wire.TypeHello, ID: 1, Version: wire.Version}))
		conns = append(conns, c)
	}
	// The first connections are served.
	readFrame(t, conns[0], &wire.Decoder{})
	// Measure CPU over a short window while at the limit: a loop spinning
	// on EMFILE would burn all of it.
	cpu := func() time.Duration {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		ut, _ := strconv.Atoi(f[11])
		st, _ := strconv.Atoi(f[12])
		return time.Duration(ut+st) * 10 * time.Millisecond
	}
	c0 := cpu()
	window := time.NewTimer(500 * time.Millisecond)
	<-window.C
	if used := cpu() - c0; used > 200*time.Millisecond {
		t.Fatalf("server used %v of CPU in 500ms at the descriptor limit", used)
	}
	// Free descriptors: the waiting connections are served.
	for _, c := range conns[:12] {
		c.Close()
	}
	for _, c := range conns[12:] {
		if f := readFrame(t, c, &wire.Decoder{}); f.Type != wire.TypeReply || f.Code != wire.OK {
			t.Fatalf("late hello: %+v", f)
		}
	}
	// And it still shuts down cleanly.
	for _, c := range conns[12:] {
		c.Close()
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}
