package harness

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func startTerminal(t *testing.T, path string, args ...string) *Terminal {
	t.Helper()
	term, err := StartTerminal(path, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Close() })
	return term
}

func TestExpectSeesSuccessiveOutput(t *testing.T) {
	term := startTerminal(t, "/bin/sh", "-c", `printf 'one\r\n\033[1mtwo\033[0m\r\none\r\n'`)
	for _, want := range []string{"one", "two", "one"} {
		if _, err := term.Expect(want, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := term.Expect("one", 50*time.Millisecond); err == nil {
		t.Fatal("a third 'one' matched: the cursor did not move past the matches")
	}
	if !term.Contains(`two\none`) {
		t.Errorf("Contains does not see the whole output %q", term.Output())
	}
	if code, err := term.Wait(5 * time.Second); err != nil || code != 0 {
		t.Errorf("Wait = %d, %v; want 0, nil", code, err)
	}
}

func TestExpectTimeoutShowsTheTail(t *testing.T) {
	term := startTerminal(t, "/bin/sh", "-c", `printf 'the last words\r\n'; sleep 5`)
	if _, err := term.Expect("words", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	_, err := term.Expect("never printed", 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "the last words") || !strings.Contains(err.Error(), "never printed") {
		t.Fatalf("error %v: want the pattern and the tail of the output", err)
	}
}

func TestExpectGroups(t *testing.T) {
	term := startTerminal(t, "/bin/sh", "-c", `printf 'listening on 127.0.0.1:4242\r\n'`)
	m, err := term.Expect(`listening on (\S+)`, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m[1] != "127.0.0.1:4242" {
		t.Errorf("group %q", m[1])
	}
}

// The line discipline echoes in cooked mode; stty -echo turns it off and the
// harness must see the slave's settings through Termios.
func TestTermiosAndKeys(t *testing.T) {
	term := startTerminal(t, "/bin/sh", "-c", `stty -echo -icanon; echo ready; head -c 3 | od -An -c; stty echo icanon; echo done; read x`)
	if _, err := term.Expect("ready", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	tio, err := term.Termios()
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&(unix.ECHO|unix.ICANON) != 0 {
		t.Errorf("lflag %#x: ECHO or ICANON still set after stty -echo -icanon", tio.Lflag)
	}
	if err := term.SendKeys(Backspace, CtrlU, Enter); err != nil {
		t.Fatal(err)
	}
	// ICRNL still turns Enter into \n.
	if _, err := term.Expect(`177 025 +\\n`, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := term.Expect("done", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	tio, err = term.Termios()
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&(unix.ECHO|unix.ICANON) != unix.ECHO|unix.ICANON {
		t.Errorf("lflag %#x: ECHO and ICANON not restored", tio.Lflag)
	}
}

func TestCtrlCInterruptsTheForegroundProgram(t *testing.T) {
	term := startTerminal(t, "/bin/sh", "-c", `echo ready; exec sleep 30`)
	if _, err := term.Expect("ready", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// The shell may not have exec'd sleep yet when ready shows; either
	// way the process group gets SIGINT.
	if err := term.SendKeys(CtrlC); err != nil {
		t.Fatal(err)
	}
	code, err := term.Wait(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if sig, ok := term.Signaled(); !ok || sig != unix.SIGINT || code != 130 {
		t.Errorf("status %d, signal %v %v; want killed by SIGINT (130)", code, sig, ok)
	}
}

func TestCloseKillsARunningProgram(t *testing.T) {
	term, err := StartTerminal("/bin/sleep", "30")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- term.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	select {
	case <-term.Exited():
	default:
		t.Fatal("the program still runs after Close")
	}
}
