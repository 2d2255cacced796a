// Package scenarios runs the testscript scenarios (*.txtar) against the real
// binaries. Each scenario is a story a person could play by hand: start a
// server, open clients on terminals, type, and look at the screens.
package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"chat/harness"
)

// expectTimeout bounds how long expect waits for output; lineTimeout how
// long line waits for a key press to show.
const (
	expectTimeout = 10 * time.Second
	lineTimeout   = 2 * time.Second
	stopTimeout   = 10 * time.Second
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := harness.RemoveBuilt(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

func TestScenarios(t *testing.T) {
	bin, err := harness.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: ".",
		Setup: func(env *testscript.Env) error {
			st := &scriptState{bin: bin, dir: env.WorkDir, clients: map[string]*harness.Terminal{}}
			env.Values[stateKey{}] = st
			env.Defer(st.cleanup)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"server": cmdServer,
			"client": cmdClient,
			"send":   cmdSend,
			"keys":   cmdKeys,
			"expect": cmdExpect,
			"line":   cmdLine,
			"login":  cmdLogin,
			"exited": cmdExited,
			"crash":  cmdCrash,
			"repeat": cmdRepeat,
			"output": cmdOutput,
			"proxy":  cmdProxy,
			"irc":    cmdIRC,
		},
	})
}

type stateKey struct{}

// scriptState is what one script's commands share: its server and its
// clients by name. Everything in it is stopped when the script ends.
type scriptState struct {
	bin     string
	dir     string
	server  *harness.Server
	proxy   *harness.Proxy // between new clients and the server, once started
	clients map[string]*harness.Terminal
}

func state(ts *testscript.TestScript) *scriptState {
	return ts.Value(stateKey{}).(*scriptState)
}

func (st *scriptState) cleanup() {
	for _, c := range st.clients {
		c.Close()
	}
	if st.proxy != nil {
		st.proxy.Close()
	}
	if st.server != nil {
		st.server.Kill()
	}
}

func (st *scriptState) client(ts *testscript.TestScript, name string) *harness.Terminal {
	c, ok := st.clients[name]
	if !ok {
		ts.Fatalf("no client named %s: start it with: client %s", name, name)
	}
	return c
}

// refuseNeg fails a command that has no negated form.
func refuseNeg(ts *testscript.TestScript, neg bool, cmd string) {
	if neg {
		ts.Fatalf("unsupported: ! %s", cmd)
	}
}

// server start [-flag ...] [user:password ...]
// server stop [SIGNAL]
//
// start runs chat-server on 127.0.0.1 at a free port with a users file
// holding the given accounts and the given flags (arguments starting with
// "-", such as -guests); $SERVER is its address. stop sends SIGNAL
// (default INT, what Ctrl-C sends) and checks that the server exits 0
// (not 0 with !) within 10s.
func cmdServer(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: server start [user:password ...] | server stop [SIGNAL]")
	}
	st := state(ts)
	switch args[0] {
	case "start":
		refuseNeg(ts, neg, "server start")
		users := map[string]string{}
		var flags []string
		for _, a := range args[1:] {
			if strings.HasPrefix(a, "-") {
				flags = append(flags, a)
				continue
			}
			name, pw, ok := strings.Cut(a, ":")
			if !ok || name == "" {
				ts.Fatalf("usage: server start [-flag ...] [user:password ...]: %q has no colon", a)
			}
			users[name] = pw
		}
		if st.server != nil {
			st.server.Kill()
		}
		dir := filepath.Join(st.dir, fmt.Sprintf("server-%d", time.Now().UnixNano()))
		ts.Check(os.MkdirAll(dir, 0o700))
		srv, err := harness.StartServer(harness.ServerOptions{Users: users, Args: flags, Dir: dir})
		ts.Check(err)
		st.server = srv
		ts.Setenv("SERVER", srv.Addr)
	case "stop":
		if len(args) > 2 {
			ts.Fatalf("usage: server stop [SIGNAL]")
		}
		sig := syscall.SIGINT
		if len(args) == 2 {
			var ok bool
			if sig, ok = signalNamed(args[1]); !ok {
				ts.Fatalf("server stop: unknown signal %q (INT, TERM, KILL, HUP, QUIT)", args[1])
			}
		}
		if st.server == nil {
			ts.Fatalf("server stop: no server: start one with: server start")
		}
		code, err := st.server.Stop(sig, stopTimeout)
		ts.Check(err)
		ts.Logf("chat-server exited with status %d\n%s", code, st.server.Output())
		if (code == 0) == neg {
			ts.Fatalf("chat-server exited with status %d", code)
		}
	default:
		ts.Fatalf("usage: server start [-flag ...] [user:password ...] | server stop [SIGNAL]")
	}
}

func signalNamed(name string) (syscall.Signal, bool) {
	sig, ok := map[string]syscall.Signal{
		"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "KILL": syscall.SIGKILL,
		"HUP": syscall.SIGHUP, "QUIT": syscall.SIGQUIT,
	}[strings.TrimPrefix(strings.ToUpper(name), "SIG")]
	return sig, ok
}

// client NAME [-direct] [args...]
//
// Starts the chat client on a terminal named NAME, connected to the server
// (through the fault proxy once `proxy start` has run, unless -direct), and
// waits until it is ready for typing: the report "! connected to ADDR"
// (with the time in mode rooms), which the client prints once its terminal
// is in raw mode and its connection is up, and in mode rooms the prompt
// "> " drawn again after it. Nothing is typed before: the switch to raw mode
// may flush what was typed while the terminal was still cooked.
// NAME may be one whose client has exited: a new terminal takes its place.
func cmdClient(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: client NAME [args...]")
	}
	refuseNeg(ts, neg, "client")
	st := state(ts)
	name := args[0]
	if old, ok := st.clients[name]; ok {
		select {
		case <-old.Exited():
			// The same person opens the client again (seed 001: "B
			// returns"): the new terminal takes the name.
			old.Close()
		default:
			ts.Fatalf("client %s already exists and is still running", name)
		}
	}
	if st.server == nil {
		ts.Fatalf("client: no server: start one with: server start")
	}
	addr, clientArgs := st.server.Addr, args[1:]
	if len(clientArgs) > 0 && clientArgs[0] == "-direct" {
		clientArgs = clientArgs[1:]
	} else if st.proxy != nil {
		addr = st.proxy.Addr()
	}
	term, err := harness.StartTerminal(filepath.Join(st.bin, harness.ClientBinary), append(clientArgs, addr)...)
	ts.Check(err)
	st.clients[name] = term
	// The report of the connection comes after the first prompt of mode
	// rooms, and a line typed before it would be split by it on the screen.
	ready := []string{`(?m)^(?:> )?! (?:\d\d:\d\d:\d\d )?connected to \S+\n`}
	if m := modeArg(clientArgs); m == "" || m == "rooms" {
		ready = append(ready, `> `)
	}
	for _, re := range ready {
		if _, err := term.Expect(re, expectTimeout); err != nil {
			ts.Fatalf("client %s: not ready: %v", name, err)
		}
	}
}

// modeArg returns the value of the client's -mode flag among args, or "".
func modeArg(args []string) string {
	for i, a := range args {
		a = "-" + strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, "-mode="); ok {
			return v
		}
		if a == "-mode" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// output NAME FILE
//
// Writes everything NAME's terminal printed so far (all of it, once the
// client has exited), as plain text (escape sequences and \r removed), to
// FILE: compare it with cmp or cmpenv to check a whole transcript exactly.
func cmdOutput(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: output NAME FILE")
	}
	refuseNeg(ts, neg, "output")
	term := state(ts).client(ts, args[0])
	select {
	case <-term.Exited():
		// The client is gone, but what it printed last may still be on
		// its way through the pseudo-terminal: Close reads it all first.
		term.Close()
	default:
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(term.Output()), 0o644))
}

// repeat VAR N TEXT
//
// Sets the variable VAR to TEXT repeated N times, for lines at the limits
// that a script cannot spell out (testscript has no loops): a message of
// 65535 characters is "send carol sendto alice $TEXT", and what the other
// side shows is "expect alice '^carol: '$TEXT'\n'" (outside quotes $TEXT is
// expanded; ${TEXT@R} quotes it for a regexp).
func cmdRepeat(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: repeat VAR N TEXT")
	}
	refuseNeg(ts, neg, "repeat")
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 0 {
		ts.Fatalf("usage: repeat VAR N TEXT: bad count %q", args[1])
	}
	ts.Setenv(args[0], strings.Repeat(args[2], n))
}

// send NAME TEXT...
//
// Types the words of TEXT, separated by spaces, and Enter.
func cmdSend(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: send NAME TEXT...")
	}
	refuseNeg(ts, neg, "send")
	ts.Check(state(ts).client(ts, args[0]).SendLine(strings.Join(args[1:], " ")))
}

// keys NAME KEY...
//
// Types keys: a key name (Enter, Backspace, CtrlH, CtrlC, CtrlD, CtrlU,
// CtrlW, Left, Right, Up, Down, Home, End, …) or else the argument as text.
func cmdKeys(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: keys NAME KEY...")
	}
	refuseNeg(ts, neg, "keys")
	var keys []harness.Key
	for _, a := range args[1:] {
		k, ok := harness.KeyNamed(a)
		if !ok {
			k = harness.Key(a)
		}
		keys = append(keys, k)
	}
	ts.Check(state(ts).client(ts, args[0]).SendKeys(keys...))
}

// expect [-timeout DURATION] NAME REGEXP
// ! expect NAME REGEXP
//
// Waits up to 10s (or DURATION) for REGEXP in what NAME's terminal printed
// after the last match (escape sequences and \r removed). Negated, it checks
// at once that REGEXP matches nothing printed so far: put it after an expect
// of a later marker.
func cmdExpect(ts *testscript.TestScript, neg bool, args []string) {
	timeout := expectTimeout
	if len(args) > 0 && args[0] == "-timeout" && !neg {
		if len(args) < 2 {
			ts.Fatalf("usage: expect [-timeout DURATION] NAME REGEXP")
		}
		d, err := time.ParseDuration(args[1])
		if err != nil || d <= 0 {
			ts.Fatalf("expect: bad -timeout %q", args[1])
		}
		timeout, args = d, args[2:]
	}
	if len(args) != 2 {
		ts.Fatalf("usage: expect [-timeout DURATION] NAME REGEXP")
	}
	term := state(ts).client(ts, args[0])
	if neg {
		if term.Contains(args[1]) {
			ts.Fatalf("%s printed /%s/:\n%s", args[0], args[1], term.Output())
		}
		return
	}
	if _, err := term.Expect(args[1], timeout); err != nil {
		ts.Fatalf("%s: %v", args[0], err)
	}
}

// line NAME TEXT
//
// Waits up to 2s until NAME's screen line, up to the cursor, is exactly
// TEXT, with nothing after the cursor: what a person sees while typing
// (the password's stars, a redrawn input line).
func cmdLine(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: line NAME TEXT")
	}
	refuseNeg(ts, neg, "line")
	term := state(ts).client(ts, args[0])
	want := args[1]
	shows := func() bool { return term.BeforeCursor() == want && term.Line() == strings.TrimRight(want, " ") }
	if err := term.WaitUntil(shows, lineTimeout); err != nil {
		ts.Fatalf("%s: line %q, want %q; screen:\n%s", args[0], term.BeforeCursor(), want, term.Screen())
	}
}

// login NAME PASSWORD
//
// Types "login NAME" in NAME's terminal, waits for the password prompt and
// types PASSWORD and Enter.
func cmdLogin(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: login NAME PASSWORD")
	}
	refuseNeg(ts, neg, "login")
	term := state(ts).client(ts, args[0])
	ts.Check(term.SendLine("login " + args[0]))
	if _, err := term.Expect(`Password: `, expectTimeout); err != nil {
		ts.Fatalf("%s: %v", args[0], err)
	}
	ts.Check(term.SendLine(args[1]))
}

// exited NAME [STATUS]
// ! exited NAME
//
// Waits up to 10s for NAME's client to exit and checks its status: STATUS,
// by default 0; with !, anything but 0. (testscript's own wait and kill
// are for background commands, hence the names exited and crash.)
func cmdExited(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || len(args) > 2 || (neg && len(args) == 2) {
		ts.Fatalf("usage: exited NAME [STATUS] | ! exited NAME")
	}
	want := 0
	if len(args) == 2 {
		var err error
		if want, err = strconv.Atoi(args[1]); err != nil {
			ts.Fatalf("usage: exited NAME [STATUS]: bad status %q", args[1])
		}
	}
	term := state(ts).client(ts, args[0])
	code, err := term.Wait(stopTimeout)
	ts.Check(err)
	if neg && code == 0 || !neg && code != want {
		ts.Fatalf("%s exited with status %d; screen:\n%s", args[0], code, term.Tail(2000))
	}
}

// crash NAME [SIGNAL]
//
// Sends SIGNAL (default KILL: the client dies without a word) to NAME's
// client and waits for it to end.
func cmdCrash(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: crash NAME [SIGNAL]")
	}
	refuseNeg(ts, neg, "crash")
	term := state(ts).client(ts, args[0])
	sig := syscall.SIGKILL
	if len(args) == 2 {
		var ok bool
		if sig, ok = signalNamed(args[1]); !ok {
			ts.Fatalf("crash: unknown signal %q", args[1])
		}
	}
	ts.Check(term.Signal(sig))
	_, err := term.Wait(stopTimeout)
	ts.Check(err)
}
