package e2e_test

import (
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

// The chat client logs in again after a lost connection with the resume
// token of its latest login rather than its password, and with the
// password when the token is refused. The server's side of tokens is
// tested in package server; these specs watch the client's through its
// terminal and the server's log.
var _ = Describe("Resume tokens in the chat client", func() {
	var (
		r   *rig
		bob *harness.Terminal
	)

	// returns checks that bob came back by himself into lounge, told
	// nothing of a token.
	returns := func() {
		GinkgoHelper()
		shown := backIn(bob, "bob", "lounge")
		for _, hidden := range []string{"resume token", "could not log in", "v1.bob."} {
			Expect(shown).NotTo(ContainSubstring(hidden))
		}
		send(bob, "who")
		expect(bob, server(`\d+ users? connected`))
	}

	Context("when the server comes back with another key (no store keeps it)", func() {
		BeforeEach(func() {
			r = startRig(storeMemory...)
			bob = r.client()
			inRoom("lounge", []string{"bob"}, bob)
			r.roomsSaved("lounge")
		})

		It("has the refused token followed at once by the password, and bob back in his room without a word of it [S0.7 I17.8]", func() {
			r.restart(syscall.SIGKILL)
			returns()
			// bob's password is right: the one failed login the new
			// server saw was the token of the old one.
			Eventually(r.srv.Output).WithTimeout(deadline).Should(MatchRegexp(`(?s)failed login as bob\n.*logged in as bob\n`))
			Expect(count(r.srv.Output(), `failed login as bob`)).To(Equal(1), "%s", r.srv.Output())
		})
	})

	Context("when the server gives no tokens (-resume-ttl 0)", func() {
		BeforeEach(func() {
			r = startRig("-resume-ttl", "0")
			bob = r.client()
			inRoom("lounge", []string{"bob"}, bob)
		})

		It("logs bob in again with his password after a cut, back in his room [S0.7 I17.8]", func() {
			Expect(r.proxy.Cut(harness.CutReset)).To(Equal(1))
			returns()
			Expect(r.srv.Output()).NotTo(ContainSubstring("failed login"))
		})
	})
})
