package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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

// readyRE is the ready line; " (TLS)" follows the address when the main
// chat listener serves TLS.
var readyRE = regexp.MustCompile(`^chat-server: listening on (\S+)( \(TLS\))?$`)

// started is what a server printed up to its ready line.
type started struct {
	addr   string
	tls    bool     // the ready line says (TLS)
	before []string // the lines before it
	tmp    string   // the server's TMPDIR, where -demo makes its files
}

// startBinary starts the server and returns its address once the ready
// line is out. Lines before it are returned too.
func startBinary(t *testing.T, cmd *exec.Cmd) (addr string, before []string) {
	t.Helper()
	s := startReady(t, cmd)
	return s.addr, s.before
}

// startReady starts the server and waits, within a deadline, for its ready
// line.
func startReady(t *testing.T, cmd *exec.Cmd) started {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// A demo users directory left by a killed server lands in the test's
	// temporary directory, which is removed after the test.
	s := started{tmp: t.TempDir()}
	cmd.Env = append(os.Environ(), "TMPDIR="+s.tmp)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("no ready line; got %q", s.before)
			}
			if m := readyRE.FindStringSubmatch(line); m != nil {
				go func() {
					for range lines {
					}
				}()
				s.addr, s.tls = m[1], m[2] != ""
				return s
			}
			s.before = append(s.before, line)
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("no ready line within 30s; got %q", s.before)
		}
	}
}

func rawLogin(t *testing.T, addr, name, pw string) (net.Conn, *wire.Decoder) {
	t.Helper()
	return rawLoginTLS(t, addr, nil, name, pw)
}

// rawLoginTLS is rawLogin over TLS with cfg, or plain TCP when cfg is nil.
func rawLoginTLS(t *testing.T, addr string, cfg *tls.Config, name, pw string) (net.Conn, *wire.Decoder) {
	t.Helper()
	var c net.Conn
	var err error
	if cfg != nil {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	} else {
		c, err = net.Dial("tcp", addr)
	}
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

// TestBinaryDemoAndSignal runs -demo, which serves TLS with a certificate
// made for the run: a client that pins the fingerprint the demo printed
// logs in as alice, and the certificate is issued to localhost. SIGINT
// then shuts the server down gracefully, and the demo's files go with it.
func TestBinaryDemoAndSignal(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "-demo", "-addr", "127.0.0.1:0")
	cmd.Dir = t.TempDir()
	s := startReady(t, cmd)
	addr, before := s.addr, s.before
	m := lineMatching(t, before, `^chat-server: demo accounts \(passwords shown once\): alice (\S{12}), bob (\S{12})$`)
	if !s.tls {
		t.Fatalf("the demo's ready line does not say (TLS); lines before it: %q", before)
	}
	fingerprint := lineMatching(t, before, fingerprintLine)[1]
	_, port, _ := net.SplitHostPort(addr)
	connect := lineMatching(t, before, `^chat-server: demo: connect with: chat -tls-fingerprint (\S+) tls://localhost:(\d+)$`)
	if connect[2] != port || connect[1] != fingerprint {
		t.Fatalf("connect line %q, want port %s and certificate %s", connect[0], port, fingerprint)
	}
	var served *x509.Certificate
	pin := pinning(fingerprint)
	verify := pin.VerifyConnection
	pin.VerifyConnection = func(cs tls.ConnectionState) error {
		served = cs.PeerCertificates[0]
		return verify(cs)
	}
	c, d := rawLoginTLS(t, addr, pin, "alice", m[1])
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := served.VerifyHostname(host); err != nil {
			t.Errorf("the demo certificate: %v", err)
		}
	}
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
	if ents, _ := os.ReadDir(s.tmp); len(ents) != 0 {
		t.Fatalf("the demo's users file and certificate outlived the server: %v", ents)
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
