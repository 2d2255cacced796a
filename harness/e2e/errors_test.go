package e2e_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

var _ = Describe("Command errors", func() {
	var (
		srv   *harness.Server
		alice *harness.Terminal
	)

	BeforeEach(func() {
		srv = startServer(accounts)
		alice = startClient(srv)
	})

	Context("when the user has not logged in", func() {
		It("answers every command but login with an error [S0.15 S0.17 S0.18]", func() {
			for _, line := range []string{"create lounge", "enter lounge", "who", "hello there"} {
				send(alice, line)
				expect(alice, server(`please log in first: login NAME`))
			}
			login(alice, "alice")
		})
	})

	Context("when the user has logged in", func() {
		BeforeEach(func() {
			login(alice, "alice")
		})

		It("refuses to enter a room that does not exist [S0.11 S0.17 S0.18]", func() {
			send(alice, "enter attic")
			expect(alice, server(`no room named attic; create it with: create attic`))
		})

		It("refuses to create a room that exists [S0.10 S0.17]", func() {
			send(alice, "create lounge")
			expect(alice, server(`created room lounge`))
			send(alice, "create lounge")
			expect(alice, server(`room lounge already exists`))
		})

		It("refuses a message outside a room [S0.2 S0.17]", func() {
			send(alice, "is anyone there?")
			expect(alice, server(`you are not in a room; enter one with: enter ROOM`))
		})

		It("refuses a second login [S0.17]", func() {
			send(alice, "login alice")
			// Whether the client asks for the password first or not, the
			// answer is the server's refusal.
			m := expect(alice, `(Password: |`+server(`you are already logged in as alice`)+`)`)
			if m[1] == "Password: " {
				send(alice, accounts["alice"])
				expect(alice, server(`you are already logged in as alice`))
			}
		})

		It("shows the usage of a command with the wrong number of words and sends nothing [S0.8 S0.10 S0.11 S0.17]", func() {
			bob := loginClient(srv, "bob")
			createRoom(alice, "lounge")
			enterRoom(bob, "lounge")

			for _, c := range []struct{ line, usage string }{
				{"login", `usage: login NAME`},
				{"login bob extra", `usage: login NAME`},
				{"create", `usage: create ROOM`},
				{"create a b", `usage: create ROOM`},
				{"enter", `usage: enter ROOM`},
				{"enter lounge now", `usage: enter ROOM`},
			} {
				send(alice, c.line)
				expectWithin(alice, client(c.usage), quick)
			}
			// The marker comes after every wrong line: had any of them been
			// sent, bob or alice would show its effect before it.
			say(alice, "alice", "marker", bob)
			Expect(bob.Contains(`alice `+ts+` (login|create|enter)`)).To(BeFalse(), "a wrong command went to the room:\n%s", bob.Output())
			send(alice, "who")
			expect(alice, server(`2 users connected`))
			Expect(alice.Contains(server(`(created room [ab]|already exists|no room named|you are already in|you entered lounge with)`))).To(BeFalse(),
				"a wrong command reached the server:\n%s", alice.Output())
			Expect(strings.Count(alice.Output(), "Password:")).To(Equal(1), "a wrong login asked for a password:\n%s", alice.Output())
		})
	})
})
