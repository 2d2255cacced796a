package e2e_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

var _ = Describe("Typing while messages arrive", func() {
	var alice, bob *harness.Terminal

	BeforeEach(func() {
		srv := startServer(accounts)
		alice = loginClient(srv, "alice")
		bob = loginClient(srv, "bob")
		createRoom(alice, "lounge")
		enterRoom(bob, "lounge")
		expect(alice, server(`bob entered lounge`))
	})

	It("prints an arriving message above the half-typed line and redraws it [S0.3 S0.5]", func() {
		typeText(alice, "half a li")
		Eventually(alice.BeforeCursor).WithTimeout(quick).Should(Equal("> half a li"))

		say(bob, "bob", "a message in between", alice)
		expect(alice, `> half a li`)
		Eventually(alice.BeforeCursor).WithTimeout(quick).Should(Equal("> half a li"))
		Expect(alice.Line()).To(Equal("> half a li"))
		lines := strings.Split(alice.Screen(), "\n")
		Expect(len(lines)).To(BeNumerically(">=", 2))
		Expect(lines[len(lines)-2]).To(MatchRegexp(`^bob `+ts+` a message in between$`), "screen:\n%s", alice.Screen())

		typeText(alice, "ne")
		keys(alice, harness.Enter)
		m := expect(bob, messageFrom("alice"))
		Expect(m[1]).To(Equal("half a line"))
	})

	It("keeps the typed line through a burst of messages [S0.3]", func() {
		typeText(alice, "still typing")
		Eventually(alice.BeforeCursor).WithTimeout(quick).Should(Equal("> still typing"))
		for i := range 20 {
			send(bob, "burst "+string(rune('a'+i)))
		}
		expect(alice, `bob `+ts+` burst t\n`)
		Eventually(alice.BeforeCursor).WithTimeout(quick).Should(Equal("> still typing"))
		typeText(alice, "!")
		keys(alice, harness.Enter)
		m := expect(bob, messageFrom("alice"))
		Expect(m[1]).To(Equal("still typing!"))
	})
})
