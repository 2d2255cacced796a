package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Size of every pseudo-terminal the harness opens.
const (
	TermCols = 100
	TermRows = 30
)

// tailSize is how much of the output an Expect error shows.
const tailSize = 2000

// Key is a named key: the bytes a terminal sends when it is pressed.
type Key string

// Keys as an xterm sends them.
const (
	Enter     Key = "\r"
	Backspace Key = "\x7f" // what the Backspace key sends (DEL)
	CtrlA     Key = "\x01"
	CtrlC     Key = "\x03"
	CtrlD     Key = "\x04"
	CtrlE     Key = "\x05"
	CtrlH     Key = "\x08" // the other backspace
	CtrlL     Key = "\x0c"
	CtrlU     Key = "\x15"
	CtrlW     Key = "\x17"
	Escape    Key = "\x1b"
	Up        Key = "\x1b[A"
	Down      Key = "\x1b[B"
	Right     Key = "\x1b[C"
	Left      Key = "\x1b[D"
	Home      Key = "\x1b[H"
	End       Key = "\x1b[F"
)

var keyNames = map[string]Key{
	"Enter": Enter, "Backspace": Backspace, "CtrlA": CtrlA, "CtrlC": CtrlC,
	"CtrlD": CtrlD, "CtrlE": CtrlE, "CtrlH": CtrlH, "CtrlL": CtrlL,
	"CtrlU": CtrlU, "CtrlW": CtrlW, "Escape": Escape, "Up": Up, "Down": Down,
	"Right": Right, "Left": Left, "Home": Home, "End": End,
}

// KeyNamed returns the key called name ("Enter", "CtrlU", "Left", …).
func KeyNamed(name string) (Key, bool) {
	k, ok := keyNames[name]
	return k, ok
}

// Terminal is a program running on a pseudo-terminal, as a person would run
// it. One goroutine reads everything the program writes; Expect and the
// screen accessors look at what it has read so far. All methods are safe for
// concurrent use.
type Terminal struct {
	name string
	cmd  *exec.Cmd
	ptm  *os.File // master side: what we type goes in, what it prints comes out
	pts  *os.File // slave side, kept open so Termios can read its settings

	writeMu sync.Mutex

	mu      sync.Mutex
	parser  vtParser
	stream  streamText // everything printed, as plain text
	screen  *screen
	cursor  int           // Expect has consumed stream.b[:cursor]
	changed chan struct{} // closed and replaced when output arrives

	readDone chan struct{}
	exited   chan struct{}
	onClose  func()           // releases what the starter made for it (temp files)
	state    *os.ProcessState // set before exited is closed
}

// StartTerminal runs the binary path with args on a new 100x30
// pseudo-terminal, as the session leader with the terminal as its
// controlling terminal, so ^C typed into it becomes SIGINT as it would for
// a person. The environment is the test's own with TERM=xterm.
func StartTerminal(path string, args ...string) (*Terminal, error) {
	ptm, pts, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open a pseudo-terminal: %w", err)
	}
	if err := pty.Setsize(ptm, &pty.Winsize{Cols: TermCols, Rows: TermRows}); err != nil {
		ptm.Close()
		pts.Close()
		return nil, fmt.Errorf("size the pseudo-terminal: %w", err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "TERM=xterm", fmt.Sprintf("COLUMNS=%d", TermCols), fmt.Sprintf("LINES=%d", TermRows))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		ptm.Close()
		pts.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	t := &Terminal{
		name:     path,
		cmd:      cmd,
		ptm:      ptm,
		pts:      pts,
		screen:   newScreen(TermCols, TermRows),
		changed:  make(chan struct{}),
		readDone: make(chan struct{}),
		exited:   make(chan struct{}),
	}
	go t.read()
	go func() {
		_ = cmd.Wait() // a non-zero status is reported by Wait, not here
		t.mu.Lock()
		t.state = cmd.ProcessState
		t.mu.Unlock()
		close(t.exited)
	}()
	return t, nil
}

// read is the only reader of the master side. It ends when the slave side
// is closed everywhere (EIO) or the master is closed.
func (t *Terminal) read() {
	defer close(t.readDone)
	buf := make([]byte, 4096)
	for {
		n, err := t.ptm.Read(buf)
		if n > 0 {
			t.mu.Lock()
			t.parser.feed(buf[:n], multiSink{&t.stream, t.screen})
			close(t.changed)
			t.changed = make(chan struct{})
			t.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// multiSink feeds one decoded stream to the plain text and the screen.
type multiSink [2]vtSink

func (m multiSink) print(r rune) {
	m[0].print(r)
	m[1].print(r)
}

func (m multiSink) control(c byte) {
	m[0].control(c)
	m[1].control(c)
}

func (m multiSink) csi(p []int, private bool, f byte) {
	m[0].csi(p, private, f)
	m[1].csi(p, private, f)
}

func (m multiSink) escape(f byte) {
	m[0].escape(f)
	m[1].escape(f)
}

// Expect waits until the output after the cursor matches re, moves the
// cursor past the match and returns the match and its groups. Successive
// Expects therefore see successive output. The text is the plain stream
// (see StripANSI). On timeout the error shows the tail of the output.
func (t *Terminal) Expect(re string, timeout time.Duration) ([]string, error) {
	rx, err := regexp.Compile(re)
	if err != nil {
		return nil, fmt.Errorf("expect: %w", err)
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		match, changed := t.match(rx)
		if match != nil {
			return match, nil
		}
		select {
		case <-changed:
		case <-t.readDone:
			// No more output can come: one last look at all of it.
			if match, _ := t.match(rx); match != nil {
				return match, nil
			}
			return nil, t.expectError(re, "the terminal closed")
		case <-deadline.C:
			return nil, t.expectError(re, fmt.Sprintf("nothing matched within %v", timeout))
		}
	}
}

// match looks for rx after the cursor and moves the cursor past a match.
// Without a match it returns the channel that will tell of more output.
func (t *Terminal) match(rx *regexp.Regexp) (match []string, changed <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	text := t.stream.b[t.cursor:]
	loc := rx.FindSubmatchIndex(text)
	if loc == nil {
		return nil, t.changed
	}
	match = make([]string, len(loc)/2)
	for i := range match {
		if loc[2*i] >= 0 {
			match[i] = string(text[loc[2*i]:loc[2*i+1]])
		}
	}
	t.cursor += loc[1]
	return match, nil
}

func (t *Terminal) expectError(re, why string) error {
	return fmt.Errorf("%s: expected /%s/: %s; output after the cursor, then the screen tail:\n%s\n----- screen tail -----\n%s\n-----",
		t.name, re, why, t.AfterCursor(), t.Tail(tailSize))
}

// Contains reports whether re matches anything printed so far, cursor or not.
// Combine it with an Expect of a later marker to check that something was
// NOT printed without sleeping.
func (t *Terminal) Contains(re string) bool {
	rx := regexp.MustCompile(re)
	t.mu.Lock()
	defer t.mu.Unlock()
	return rx.Match(t.stream.b)
}

// Output returns everything printed so far as plain text.
func (t *Terminal) Output() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.stream.b)
}

// AfterCursor returns the plain text that no Expect has consumed yet.
func (t *Terminal) AfterCursor() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.stream.b[t.cursor:])
}

// Tail returns the last n bytes (or so, on a character boundary) of the
// plain output.
func (t *Terminal) Tail(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.stream.b
	if len(b) > n {
		b = b[len(b)-n:]
		for len(b) > 0 && b[0]&0xc0 == 0x80 {
			b = b[1:]
		}
	}
	return string(b)
}

// Screen returns the emulated screen: what a person sees now, lines
// trimmed of trailing blanks.
func (t *Terminal) Screen() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.screen.text()
}

// Line returns the screen line the cursor is on, trailing blanks trimmed.
func (t *Terminal) Line() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.screen.line()
}

// BeforeCursor returns the cursor's screen line up to the cursor, trailing
// blanks included: "Password: **" while the person types the third key.
func (t *Terminal) BeforeCursor() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.screen.beforeCursor()
}

// Send types s as raw bytes.
func (t *Terminal) Send(s string) error {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	if _, err := t.ptm.WriteString(s); err != nil {
		return fmt.Errorf("type into %s: %w", t.name, err)
	}
	return nil
}

// SendLine types s and Enter.
func (t *Terminal) SendLine(s string) error { return t.Send(s + string(Enter)) }

// SendKeys types the keys one after another in one write.
func (t *Terminal) SendKeys(keys ...Key) error {
	var s string
	for _, k := range keys {
		s += string(k)
	}
	return t.Send(s)
}

// Pid returns the program's process id.
func (t *Terminal) Pid() int { return t.cmd.Process.Pid }

// Signal sends sig to the program.
func (t *Terminal) Signal(sig os.Signal) error { return t.cmd.Process.Signal(sig) }

// Exited is closed when the program has exited.
func (t *Terminal) Exited() <-chan struct{} { return t.exited }

// Wait waits up to timeout for the program to exit and returns its status:
// the exit code, or 128+N when signal N killed it, as a shell reports it.
func (t *Terminal) Wait(timeout time.Duration) (exitCode int, err error) {
	select {
	case <-t.exited:
	case <-time.After(timeout):
		return -1, fmt.Errorf("%s still running after %v; screen tail:\n%s", t.name, timeout, t.Tail(tailSize))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return ExitStatus(t.state), nil
}

// Signaled returns the signal that killed the program, if one did; false
// while it runs or when it exited by itself.
func (t *Terminal) Signaled() (syscall.Signal, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return signaled(t.state)
}

// Termios returns the terminal's current attributes, so a spec can check
// that a program restored cooked mode (ECHO and ICANON) on its way out.
func (t *Terminal) Termios() (*unix.Termios, error) {
	tio, err := unix.IoctlGetTermios(int(t.pts.Fd()), unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("read terminal attributes: %w", err)
	}
	return tio, nil
}

// Close kills the program (its whole process group) if it still runs and
// releases the pseudo-terminal. It is safe to call more than once.
func (t *Terminal) Close() error {
	select {
	case <-t.exited:
	default:
		_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
		_ = t.cmd.Process.Kill()
		<-t.exited
	}
	// Closing our slave descriptor makes the reader see EIO once no other
	// process holds the slave; then the master can go.
	t.pts.Close()
	select {
	case <-t.readDone:
	case <-time.After(2 * time.Second):
		// A descendant still holds the slave: the master's close below
		// does not interrupt a blocked read, so leave the reader be.
	}
	err := t.ptm.Close()
	if errors.Is(err, os.ErrClosed) {
		err = nil
	}
	if t.onClose != nil {
		t.onClose()
	}
	return err
}

// ExitStatus turns a process state into a shell-style status: the exit
// code, or 128+N for a death by signal N; -1 when there is no state.
func ExitStatus(st *os.ProcessState) int {
	if st == nil {
		return -1
	}
	if sig, ok := signaled(st); ok {
		return 128 + int(sig)
	}
	return st.ExitCode()
}

func signaled(st *os.ProcessState) (syscall.Signal, bool) {
	if st == nil {
		return 0, false
	}
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0, false
	}
	return ws.Signal(), true
}

// WaitUntil waits up to timeout for cond, checking it now and after every
// piece of output, with no polling delay. cond may call the screen
// accessors.
func (t *Terminal) WaitUntil(cond func() bool, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		t.mu.Lock()
		changed := t.changed
		t.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-changed:
		case <-t.readDone:
			if cond() {
				return nil
			}
			return fmt.Errorf("%s: the terminal closed", t.name)
		case <-deadline.C:
			return fmt.Errorf("%s: not so within %v", t.name, timeout)
		}
	}
}
