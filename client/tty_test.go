package client

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"chat/internal/wire"
)

// ttyOutput collects what the client writes to its terminal, read from the
// pseudo terminal's master side.
type ttyOutput struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (o *ttyOutput) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		o.mu.Lock()
		// The terminal's output processing (ONLCR, kept on) turns the
		// client's "\r\n" into "\r\r\n"; both look the same.
		ok := strings.Contains(strings.ReplaceAll(o.buf.String(), "\r\r\n", "\r\n"), want)
		ch := o.changed
		o.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			o.mu.Lock()
			defer o.mu.Unlock()
			t.Fatalf("terminal never showed %q; it shows %q", want, o.buf.String())
		}
	}
}

// TestTerminal runs the client on a pseudo terminal: raw mode, the prompt,
// the starred password, a message drawn above the half-typed line, and the
// terminal restored after Ctrl-C with status 130.
func TestTerminal(t *testing.T) {
	ptmx, tty, before, out := openTestTerminal(t)

	srv := newFakeServer(t)
	done := make(chan int, 1)
	go func() {
		done <- Run(Config{Addr: srv.addr, Mode: roomsMode{}, Stdin: tty, Stdout: tty})
	}()
	p := srv.next()
	p.hello()
	out.waitFor(t, "connected to "+srv.addr+"\r\n")
	out.waitFor(t, "> ")
	raw, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Lflag&(unix.ECHO|unix.ICANON|unix.ISIG) != 0 {
		t.Fatalf("terminal not in raw mode: lflag %#x", raw.Lflag)
	}

	ptmx.Write([]byte("login alice\r"))
	out.waitFor(t, "Password: ")
	ptmx.Write([]byte("s€c\x7fx\r"))
	login := p.answer(wire.TypeLogin, "welcome alice", func(f *wire.Frame) { f.Name = "alice" })
	if login.Secret != "s€x" {
		t.Errorf("password %q, want %q", login.Secret, "s€x")
	}
	out.waitFor(t, "***\b \b*")
	out.waitFor(t, " welcome alice\r\n")

	ptmx.Write([]byte("half"))
	out.waitFor(t, "> half")
	p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "in between"})
	// The message over the input line, then the line drawn again.
	out.waitFor(t, "\r\x1b[Kbob ")
	out.waitFor(t, " in between\r\n\r\x1b[K> half")

	ptmx.Write([]byte{3}) // Ctrl-C
	select {
	case code := <-done:
		if code != ExitInterrupt {
			t.Errorf("exit status %d after Ctrl-C, want %d", code, ExitInterrupt)
		}
	case <-time.After(waitLimit):
		t.Fatal("the client did not exit on Ctrl-C")
	}
	after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Errorf("terminal not restored")
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if bytes.Contains(out.buf.Bytes(), []byte("s€")) {
		t.Errorf("the password was echoed")
	}
}

// TestSilentServer checks the liveness ping: a server that stops answering
// (a cut cable sends nothing) is declared lost and the client reconnects.
func TestSilentServer(t *testing.T) {
	srv := newFakeServer(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	out := newScreen()
	done := make(chan int, 1)
	go func() {
		defer r.Close()
		done <- Run(Config{Addr: srv.addr, Mode: roomsMode{}, Stdin: r, Stdout: out,
			PingAfter: 50 * time.Millisecond, RetryMin: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond})
	}()
	p := srv.next()
	p.hello()
	p.expect(wire.TypePing) // silent for PingAfter: the client asks
	// ... and gets no answer.
	out.waitFor(t, "lost: no answer from the server for ")
	// The silence is told as it was (100ms and more), not cut to "0s".
	if m := regexp.MustCompile(`no answer from the server for (\S+);`).FindStringSubmatch(out.String()); m == nil || m[1] == "0s" {
		t.Errorf("silence reported as %q:\n%s", m, out.String())
	} else if d, err := time.ParseDuration(m[1]); err != nil || d < 100*time.Millisecond {
		t.Errorf("silence reported as %q, want at least 100ms (twice PingAfter)", m[1])
	}
	// From here on the server answers everything: the client is back once
	// the server has answered its Hello, and can log out; how soon it
	// does depends on the machine's load, not on the behaviour tested
	// above.
	go func() {
		for c := range srv.conns {
			go answerAll(c)
		}
	}()
	out.waitFor(t, "reconnected to "+srv.addr)
	w.Close()
	exitStatus(t, done, out)
}

// answerAll replies OK to every request on the connection until it closes.
func answerAll(p *peer) {
	defer p.c.Close()
	var f wire.Frame
	for {
		for {
			ok, err := p.dec.Next(&f)
			if err != nil || !ok {
				break
			}
			if f.Type.IsRequest() {
				p.c.Write(wire.Encode(&wire.Frame{Type: wire.TypeReply, ID: f.ID, Version: wire.Version}))
			}
		}
		n, err := p.c.Read(p.buf[:])
		if err != nil {
			return
		}
		p.dec.Feed(p.buf[:n])
	}
}

// openTestTerminal opens an 80x24 pseudo terminal, closed when the test ends,
// and collects what is written to it. It returns the master, the terminal
// the client runs on, the terminal's attributes before the client touches
// them (to check they are restored), and the collected output. A machine
// without pseudo terminals skips the test.
func openTestTerminal(t *testing.T) (ptmx, tty *os.File, before *unix.Termios, out *ttyOutput) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo terminal: %v", err)
	}
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 80}); err != nil {
		t.Fatal(err)
	}
	before, err = unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	out = &ttyOutput{changed: make(chan struct{})}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := ptmx.Read(b)
			out.mu.Lock()
			out.buf.Write(b[:n])
			close(out.changed)
			out.changed = make(chan struct{})
			out.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return ptmx, tty, before, out
}
