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
	PID     int
	cmd     *exec.Cmd
	dir     string
	logPath string
	exited  chan struct{}
}

// readyPrefix starts the server's ready line: "chat-server: listening on
// ADDR", followed by " (TLS)" when it serves TLS there.
const readyPrefix = "chat-server: listening on "

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
// with the given users file and extra arguments, and waits for its ready
// line. Its log goes to a file in a temporary directory, removed by Stop
// unless the server failed.
func SpawnServer(path, usersFile string, guests bool, extra []string, timeout time.Duration) (*SpawnedServer, error) {
	dir, err := os.MkdirTemp("", "loadgen-server-")
	if err != nil {
		return nil, fmt.Errorf("spawn server: %w", err)
	}
	s := &SpawnedServer{dir: dir, logPath: filepath.Join(dir, "server.log"), exited: make(chan struct{})}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("spawn server: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor
	args := []string{"-addr", "127.0.0.1:0", "-users", usersFile, "-quiet"}
	if guests {
		args = append(args, "-guests")
	}
	args = append(args, extra...)
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
	addr := make(chan string, 1)
	go func() {
		// Read the ready line, then keep draining stdout so the server never
		// blocks on a full pipe.
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := readyAddr(sc.Text()); ok {
				select {
				case addr <- a:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
		s.cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.Addr = <-addr:
		return s, nil
	case <-s.exited:
		defer os.RemoveAll(dir)
		return nil, fmt.Errorf("spawn server: it exited before it was ready: %s", s.failure())
	case <-time.After(timeout):
		defer os.RemoveAll(dir)
		s.cmd.Process.Kill()
		<-s.exited
		return nil, fmt.Errorf("spawn server: no ready line within %v: %s", timeout, s.failure())
	}
}

// failure describes why the server failed, from its log. It is called
// only once the server has exited.
func (s *SpawnedServer) failure() string {
	log, _ := os.ReadFile(s.logPath)
	text := strings.TrimSpace(string(log))
	if len(text) > 2000 {
		text = "..." + text[len(text)-2000:]
	}
	if s.cmd.ProcessState != nil {
		text = s.cmd.ProcessState.String() + ": " + text
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
