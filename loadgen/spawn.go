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
	"sync"
	"syscall"
	"time"
)

// SpawnedServer is a chat-server loadgen started for the run (-spawn-server).
// The crash profile kills it and starts it again (Kill, Restart): the
// methods may be called from any goroutine, Stop included, which is how an
// interrupted run stops it.
type SpawnedServer struct {
	Addr    string
	IRCAddr string // its IRC listener's, with SpawnOptions.IRC (over TLS with SpawnOptions.TLS)
	PID     int    // of the first process; Process gives the current one's
	CertPEM []byte // the certificate it serves, with SpawnOptions.TLS
	path    string
	args    []string // as first started: listening on port 0
	opts    SpawnOptions
	dir     string
	logPath string

	mu      sync.Mutex
	proc    *serverProcess // the one running, or the last one
	stopped bool           // Stop was called: start nothing more
}

// serverProcess is one incarnation of the server.
type serverProcess struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process is gone and reaped
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
	s := &SpawnedServer{path: path, opts: opts, dir: dir, logPath: filepath.Join(dir, "server.log")}
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
	s.args = append(args, opts.Args...)
	l, err := s.start(s.args)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("spawn server: %w", err)
	}
	s.Addr, s.IRCAddr, s.PID = l.addr, l.irc, l.pid
	if opts.IRC && s.IRCAddr == "" {
		s.Stop()
		return nil, errors.New("spawn server: it was ready without saying where its IRC listener is")
	}
	return s, nil
}

// listening is what a started server said: where it listens.
type listening struct {
	addr, irc string
	pid       int
}

// start starts one process of the server with args, its stderr appended to
// the log, and waits for its ready line. A process that exits or stays
// silent is reaped before start returns its error.
func (s *SpawnedServer) start(args []string) (listening, error) {
	logFile, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return listening{}, err
	}
	defer logFile.Close() // the child has its own descriptor
	p := &serverProcess{cmd: exec.Command(s.path, args...), exited: make(chan struct{})}
	p.cmd.Stderr = logFile
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return listening{}, err
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return listening{}, errors.New("the run is stopping")
	}
	if err := p.cmd.Start(); err != nil {
		s.mu.Unlock()
		return listening{}, fmt.Errorf("start %s: %w", s.path, err)
	}
	s.proc = p
	s.mu.Unlock()
	ready := make(chan listening, 1)
	go func() {
		// Read the listeners' lines up to the ready line, which comes last,
		// then keep draining stdout so the server never blocks on a full
		// pipe.
		sc := bufio.NewScanner(stdout)
		var irc string
		for sc.Scan() {
			if a, ok := ircAddr(sc.Text(), s.opts.TLS); ok {
				irc = a
			}
			if a, ok := readyAddr(sc.Text()); ok {
				select {
				case ready <- listening{addr: a, irc: irc, pid: p.cmd.Process.Pid}:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
		p.cmd.Wait()
		close(p.exited)
	}()
	timer := time.NewTimer(s.opts.Timeout)
	defer timer.Stop()
	select {
	case l := <-ready:
		return l, nil
	case <-p.exited:
		return listening{}, fmt.Errorf("it exited before it was ready: %s", p.failure(s.logPath))
	case <-timer.C:
		p.cmd.Process.Kill()
		<-p.exited
		return listening{}, fmt.Errorf("no ready line within %v: %s", s.opts.Timeout, p.failure(s.logPath))
	}
}

// current is the process running, or the last one.
func (s *SpawnedServer) current() *serverProcess {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// Process is the PID of the server's current process.
func (s *SpawnedServer) Process() int { return s.current().cmd.Process.Pid }

// Kill ends the server with SIGKILL, as a crash would: no shutdown, no
// last save; it returns once the process is gone. It returns an error if
// the server had died already.
func (s *SpawnedServer) Kill() error {
	p := s.current()
	select {
	case <-p.exited:
		return fmt.Errorf("the server died before it was killed: %s", p.failure(s.logPath))
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	return nil
}

// Restart starts the server again after Kill, with the arguments it was
// first given but on the address it had, so clients reconnect where they
// were; its log goes on in the same file. Go's listeners set SO_REUSEADDR,
// so the address is free again at once, its old connections' TIME_WAIT
// notwithstanding.
func (s *SpawnedServer) Restart() error {
	args := make([]string, len(s.args))
	copy(args, s.args)
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "-addr":
			args[i+1] = s.Addr
		case "-irc", "-irc-tls":
			args[i+1] = s.IRCAddr
		}
	}
	if f, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_APPEND, 0); err == nil {
		fmt.Fprintf(f, "loadgen: restarting the server at %s\n", time.Now().Format(time.RFC3339Nano))
		f.Close()
	}
	l, err := s.start(args)
	if err != nil {
		return fmt.Errorf("restart the server on %s: %w", s.Addr, err)
	}
	if l.addr != s.Addr {
		return fmt.Errorf("restart the server: it listens on %s instead of %s", l.addr, s.Addr)
	}
	return nil
}

// failure describes why the process failed, from the server's log. It is
// called only once the process has exited.
func (p *serverProcess) failure(logPath string) string {
	return logTail(logPath, p.cmd.ProcessState)
}

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
	s.mu.Lock()
	s.stopped = true
	p := s.proc
	s.mu.Unlock()
	select {
	case <-p.exited:
		return fmt.Errorf("the server died during the run: %s", p.failure(s.logPath))
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		return errors.New("the server did not stop within 10s of SIGTERM; killed")
	}
	if st := p.cmd.ProcessState; !st.Success() {
		return fmt.Errorf("the server stopped with %s: %s", st, p.failure(s.logPath))
	}
	return nil
}
