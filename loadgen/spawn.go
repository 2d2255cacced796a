package loadgen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// SpawnedServer is a chat-server loadgen started for the run (-spawn-server).
type SpawnedServer struct {
	Addr    string
	IRCAddr string // its IRC listener's, with SpawnOptions.IRC (over TLS with SpawnOptions.TLS)
	PID     int
	CertPEM []byte // the certificate it serves, with SpawnOptions.TLS
	cmd     *exec.Cmd
	dir     string
	logPath string
	exited  chan struct{}
}

// SpawnOptions say how to start the server.
type SpawnOptions struct {
	UsersFile string
	Guests    bool // -guests: claims without a password
	// TLS serves the chat protocol over TLS only, with a self-signed
	// certificate for 127.0.0.1 made for the run in the server's
	// temporary directory (SpawnedServer.CertPEM).
	TLS bool
	// IRC opens the server's IRC listener on a free loopback port too
	// (-irc, or -irc-tls with TLS): SpawnedServer.IRCAddr.
	IRC     bool
	Args    []string      // more flags, after loadgen's
	Timeout time.Duration // longest wait for the ready line
}

// readyPrefix starts the server's ready line: "chat-server: listening on
// ADDR", followed by " (TLS)" when it serves TLS there.
const readyPrefix = "chat-server: listening on "

// ircPrefix and ircTLSPrefix start the lines that name the IRC
// listeners, printed before the ready line.
const (
	ircPrefix    = "chat-server: IRC listening on "
	ircTLSPrefix = "chat-server: IRC TLS listening on "
)

// ircAddr returns the address of the IRC listener line, the TLS one's
// when tls is set; ok false for any other line.
func ircAddr(line string, tls bool) (addr string, ok bool) {
	prefix := ircPrefix
	if tls {
		prefix = ircTLSPrefix
	}
	rest, ok := strings.CutPrefix(line, prefix)
	if !ok || rest == "" {
		return "", false
	}
	return strings.Fields(rest)[0], true
}

// readyAddr returns the address of a ready line, ok false for any other
// line.
func readyAddr(line string) (addr string, ok bool) {
	rest, ok := strings.CutPrefix(line, readyPrefix)
	if !ok {
		return "", false
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return "", false
	}
	return f[0], true
}

// SpawnServer starts the chat-server binary at path on a free loopback port
// and waits for its ready line. Its log, and with TLS its certificate and
// key, go to a temporary directory that Stop removes.
func SpawnServer(path string, opts SpawnOptions) (*SpawnedServer, error) {
	dir, err := os.MkdirTemp("", "loadgen-server-")
	if err != nil {
		return nil, fmt.Errorf("spawn server: %w", err)
	}
	s := &SpawnedServer{dir: dir, logPath: filepath.Join(dir, "server.log"), exited: make(chan struct{})}
	args := []string{"-addr", "127.0.0.1:0", "-users", opts.UsersFile, "-quiet"}
	if opts.Guests {
		args = append(args, "-guests")
	}
	if opts.TLS {
		certFile, keyFile, certPEM, err := writeServerCert(dir)
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("spawn server: %w", err)
		}
		s.CertPEM = certPEM
		args = append(args, "-tls-cert", certFile, "-tls-key", keyFile)
	}
	switch {
	case opts.IRC && opts.TLS:
		args = append(args, "-irc-tls", "127.0.0.1:0")
	case opts.IRC:
		args = append(args, "-irc", "127.0.0.1:0")
	}
	args = append(args, opts.Args...)
	logFile, err := os.Create(s.logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("spawn server: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor
	s.cmd = exec.Command(path, args...)
	s.cmd.Stderr = logFile
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("spawn server: %w", err)
	}
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("spawn server %s: %w", path, err)
	}
	s.PID = s.cmd.Process.Pid
	type listening struct{ addr, irc string }
	ready := make(chan listening, 1)
	go func() {
		// Read the listeners' lines up to the ready line, which comes last,
		// then keep draining stdout so the server never blocks on a full
		// pipe.
		sc := bufio.NewScanner(stdout)
		var irc string
		for sc.Scan() {
			if a, ok := ircAddr(sc.Text(), opts.TLS); ok {
				irc = a
			}
			if a, ok := readyAddr(sc.Text()); ok {
				select {
				case ready <- listening{a, irc}:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
		s.cmd.Wait()
		close(s.exited)
	}()
	select {
	case l := <-ready:
		s.Addr, s.IRCAddr = l.addr, l.irc
		if opts.IRC && s.IRCAddr == "" {
			s.Stop()
			return nil, errors.New("spawn server: it was ready without saying where its IRC listener is")
		}
		return s, nil
	case <-s.exited:
		defer os.RemoveAll(dir)
		return nil, fmt.Errorf("spawn server: it exited before it was ready: %s", s.failure())
	case <-time.After(opts.Timeout):
		defer os.RemoveAll(dir)
		s.cmd.Process.Kill()
		<-s.exited
		return nil, fmt.Errorf("spawn server: no ready line within %v: %s", opts.Timeout, s.failure())
	}
}

// failure describes why the server failed, from its log. It is called
// only once the server has exited.
func (s *SpawnedServer) failure() string { return logTail(s.logPath, s.cmd.ProcessState) }

// logTail is the end of a server's log (its last 2000 bytes), after how
// the process ended if it has.
func logTail(logPath string, state *os.ProcessState) string {
	log, _ := os.ReadFile(logPath)
	text := strings.TrimSpace(string(log))
	if len(text) > 2000 {
		text = "..." + text[len(text)-2000:]
	}
	if state != nil {
		text = state.String() + ": " + text
	}
	return text
}

// Stop ends the server: SIGTERM for a graceful shutdown, SIGKILL if it is
// not gone in 10 s. It returns an error if the server had already died
// (it crashed during the run) or did not stop cleanly.
func (s *SpawnedServer) Stop() error {
	defer os.RemoveAll(s.dir)
	select {
	case <-s.exited:
		return fmt.Errorf("the server died during the run: %s", s.failure())
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		return errors.New("the server did not stop within 10s of SIGTERM; killed")
	}
	if st := s.cmd.ProcessState; !st.Success() {
		return fmt.Errorf("the server stopped with %s: %s", st, s.failure())
	}
	return nil
}
