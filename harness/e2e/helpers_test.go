package e2e_test

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

// ts matches a time as the client shows it.
const ts = `\d\d:\d\d:\d\d`

// Deadlines: output that follows a key press or a local action comes at
// once; anything that crosses the server gets the default.
const (
	quick    = 2 * time.Second
	deadline = 10 * time.Second
)

// Passwords of the accounts most specs use.
var accounts = map[string]string{
	"alice": "wonderland",
	"bob":   "builder",
	"carol": "singer",
}

// startServer starts a server with the given accounts, stopped when the
// spec ends.
func startServer(users map[string]string, args ...string) *harness.Server {
	GinkgoHelper()
	srv, err := harness.StartServer(harness.ServerOptions{Users: users, Args: args, Dir: GinkgoT().TempDir()})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		srv.Kill()
		if CurrentSpecReport().Failed() {
			AddReportEntry("server output", srv.Output())
		}
	})
	return srv
}

// startClient runs the chat client on a terminal, connected to srv.
func startClient(srv *harness.Server) *harness.Terminal {
	GinkgoHelper()
	return startClientAt(srv.Addr)
}

func binDir() string {
	GinkgoHelper()
	dir, err := harness.Binaries()
	Expect(err).NotTo(HaveOccurred())
	return dir
}

// expect waits up to the default deadline for re after the terminal's
// cursor and returns the match.
func expect(term *harness.Terminal, re string) []string {
	GinkgoHelper()
	return expectWithin(term, re, deadline)
}

func expectWithin(term *harness.Terminal, re string, timeout time.Duration) []string {
	GinkgoHelper()
	m, err := term.Expect(re, timeout)
	Expect(err).NotTo(HaveOccurred())
	return m
}

// send types line and Enter.
func send(term *harness.Terminal, line string) {
	GinkgoHelper()
	Expect(term.SendLine(line)).To(Succeed())
}

func keys(term *harness.Terminal, k ...harness.Key) {
	GinkgoHelper()
	Expect(term.SendKeys(k...)).To(Succeed())
}

func typeText(term *harness.Terminal, s string) {
	GinkgoHelper()
	Expect(term.Send(s)).To(Succeed())
}

// login logs name in with its password from accounts.
func login(term *harness.Terminal, name string) {
	GinkgoHelper()
	send(term, "login "+name)
	expect(term, `Password: `)
	send(term, accounts[name])
	expect(term, `\* `+ts+` welcome `+name)
}

// loginClient starts a client for name and logs it in.
func loginClient(srv *harness.Server, name string) *harness.Terminal {
	GinkgoHelper()
	term := startClient(srv)
	login(term, name)
	return term
}

// createRoom creates room and enters it.
func createRoom(term *harness.Terminal, room string) {
	GinkgoHelper()
	send(term, "create "+room)
	expect(term, `\* `+ts+` created room `+room)
	enterRoom(term, room)
}

func enterRoom(term *harness.Terminal, room string) {
	GinkgoHelper()
	send(term, "enter "+room)
	expect(term, `\* `+ts+` you entered `+room)
}

// say sends text from one terminal and waits until each of the others shows
// it as "NAME HH:MM:SS text".
func say(from *harness.Terminal, name, text string, to ...*harness.Terminal) {
	GinkgoHelper()
	send(from, text)
	for _, t := range to {
		expect(t, name+` `+ts+` `+regexp.QuoteMeta(text)+`\n`)
	}
}

// messageFrom matches a relayed message and captures its whole text.
func messageFrom(name string) string { return name + ` ` + ts + ` ([^\n]*)\n` }

// server matches a reply or notice of the server (the user "*").
func server(text string) string { return `\* ` + ts + ` ` + text }

// client matches a report of the client itself (the user "!").
func client(text string) string { return `! ` + ts + ` ` + text }

// clockSkew returns how far a shown HH:MM:SS is from the local time now,
// across midnight too.
func clockSkew(hms string) time.Duration {
	GinkgoHelper()
	shown, err := time.ParseInLocation("15:04:05", hms, time.Local)
	Expect(err).NotTo(HaveOccurred())
	now := time.Now()
	h, m, s := now.Clock()
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second -
		(time.Duration(shown.Hour())*time.Hour + time.Duration(shown.Minute())*time.Minute + time.Duration(shown.Second())*time.Second)
	d = d.Abs()
	return min(d, 24*time.Hour-d)
}

// runWithin runs cmd to completion within timeout, expects status 0 and
// returns its combined output.
func runWithin(cmd *exec.Cmd, timeout time.Duration) string {
	GinkgoHelper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	Expect(cmd.Start()).To(Succeed())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		Expect(err).NotTo(HaveOccurred(), "output:\n%s", out.String())
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		Fail(fmt.Sprintf("%s still running after %v; output:\n%s", cmd.Path, timeout, out.String()))
	}
	return out.String()
}

// startClientAt runs a client connected to addr on a terminal and waits
// until it has connected and shows its prompt (see awaitConnected).
func startClientAt(addr string) *harness.Terminal {
	GinkgoHelper()
	term := startClientProcess(addr)
	awaitConnected(term, addr)
	return term
}

// startClientProcess runs the client with args on a terminal, closed when
// the spec ends (its screen is reported if the spec failed), and waits for
// its first prompt. It types nothing before: the client's switch to raw mode
// may flush what was typed while the terminal was still cooked.
func startClientProcess(args ...string) *harness.Terminal {
	GinkgoHelper()
	term, err := harness.StartTerminal(filepath.Join(binDir(), harness.ClientBinary), args...)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		if CurrentSpecReport().Failed() {
			AddReportEntry("client screen", term.Tail(3000))
		}
		term.Close()
	})
	expect(term, `> `)
	return term
}

// awaitConnected waits for the client's report that it connected to addr.
// The prompt comes first and the connection is made in the background, so a
// spec that typed before this report could see it land inside its line.
func awaitConnected(term *harness.Terminal, addr string) {
	GinkgoHelper()
	expect(term, client(`connected to `+regexp.QuoteMeta(addr)+`\n`))
}

func dialRaw(srv *harness.Server) *harness.RawClient {
	GinkgoHelper()
	return dialRawAt(srv.Addr)
}

func dialRawAt(addr string) *harness.RawClient {
	GinkgoHelper()
	c, err := harness.DialRaw(addr)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(c.Close)
	return c
}

func dialRawSmallBuffer(addr string) *harness.RawClient {
	GinkgoHelper()
	c, err := harness.DialRawSmallBuffer(addr)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(c.Close)
	return c
}
