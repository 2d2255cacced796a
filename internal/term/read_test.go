package term

import (
	"bytes"
	"errors"
	"io"
	"os"
	"runtime"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// TestReadPasswordTTY runs ReadPassword on the terminal side of a pseudo
// terminal and types on the other side, checking the echo, the result and
// that the terminal attributes are restored afterwards.
func TestReadPasswordTTY(t *testing.T) {
	tests := []struct {
		name  string
		keys  string
		want  string
		err   error
		shown string
	}{
		{"enter", "hé\x7fy\r", "hy", nil, "Password: **\b \b*\r\n"},
		{"ctrl-d", "\x04", "", io.EOF, "Password: \r\n"},
		{"ctrl-c", "ab\x03", "", ErrInterrupted, "Password: **\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ptmx, tty, err := pty.Open()
			if err != nil {
				t.Skipf("no pseudo terminal: %v", err)
			}
			defer ptmx.Close()
			defer tty.Close()
			before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			type result struct {
				pw  string
				err error
			}
			done := make(chan result, 1)
			var out bytes.Buffer
			go func() {
				pw, err := ReadPassword(tty, &out, "Password: ")
				done <- result{pw, err}
			}()
			// Type only once raw mode is on, or the line discipline would
			// treat the keys the cooked way.
			waitRaw(t, tty)
			if _, err := ptmx.Write([]byte(tt.keys)); err != nil {
				t.Fatal(err)
			}
			r := <-done
			if r.pw != tt.want || !errors.Is(r.err, tt.err) {
				t.Errorf("ReadPassword = %q, %v; want %q, %v", r.pw, r.err, tt.want, tt.err)
			}
			if out.String() != tt.shown {
				t.Errorf("shown %q, want %q", out.String(), tt.shown)
			}
			after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			if *after != *before {
				t.Errorf("terminal not restored: %+v, want %+v", after, before)
			}
		})
	}
}

// waitRaw waits until the terminal's echo is off, the sign that MakeRaw ran.
func waitRaw(t *testing.T, tty *os.File) {
	t.Helper()
	for {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			return
		}
		// A busy wait on a condition, not a sleep for a guessed duration.
		runtime.Gosched()
	}
}

func TestReadPasswordNotTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		w.Write([]byte("s3cret\nnext"))
		w.Close()
	}()
	var out bytes.Buffer
	pw, err := ReadPassword(r, &out, "Password: ")
	if pw != "s3cret" || err != nil {
		t.Fatalf("ReadPassword = %q, %v", pw, err)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q for a non-terminal", out.String())
	}
}

func TestIsTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if IsTerminal(int(r.Fd())) {
		t.Error("a pipe is not a terminal")
	}
}

func TestMakeRawIdempotentRestore(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	fd := int(tty.Fd())
	before, _ := unix.IoctlGetTermios(fd, unix.TCGETS)
	restore, err := MakeRaw(fd)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := unix.IoctlGetTermios(fd, unix.TCGETS)
	if raw.Lflag&(unix.ECHO|unix.ICANON|unix.ISIG) != 0 {
		t.Errorf("raw mode keeps echo/canonical/signals: lflag %#x", raw.Lflag)
	}
	if raw.Oflag&unix.OPOST == 0 {
		t.Errorf("raw mode turned off output processing")
	}
	if raw.Cc[unix.VMIN] != 1 || raw.Cc[unix.VTIME] != 0 {
		t.Errorf("VMIN/VTIME = %d/%d", raw.Cc[unix.VMIN], raw.Cc[unix.VTIME])
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	after, _ := unix.IoctlGetTermios(fd, unix.TCGETS)
	if *after != *before {
		t.Errorf("not restored")
	}
}
