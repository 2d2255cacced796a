package client

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"chat/internal/term"
)

// Run runs the client until the user leaves or a failure ends it, and
// returns the exit status. The terminal, if standard input is one, is in raw
// mode while Run runs and restored on every way out: return, error, signal
// (through the wake pipe) and panic (deferred restore; the panic goes on).
func Run(cfg Config) (code int) {
	if cfg.Stdin == nil {
		cfg.Stdin = os.Stdin
	}
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	inFd := int(cfg.Stdin.Fd())
	tty := term.IsTerminal(inFd)
	if f, ok := cfg.Stdout.(*os.File); ok && tty {
		// Escape sequences only make sense on a terminal.
		tty = term.IsTerminal(int(f.Fd()))
	}
	c := newClient(cfg, tty)
	if tty {
		restore, err := term.MakeRaw(inFd)
		if err != nil {
			fmt.Fprintf(os.Stderr, "chat: %v; exiting\n", err)
			return ExitError
		}
		defer restore()
	}

	// Signals reach the loop through a pipe it polls: the handler goroutine
	// only forwards them, the loop acts.
	var wake [2]int
	if err := unix.Pipe2(wake[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		fmt.Fprintf(os.Stderr, "chat: create wake pipe: %v; exiting\n", err)
		return ExitError
	}
	defer unix.Close(wake[0])
	c.waker = &waker{fd: wake[1]}
	defer c.waker.close()
	sigc := make(chan os.Signal, 8)
	sigq := make(chan os.Signal, 32)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGWINCH)
	go func() {
		for s := range sigc {
			select {
			case sigq <- s:
			default: // the loop is far behind; one pending signal of each kind is enough
			}
			c.waker.wake()
		}
	}()
	defer func() {
		signal.Stop(sigc)
		close(sigc)
	}()
	defer func() {
		if c.conn != nil {
			c.conn.close()
		}
		// Data connections closed, partial files removed.
		c.closeTransfers()
	}()

	if err := c.loop(inFd, wake[0], sigq); err != nil {
		c.r.Hide()
		c.report(err.Error() + "; exiting")
		c.write()
		return ExitError
	}
	return c.code
}

// loop is the one poll(2) loop over the wake pipe, the keyboard, the
// server socket and the file transfers' data connections.
// Nothing in it blocks but poll itself (and the local file I/O of
// transfers, in small chunks: see transfer.go).
func (c *Client) loop(inFd, wakeFd int, sigq <-chan os.Signal) error {
	c.inFd = inFd
	c.measure()
	c.startConnect()
	buf := make([]byte, 64*1024)
	fds := make([]unix.PollFd, 3)
	for {
		if !c.done && c.tty && c.promptsReady() {
			c.drawInput()
		}
		if !c.done && !c.tty && c.promptsReady() {
			c.promptLine()
		}
		c.write()
		if c.done {
			c.finish()
			c.write()
			return nil
		}

		fds = fds[:3]
		fds[0] = unix.PollFd{Fd: int32(wakeFd), Events: unix.POLLIN}
		fds[1] = unix.PollFd{Fd: -1}
		if c.wantInput() {
			fds[1] = unix.PollFd{Fd: int32(inFd), Events: unix.POLLIN}
		}
		fds[2] = unix.PollFd{Fd: -1}
		if c.conn != nil {
			ev := int16(0)
			if c.conn.wantRead() {
				ev |= unix.POLLIN
			}
			if c.conn.wantWrite() {
				ev |= unix.POLLOUT
			}
			fds[2] = unix.PollFd{Fd: int32(c.conn.fd), Events: ev}
		}
		var xfers []*transfer
		fds, xfers = c.pollTransfers(fds)
		timeout := -1
		if t := c.nextTimer(); !t.IsZero() {
			d := t.Sub(c.now())
			// Round up: waking a moment early would only poll again.
			timeout = max(0, int((d+time.Millisecond-1)/time.Millisecond))
		}
		if _, err := unix.Poll(fds, timeout); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("poll: %w", err)
		}

		if fds[0].Revents != 0 {
			c.signals(wakeFd, sigq)
		}
		if !c.done && fds[1].Revents != 0 {
			c.readInput(inFd, buf)
		}
		if !c.done && c.conn != nil && fds[2].Revents != 0 {
			c.socket(fds[2].Revents, buf)
		}
		for i, t := range xfers {
			if !c.done && fds[3+i].Revents != 0 {
				c.transferEvent(t, fds[3+i].Revents)
			}
		}
		if !c.done {
			c.tlsPass(buf)
		}
		if !c.done {
			c.timers()
		}
		if !c.done && c.conn != nil && len(c.conn.out) > 0 && c.conn.open() {
			// Write what this round produced at once rather than after
			// another poll; what does not fit waits for POLLOUT.
			if err := c.conn.flush(); err != nil {
				c.lost(errText(err))
			}
		}
		if !c.done && !c.tty {
			c.pumpLines()
			if !c.done && c.stdinEOF && len(c.inbuf) == 0 {
				c.inputDone()
			}
		}
	}
}

// idle reports whether everything typed has been sent and answered, and
// every file transfer is over.
func (c *Client) idle() bool {
	return c.state.established() && len(c.queue) == 0 && len(c.pending) == 0 && !c.busyTransfers()
}

// socket handles poll events on the server socket.
func (c *Client) socket(rev int16, buf []byte) {
	if c.conn.connecting {
		if err := c.conn.finishConnect(); err != nil {
			c.connectFailed(err)
			return
		}
		c.tcpConnected()
		return
	}
	if rev&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) != 0 {
		c.readConn(buf)
	}
	if c.conn != nil && !c.done && rev&unix.POLLOUT != 0 {
		if err := c.conn.flush(); err != nil {
			c.lost(errText(err))
		}
	}
}

// readInput reads what the keyboard (or the pipe or file on standard input)
// has. poll said it is readable, so the read does not block.
func (c *Client) readInput(fd int, buf []byte) {
	n, err := unix.Read(fd, buf)
	if err != nil {
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			return
		}
		if c.tty {
			// The terminal is gone (EIO after a hangup): nobody to talk to.
			c.hastyLogout()
			c.exit(ExitError)
			return
		}
		c.report(fmt.Sprintf("cannot read the input: %s; stopping as at its end", errText(err)))
		n = 0
	}
	if n == 0 {
		if c.tty {
			c.hastyLogout()
			c.exit(ExitOK)
			return
		}
		c.inputEnded()
		return
	}
	if c.tty {
		c.keyboard(buf[:n])
	} else {
		c.lines(buf[:n])
	}
}

// signals acts on the signals forwarded through the wake pipe.
func (c *Client) signals(wakeFd int, sigq <-chan os.Signal) {
	var drain [64]byte
	for {
		if n, _ := unix.Read(wakeFd, drain[:]); n <= 0 {
			break
		}
	}
	for {
		select {
		case s := <-sigq:
			c.signal(s)
		default:
			return
		}
	}
}

func (c *Client) signal(s os.Signal) {
	switch s {
	case syscall.SIGWINCH:
		c.measure()
	case syscall.SIGINT:
		c.drawInput()
		c.r.Newline()
		c.interrupt()
	case syscall.SIGTERM, syscall.SIGHUP:
		c.r.Hide()
		c.report(fmt.Sprintf("stopped by %s; exiting", signalName(s)))
		c.hastyLogout()
		c.exit(128 + int(s.(syscall.Signal)))
	}
}

// measure asks the terminal for its size, at the start and after SIGWINCH.
func (c *Client) measure() {
	if !c.tty {
		return
	}
	ws, err := unix.IoctlGetWinsize(c.inFd, unix.TIOCGWINSZ)
	if err != nil {
		c.r.SetWidth(0)
		c.rows = 0
		return
	}
	c.r.SetWidth(int(ws.Col))
	c.rows = int(ws.Row)
}

func signalName(s os.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return s.String()
}

// finish leaves the screen tidy before exiting: the input line, if shown, is
// erased so the shell's prompt starts on a clean line.
func (c *Client) finish() {
	c.r.Hide()
}

// write writes the output gathered since the last write. Output goes to the
// terminal (or file) the user reads; if that fails there is nobody left to
// tell.
func (c *Client) write() {
	if b := c.r.Take(); len(b) > 0 {
		_, _ = c.cfg.Stdout.Write(b)
	}
}

// waker wakes the loop from other goroutines: the signal handler's and the
// TLS handshakes'. A handshake may end after Run has returned, so writing
// and closing exclude each other: a closed waker's descriptor number may
// already belong to another file.
type waker struct {
	mu sync.Mutex
	fd int // the wake pipe's write end; -1 once closed
}

// wake makes the loop's poll return. A full pipe wakes it already.
func (w *waker) wake() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd >= 0 {
		_, _ = unix.Write(w.fd, []byte{0})
	}
}

func (w *waker) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	unix.Close(w.fd)
	w.fd = -1
}

// wake makes the loop look at its connections again (a TLS handshake has
// something for it).
func (c *Client) wake() { c.waker.wake() }
