// Package term puts a terminal into raw mode with termios set through
// golang.org/x/sys/unix and reads passwords with disguised echo.
// The password editing itself is the pure PasswordEditor, shared by
// chat-server useradd and the chat client's password prompt.
package term

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrInterrupted is returned when the user types Ctrl-C while a password is
// being read in raw mode (where Ctrl-C is a byte, not a signal).
var ErrInterrupted = errors.New("interrupted")

// IsTerminal reports whether fd refers to a terminal.
func IsTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// MakeRaw puts the terminal fd into raw mode: no echo, no line editing, no
// signals from keys (Ctrl-C arrives as byte 3), reads return after one byte.
// Output processing (OPOST|ONLCR) stays on so that stray "\n" written by
// anything (a panic trace, a log line) still starts a new line; the client
// writes "\r\n" itself, which is correct either way.
//
// The returned restore puts back the attributes saved here; it is safe to call
// more than once and from several goroutines.
func MakeRaw(fd int) (restore func() error, err error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("read terminal attributes: %w", err)
	}
	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP |
		unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Oflag |= unix.OPOST | unix.ONLCR
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, fmt.Errorf("set terminal to raw mode: %w", err)
	}
	var once sync.Once
	var rerr error
	restore = func() error {
		once.Do(func() {
			if err := unix.IoctlSetTermios(fd, unix.TCSETS, old); err != nil {
				rerr = fmt.Errorf("restore terminal attributes: %w", err)
			}
		})
		return rerr
	}
	return restore, nil
}
