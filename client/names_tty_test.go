package client

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"chat/internal/wire"
)

// TestNamesTerminal runs names mode on a pseudo terminal (S1.10): no
// prompt, each character echoed as typed, Enter sends the line, a message
// arriving mid-line is printed above it, and Ctrl-D on an empty line leaves
// quietly with status 0 and the terminal restored.
func TestNamesTerminal(t *testing.T) {
	ptmx, tty, before, out := openTestTerminal(t)

	srv := newFakeServer(t)
	done := make(chan int, 1)
	go func() {
		done <- Run(Config{Addr: srv.addr, Mode: namesMode{}, Stdin: tty, Stdout: tty})
	}()
	p := srv.next()
	p.hello()
	out.waitFor(t, "! connected to "+srv.addr+"\r\n")

	// Each character is echoed on its own as it is typed.
	typed := ""
	for _, c := range "NAME A" {
		typed += string(c)
		ptmx.Write([]byte(string(c)))
		out.waitFor(t, "\r\x1b[K"+typed)
	}
	ptmx.Write([]byte("\r"))
	p.answer(wire.TypeClaim, "welcome A", func(f *wire.Frame) { f.Name = "A" })
	out.waitFor(t, "NAME A\r\n")
	out.waitFor(t, "\r\x1b[KHELLO A\r\n")

	ptmx.Write([]byte("MSG B hal"))
	out.waitFor(t, "MSG B hal")
	p.send(wire.Frame{Type: wire.TypePrivate, From: "B", To: "A", Text: "HELLO"})
	// The message over the input line, then the line drawn again, with no
	// prompt before it.
	out.waitFor(t, "\r\x1b[KB SENT HELLO\r\n\r\x1b[KMSG B hal")
	ptmx.Write([]byte{0x15}) // Ctrl-U: the line is abandoned

	ptmx.Write([]byte{4}) // Ctrl-D on an empty line
	p.answer(wire.TypeLogout, "goodbye A")
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit status %d after Ctrl-D, want 0", code)
		}
	case <-time.After(waitLimit):
		t.Fatal("the client did not exit on Ctrl-D")
	}
	after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Errorf("terminal not restored")
	}
}
