package term

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// ReadPassword reads a password from in. When in is a terminal it prints
// prompt to out, puts the terminal in raw mode and echoes one '*' per
// character (see PasswordEditor); Enter ends the password, Ctrl-D returns
// io.EOF and Ctrl-C returns ErrInterrupted. The terminal is
// restored on every path, including SIGTERM and SIGHUP arriving while the
// user types (the signal is then re-raised with its default action).
//
// When in is not a terminal, ReadPassword reads one line without any prompt
// or echo handling: a script feeding passwords sees nothing it cannot use.
func ReadPassword(in *os.File, out io.Writer, prompt string) (string, error) {
	fd := int(in.Fd())
	if !IsTerminal(fd) {
		return readLine(in)
	}
	restore, err := MakeRaw(fd)
	if err != nil {
		return "", err
	}
	defer restore()

	// Raw mode turns off key signals, but SIGTERM or SIGHUP from elsewhere
	// would otherwise end the process with the terminal left raw.
	sigs := make(chan os.Signal, 1)
	stop := make(chan struct{})
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP)
	defer func() {
		signal.Stop(sigs)
		close(stop)
	}()
	go func() {
		select {
		case s := <-sigs:
			restore()
			signal.Reset(s)
			if sig, ok := s.(syscall.Signal); ok {
				_ = syscall.Kill(os.Getpid(), sig)
			}
		case <-stop:
		}
	}()

	if _, err := io.WriteString(out, prompt); err != nil {
		return "", fmt.Errorf("write password prompt: %w", err)
	}
	var ed PasswordEditor
	defer ed.Wipe()
	buf := make([]byte, 256)
	defer clear(buf)
	var echo []byte
	for {
		n, err := in.Read(buf)
		if n > 0 {
			var res PasswordResult
			echo, res, _ = ed.Feed(buf[:n], echo[:0])
			switch res {
			case PasswordDone:
				echo = append(echo, "\r\n"...)
			case PasswordCancel, PasswordInterrupt:
				echo = append(echo, "\r\n"...)
			}
			if _, werr := out.Write(echo); werr != nil {
				return "", fmt.Errorf("write password echo: %w", werr)
			}
			switch res {
			case PasswordDone:
				return ed.Value(), nil
			case PasswordCancel:
				return "", io.EOF
			case PasswordInterrupt:
				return "", ErrInterrupted
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", io.EOF
			}
			return "", fmt.Errorf("read password: %w", err)
		}
	}
}

// readLine reads one line from r a byte at a time, so that nothing after the
// line is consumed from a file or pipe the caller may go on reading. The line
// ends at "\n" (a "\r" before it is dropped) or at end of input; end of input
// before any byte is io.EOF.
func readLine(r io.Reader) (string, error) {
	var line []byte
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			line = append(line, b[0])
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(line) == 0 {
				return "", io.EOF
			}
			break
		}
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
	}
	if l := len(line); l > 0 && line[l-1] == '\r' {
		line = line[:l-1]
	}
	return string(line), nil
}
