package e2e_test

import (
	"net"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

// Mode menu (seed 002): the name first, then the menu of m, f and x.

// menuBlock is the seed's menu as the screen shows it (S2.14).
const menuBlock = `Enter an option \('m', 'f', 'x'\):\n  \(M\)essage \(send\)\n  \(F\)ile \(request\)\n  e\(x\)it\n`

// startMenu runs "chat -mode menu args..." on a terminal and waits for the
// name prompt.
func startMenu(args ...string) *harness.Terminal {
	GinkgoHelper()
	term, err := harness.StartTerminal(filepath.Join(binDir(), harness.ClientBinary), append([]string{"-mode", "menu"}, args...)...)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		if CurrentSpecReport().Failed() {
			AddReportEntry("menu client screen", term.Tail(3000))
		}
		term.Close()
	})
	expect(term, `(?m)^! connected to \S+\n`)
	inputLine(term, "Enter your name: ")
	return term
}

// menuUser starts a menu client in its own directory (shared and
// downloaded to), connected to addr, and gives it name.
func menuUser(addr, name string) (*harness.Terminal, string) {
	GinkgoHelper()
	dir := GinkgoT().TempDir()
	term := startMenu("-share", dir, "-download", dir, addr)
	send(term, name)
	expect(term, `Enter your name: `+name+`\n`+menuBlock)
	inputLine(term, "")
	return term, dir
}

// inputLine waits until the terminal's input line, up to the cursor, is
// exactly want, with nothing after the cursor.
func inputLine(term *harness.Terminal, want string) {
	GinkgoHelper()
	shows := func() bool { return term.BeforeCursor() == want && term.Line() == strings.TrimRight(want, " ") }
	Expect(term.WaitUntil(shows, deadline)).To(Succeed(), "input line %q, want %q; screen:\n%s", term.BeforeCursor(), want, term.Screen())
}

// appeared waits until re matches anything term printed, before the cursor
// of expect or after it.
func appeared(term *harness.Terminal, re string) {
	GinkgoHelper()
	Expect(term.WaitUntil(func() bool { return term.Contains(re) }, deadline)).To(Succeed(), "never printed /%s/; tail:\n%s", re, term.Tail(2000))
}

// broadcast sends text with m from term.
func broadcast(term *harness.Terminal, text string) {
	GinkgoHelper()
	send(term, "m")
	inputLine(term, "Enter your message: ")
	send(term, text)
	expect(term, `Enter your message: `+regexp.QuoteMeta(text)+`\n`+menuBlock)
}

var _ = Describe("Mode menu", func() {
	var srv *harness.Server

	BeforeEach(func() {
		srv = startServer(accounts, "-guests")
	})

	It("asks the name first, shows the seed's menu and asks again for a name in use [S2.3 S2.14]", func() {
		menuUser(srv.Addr, "client1")
		other := startMenu(srv.Addr)
		send(other, "client1")
		expect(other, `(?m)^\* the name client1 is in use; choose another\n`)
		inputLine(other, "Enter your name: ")
		send(other, "client2")
		expect(other, `Enter your name: client2\n`+menuBlock)
		send(other, "q")
		expect(other, `(?m)^! unknown option "q": enter m, f or x\n`+menuBlock)
	})

	It("sends m to every other client as name: message, never back to the sender [S2.1 S2.2 S2.4 S2.5 S2.6]", func() {
		c1, _ := menuUser(srv.Addr, "client1")
		c2, _ := menuUser(srv.Addr, "client2")
		c3, _ := menuUser(srv.Addr, "client3")
		broadcast(c1, "hello!")
		expect(c2, `(?m)^client1: hello!\n`)
		expect(c3, `(?m)^client1: hello!\n`)
		broadcast(c2, "hi, client1")
		expect(c1, `(?m)^client2: hi, client1\n`)
		expect(c3, `(?m)^client2: hi, client1\n`)
		Expect(c1.Contains(`client1: hello!`)).To(BeFalse(), "the sender got its own message back")
		Expect(c2.Contains(`client2: hi`)).To(BeFalse(), "the sender got its own message back")
	})

	It("prints a message arriving at a prompt on its own line without garbling the typing [S2.6]", func() {
		c1, _ := menuUser(srv.Addr, "client1")
		c2, _ := menuUser(srv.Addr, "client2")
		send(c2, "m")
		inputLine(c2, "Enter your message: ")
		typeText(c2, "half a mess")
		inputLine(c2, "Enter your message: half a mess")
		broadcast(c1, "interruption")
		// The stream holds the erased input line before it; the screen
		// shows the message on a line of its own above the input line.
		expect(c2, `client1: interruption\n`)
		inputLine(c2, "Enter your message: half a mess")
		lines := strings.Split(c2.Screen(), "\n")
		Expect(len(lines)).To(BeNumerically(">=", 2))
		Expect(lines[len(lines)-2]).To(Equal("client1: interruption"), "screen:\n%s", c2.Screen())
		send(c2, "age")
		expect(c1, `(?m)^client2: half a message\n`)
	})

	It("asks owner and file with f, shows the menu again at once and gets the file while chatting [S2.9 S2.10 S2.11 S2.12]", func() {
		c1, dir1 := menuUser(srv.Addr, "client1")
		c2, dir2 := menuUser(srv.Addr, "client2")
		sum := writeRandomFile(dir1, "Ameca_splendens.jpg", 3<<20, 1)
		send(c2, "f")
		inputLine(c2, "Who owns the file? ")
		send(c2, "client1")
		inputLine(c2, "Which file do you want? ")
		send(c2, "Ameca_splendens.jpg")
		expect(c2, `Which file do you want\? Ameca_splendens\.jpg\n`+menuBlock)
		broadcast(c2, "while it comes")
		expect(c1, `(?m)^client2: while it comes\n`)
		// These come whenever the transfer ends, before or after the chat.
		appeared(c2, `! received Ameca_splendens\.jpg from client1 \(3 MiB, sha256 ok\)\n`)
		appeared(c1, `! sent Ameca_splendens\.jpg to client2 \(3 MiB\)\n`)
		Expect(fileSum(filepath.Join(dir2, "Ameca_splendens.jpg"))).To(Equal(sum))

		send(c2, "f")
		send(c2, "client1")
		send(c2, "missing.jpg")
		expect(c2, `! could not get missing\.jpg from client1: client1 has no file named missing\.jpg\n`)
		broadcast(c1, "still here")
		expect(c2, `(?m)^client1: still here\n`)
	})

	It("closes every connection with x and says goodbye; the others carry on [S2.13 S2.14]", func() {
		c1, _ := menuUser(srv.Addr, "client1")
		c2, _ := menuUser(srv.Addr, "client2")
		send(c2, "x")
		expect(c2, `(?m)^x\nclosing your sockets\.\.\.goodbye\n`)
		code, err := c2.Wait(deadline)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(0))
		// The name is free again at once, and the others go on.
		c3, _ := menuUser(srv.Addr, "client2")
		broadcast(c1, "who is there?")
		expect(c3, `(?m)^client1: who is there\?\n`)
	})

	It("takes the server's port with -p and its own file port with -l [S2.15]", func() {
		_, port, err := net.SplitHostPort(srv.Addr)
		Expect(err).NotTo(HaveOccurred())
		term := startMenu("-l", "5001", "-p", port)
		Expect(term.Output()).To(ContainSubstring("! connected to localhost:" + port))
		send(term, "client1")
		expect(term, menuBlock)
		// The seed writes -l as -1.
		other := startMenu("-1", "5002", "-p", port)
		Expect(other.Output()).To(ContainSubstring("! connected to localhost:" + port))
	})
})
