package e2e_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

var _ = Describe("Liveness through a black hole (a half-open connection)", func() {
	for _, overTLS := range []bool{false, true} {
		Context(overName(overTLS), func() { blackHoleSpecs(overTLS) })
	}
})

// blackHoleSpecs are the specs of "Liveness through a black hole (a half-open connection)", over TLS or not.
func blackHoleSpecs(overTLS bool) {
	It("has the server declare the silent client lost and the client reconnect once the black hole ends [S0.21 S0.6 S0.7]", func() {
		r := startRigOver(overTLS)
		alice := r.direct()
		bob := r.client()
		inRoom("lounge", []string{"alice", "bob"}, alice, bob)

		r.proxy.SetBlackhole(true)
		// No FIN, no RST: only the server's pings going unanswered tell it.
		expect(alice, server(`contact with bob was lost`))
		// bob's client hears nothing either and gives the connection up;
		// its attempts fail the same way while the black hole lasts.
		// The silence is told as it was (the client gives up after 2s of
		// it), never cut down to "0s".
		expect(bob, client(`connection to 127\.0\.0\.1:\d+ lost: no answer from the server for [1-9](\.\d)?s; reconnecting in \d+ms`))
		// Later attempts connect to the proxy but get no answer to their
		// Hello: failed attempts, never "reconnected".
		expect(bob, client(`cannot connect to 127\.0\.0\.1:\d+: no answer from the server for [1-9](\.\d)?s; retrying in \d+ms`))
		Expect(bob.Output()).NotTo(ContainSubstring("reconnected to"))
		r.proxy.SetBlackhole(false)

		backIn(bob, "bob", "lounge")
		expect(alice, server(`bob entered lounge`))
		say(bob, "bob", "out of the tunnel", alice)

		// A logout is announced differently from a lost contact.
		Expect(alice.Contains(`bob left lounge`)).To(BeFalse(), "a lost contact was announced as a logout")
		send(bob, "logout")
		expect(alice, server(`bob left lounge`))
		code, err := bob.Wait(deadline)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(0))
		Expect(count(alice.Output(), `contact with bob was lost`)).To(Equal(1))
	})
}

var _ = Describe("Three clients through the proxy", func() {
	It("all come back to the room after every connection is cut, and every message is shown once [S0.6 S0.7 S0.21]", func() {
		r := startRig()
		names := []string{"alice", "bob", "carol"}
		terms := []*harness.Terminal{r.client(), r.client(), r.client()}
		inRoom("lounge", names, terms...)
		say(terms[0], "alice", "before the cut", terms[1], terms[2])

		Expect(r.proxy.Cut(harness.CutReset)).To(Equal(3))
		for i, t := range terms {
			backIn(t, names[i], "lounge")
		}
		// Each one's message reaches the two others exactly once.
		for i, t := range terms {
			var others []*harness.Terminal
			for j, o := range terms {
				if j != i {
					others = append(others, o)
				}
			}
			say(t, names[i], "after the cut from "+names[i], others...)
		}
		for i, t := range terms {
			for j, name := range names {
				n := 1
				if j == i {
					n = 0 // never to the sender
				}
				Expect(count(t.Output(), name+` `+ts+` after the cut from `+name)).To(Equal(n), "%s's screen", names[i])
			}
			if i != 0 {
				Expect(count(t.Output(), `before the cut`)).To(Equal(1), "%s's screen", names[i])
			}
		}
	})
})
