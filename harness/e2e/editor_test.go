package e2e_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"

	"chat/harness"
)

var _ = Describe("The line editor", func() {
	var alice, bob *harness.Terminal

	// sent types keys into alice's line and returns what bob receives when
	// she presses Enter.
	sent := func(k ...harness.Key) string {
		GinkgoHelper()
		keys(alice, append(k, harness.Enter)...)
		return expect(bob, messageFrom("alice"))[1]
	}
	text := func(s string) harness.Key { return harness.Key(s) }

	BeforeEach(func() {
		srv := startServer(accounts)
		alice = loginClient(srv, "alice")
		bob = loginClient(srv, "bob")
		createRoom(alice, "lounge")
		enterRoom(bob, "lounge")
		expect(alice, server(`bob entered lounge`))
	})

	It("deletes left with Backspace and ^H [S0.3]", func() {
		Expect(sent(text("hellxx"), harness.Backspace, harness.CtrlH, text("o"))).To(Equal("hello"))
	})

	It("deletes the whole line with Ctrl-U [S0.3]", func() {
		typeText(alice, "garbage")
		Eventually(alice.BeforeCursor).WithTimeout(quick).Should(Equal("> garbage"))
		keys(alice, harness.CtrlU)
		Eventually(alice.Line).WithTimeout(quick).Should(Equal(">"))
		Expect(sent(text("clean"))).To(Equal("clean"))
	})

	It("deletes the last word with Ctrl-W [S0.3]", func() {
		Expect(sent(text("one two three"), harness.CtrlW, text("four"))).To(Equal("one two four"))
	})

	It("inserts in the middle after Left and Right, Home and End [S0.3]", func() {
		Expect(sent(text("hllo"), harness.Left, harness.Left, harness.Left, text("e"),
			harness.End, text("!"), harness.Home, harness.Right, harness.Right, harness.Right, harness.Right, harness.Right, text(","))).
			To(Equal("hello,!"))
	})

	It("recalls earlier lines with Up and Down [S0.3]", func() {
		Expect(sent(text("first line"))).To(Equal("first line"))
		Expect(sent(text("second line"))).To(Equal("second line"))
		keys(alice, harness.Up, harness.Up)
		Eventually(alice.BeforeCursor).WithTimeout(quick).Should(Equal("> first line"))
		keys(alice, harness.Down)
		Eventually(alice.BeforeCursor).WithTimeout(quick).Should(Equal("> second line"))
		Expect(sent(text(" again"))).To(Equal("second line again"))
	})

	It("exits with status 130 and restores the terminal on Ctrl-C [S0.9]", func() {
		typeText(alice, "never sent")
		keys(alice, harness.CtrlC)
		Expect(alice.Wait(quick)).To(Equal(130))
		tio, err := alice.Termios()
		Expect(err).NotTo(HaveOccurred())
		Expect(tio.Lflag & (unix.ECHO | unix.ICANON)).To(Equal(uint32(unix.ECHO | unix.ICANON)))
	})

	It("logs out on Ctrl-D on an empty line [S0.13 S0.20]", func() {
		keys(alice, harness.CtrlD)
		Expect(alice.Wait(deadline)).To(Equal(0))
		expect(bob, server(`alice left lounge`))
	})
})
