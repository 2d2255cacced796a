package harness

import (
	"bufio"
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"chat/internal/certs"
)

// ReadyPattern matches the line the server prints on standard output once it
// accepts connections; its group is the address it listens on.
const ReadyPattern = `chat-server: listening on (\S+)`

// readyTimeout bounds how long a server may take to print its ready line.
const readyTimeout = 10 * time.Second

var readyLine = regexp.MustCompile(ReadyPattern)

// IRCReadyPattern is the line a server started with -irc prints, before its
// ready line, with the address of its IRC listener.
const IRCReadyPattern = `chat-server: IRC listening on (\S+)`

var ircReadyLine = regexp.MustCompile(IRCReadyPattern)

// IRCTLSReadyPattern is the line of a server started with -irc-tls, before
// its ready line, with the address of its IRC listener over TLS.
const IRCTLSReadyPattern = `chat-server: IRC TLS listening on (\S+)`

var ircTLSReadyLine = regexp.MustCompile(IRCTLSReadyPattern)

// ServerOptions says how to start a server.
type ServerOptions struct {
	// Users are the accounts of the users file: name → password. The file
	// is made with "chat-server useradd", the way an operator makes it.
	Users map[string]string
	// Args are extra flags, after -addr and -users.
	Args []string
	// Dir holds the users file; a new temporary directory when empty,
	// removed when the server is stopped.
	Dir string
	// IRC also opens the IRC listener on 127.0.0.1 at a port the kernel
	// chooses (-irc); its address is Server.IRCAddr.
	IRC bool
	// TLS serves the chat protocol over TLS only (-tls-cert, -tls-key), with
	// a self-signed certificate for localhost and 127.0.0.1 made for the
	// run (Server.Cert).
	TLS bool
	// IRCTLS also opens an IRC listener over TLS (-irc-tls), with the same
	// certificate; its address is Server.IRCTLSAddr.
	IRCTLS bool
}

// Cert is the certificate a server started with ServerOptions.TLS or
// IRCTLS serves.
type Cert struct {
	CertFile, KeyFile string
	// Fingerprint is its SHA-256, as certs.Fingerprint writes it.
	Fingerprint string
}

// Server is a chat-server process listening on 127.0.0.1 at a port the
// kernel chose.
type Server struct {
	Addr       string // host:port from the ready line
	IRCAddr    string // host:port of the IRC listener (ServerOptions.IRC)
	IRCTLSAddr string // host:port of IRC over TLS (ServerOptions.IRCTLS)
	UsersFile  string
	Cert       Cert // with ServerOptions.TLS or IRCTLS

	cmd     *exec.Cmd
	stdout  LockedBuffer
	stderr  LockedBuffer
	exited  chan struct{}
	state   *os.ProcessState
	cleanup func()
}

// StartServer writes a users file with opts.Users, starts
// "chat-server -addr 127.0.0.1:0 -users FILE opts.Args..." and waits for its
// ready line.
func StartServer(opts ServerOptions) (*Server, error) {
	bin, err := Binaries()
	if err != nil {
		return nil, err
	}
	users, cert, cleanup, err := prepare(bin, opts)
	if err != nil {
		return nil, err
	}
	s := &Server{UsersFile: users, Cert: cert, exited: make(chan struct{}), cleanup: cleanup}
	args := serverArgs(opts, users, cert)
	s.cmd = exec.Command(filepath.Join(bin, ServerBinary), args...)
	// Its own process group, so ^C typed at the test runner does not reach
	// it before the test's cleanup does.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		cleanup()
		return nil, err
	}
	s.cmd.Stdout, s.cmd.Stderr = pw, &s.stderr
	if err := s.cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		cleanup()
		return nil, fmt.Errorf("start chat-server: %w", err)
	}
	pw.Close()
	ready := make(chan string, 1)
	go s.readStdout(pr, ready)
	go func() {
		_ = s.cmd.Wait()
		s.state = s.cmd.ProcessState
		close(s.exited)
	}()
	select {
	case s.Addr = <-ready:
		return s, nil
	case <-s.exited:
		err = fmt.Errorf("chat-server exited with status %d before its ready line", ExitStatus(s.state))
	case <-time.After(readyTimeout):
		err = fmt.Errorf("chat-server printed no ready line /%s/ within %v", ReadyPattern, readyTimeout)
	}
	err = fmt.Errorf("%w\n%s", err, s.Output())
	s.Kill()
	return nil, err
}

// readStdout keeps all of standard output and reports the ready line's
// address once.
func (s *Server) readStdout(r *os.File, ready chan<- string) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	found := false
	for sc.Scan() {
		s.stdout.Write(append(sc.Bytes(), '\n'))
		// Printed before the ready line, read before it is sent.
		if m := ircReadyLine.FindStringSubmatch(sc.Text()); m != nil && !found {
			s.IRCAddr = m[1]
		}
		if m := ircTLSReadyLine.FindStringSubmatch(sc.Text()); m != nil && !found {
			s.IRCTLSAddr = m[1]
		}
		if m := readyLine.FindStringSubmatch(sc.Text()); m != nil && !found {
			found = true
			ready <- m[1]
		}
	}
}

// Output returns what the server printed so far, for failure messages.
func (s *Server) Output() string {
	return fmt.Sprintf("chat-server stdout:\n%s\nchat-server stderr:\n%s", s.stdout.String(), s.stderr.String())
}

// Stdout and Stderr return what the server printed on each so far.
func (s *Server) Stdout() string { return s.stdout.String() }
func (s *Server) Stderr() string { return s.stderr.String() }

// Pid returns the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Exited is closed when the server has exited.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Stop sends sig and waits up to timeout for the server to exit, returning
// its status (128+N for a death by signal N). A server still running at the
// deadline is left running: the caller's Kill cleans up.
func (s *Server) Stop(sig os.Signal, timeout time.Duration) (exitCode int, err error) {
	select {
	case <-s.exited:
	default:
		if err := s.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return -1, fmt.Errorf("signal chat-server: %w", err)
		}
	}
	select {
	case <-s.exited:
	case <-time.After(timeout):
		return -1, fmt.Errorf("chat-server still running %v after %v\n%s", timeout, sig, s.Output())
	}
	s.cleanup()
	return ExitStatus(s.state), nil
}

// Kill ends the server at once if it still runs and removes its files. It is
// safe to call more than once, and after Stop.
func (s *Server) Kill() {
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cleanup()
}

// StartServerTerminal runs the server on a pseudo-terminal, as an operator
// does, so a spec can type ^C into it. It returns the terminal and the
// address from the ready line. Closing the terminal removes the users file.
func StartServerTerminal(opts ServerOptions) (*Terminal, string, error) {
	bin, err := Binaries()
	if err != nil {
		return nil, "", err
	}
	users, cert, cleanup, err := prepare(bin, opts)
	if err != nil {
		return nil, "", err
	}
	t, err := StartTerminal(filepath.Join(bin, ServerBinary), serverArgs(opts, users, cert)...)
	if err != nil {
		cleanup()
		return nil, "", err
	}
	t.onClose = cleanup
	m, err := t.Expect(ReadyPattern, readyTimeout)
	if err != nil {
		t.Close()
		return nil, "", err
	}
	return t, m[1], nil
}

// serverArgs is the command line of a server started with opts.
func serverArgs(opts ServerOptions, users string, cert Cert) []string {
	args := []string{"-addr", "127.0.0.1:0", "-users", users}
	if opts.IRC {
		args = append(args, "-irc", "127.0.0.1:0")
	}
	if opts.TLS || opts.IRCTLS {
		args = append(args, "-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile)
	}
	if opts.IRCTLS {
		args = append(args, "-irc-tls", "127.0.0.1:0")
		if !opts.TLS {
			args = append(args, "-tls-addr", "") // the chat protocol stays plain
		}
	}
	return append(args, opts.Args...)
}

// prepare makes the users file, and the certificate if opts asks for TLS,
// in opts.Dir or a new temporary directory, and returns their paths and
// what removes what it made.
func prepare(bin string, opts ServerOptions) (users string, cert Cert, cleanup func(), err error) {
	dir := opts.Dir
	cleanup = func() {}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "chat-server-"); err != nil {
			return "", Cert{}, nil, err
		}
		var once sync.Once
		cleanup = func() { once.Do(func() { os.RemoveAll(dir) }) }
	}
	users = filepath.Join(dir, "users.db")
	if err := WriteUsers(bin, users, opts.Users); err != nil {
		cleanup()
		return "", Cert{}, nil, err
	}
	if opts.TLS || opts.IRCTLS {
		if cert, err = WriteCert(dir, "localhost", "127.0.0.1"); err != nil {
			cleanup()
			return "", Cert{}, nil, err
		}
	}
	return users, cert, cleanup, nil
}

// WriteCert writes a self-signed certificate for hosts, valid for a day,
// and its key into dir (server.crt, server.key).
func WriteCert(dir string, hosts ...string) (Cert, error) {
	certPEM, keyPEM, err := certs.SelfSigned(hosts, 24*time.Hour)
	if err != nil {
		return Cert{}, err
	}
	c := Cert{CertFile: filepath.Join(dir, "server.crt"), KeyFile: filepath.Join(dir, "server.key")}
	if err := certs.WriteFiles(c.CertFile, c.KeyFile, certPEM, keyPEM); err != nil {
		return Cert{}, err
	}
	block, _ := pem.Decode(certPEM)
	c.Fingerprint = certs.Fingerprint(block.Bytes)
	return c, nil
}

// WriteUsers creates the users file with the given accounts by running
// "chat-server useradd -users FILE NAME" with the password on standard
// input. With no accounts it creates an empty file, so the server starts.
func WriteUsers(bin, file string, users map[string]string) error {
	if len(users) == 0 {
		return os.WriteFile(file, nil, 0o600)
	}
	names := make([]string, 0, len(users))
	for name := range users {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		cmd := exec.Command(filepath.Join(bin, ServerBinary), "useradd", "-users", file, name)
		cmd.Stdin = strings.NewReader(users[name] + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("chat-server useradd %s: %w\n%s", name, err, out)
		}
	}
	return nil
}

// RunServer runs chat-server with args to completion (or until timeout,
// when it is killed) and returns its status and output: for the runs that
// must fail at once, and for subcommands.
func RunServer(timeout time.Duration, args ...string) (exitCode int, stdout, stderr string, err error) {
	bin, err := Binaries()
	if err != nil {
		return -1, "", "", err
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(filepath.Join(bin, ServerBinary), args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		return -1, "", "", err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
		return ExitStatus(cmd.ProcessState), out.String(), errOut.String(), nil
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		return -1, out.String(), errOut.String(), fmt.Errorf("chat-server %s still running after %v", strings.Join(args, " "), timeout)
	}
}

// LockedBuffer is a bytes.Buffer that one goroutine writes while others
// read: a server's output while a test polls it.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
