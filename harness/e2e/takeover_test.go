package e2e_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

// noticesAbout matches every notice the room could get about name.
func noticesAbout(name string) string {
	return `\* ` + ts + ` (?:` + name + ` entered|` + name + ` left|contact with ` + name + ` was lost)`
}

var _ = Describe("Session takeover", func() {
	It("replaces the first session of a user who logs in again; the first is told why and exits; the room sees one presence [S0.7 S0.21]", func() {
		r := startRig()
		alice := r.direct()
		bob := r.direct()
		inRoom("lounge", []string{"alice", "bob"}, alice, bob)

		again := r.client() // through the proxy, for the cut below
		send(again, "login alice")
		expect(again, `Password: `)
		send(again, accounts["alice"])
		expect(again, server(`welcome alice; you are in lounge, taken over from your other connection`))

		expect(alice, client(`disconnected by 127\.0\.0\.1:\d+: you logged in from another connection; not reconnecting, exiting`))
		code, err := alice.Wait(deadline)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(1), "the replaced client exits with an error status")

		// The new session is in the room without a word to the others.
		say(bob, "bob", "still there, alice?", again)
		say(again, "alice", "yes, on my other terminal", bob)
		Expect(bob.Contains(noticesAbout("alice"))).To(BeFalse(), "the room was told of the takeover:\n%s", bob.Output())

		// The new client knows the room it took over: after a cut it
		// goes back there by itself.
		Expect(r.proxy.Cut(harness.CutReset)).To(Equal(1))
		backIn(again, "alice", "lounge")
		say(bob, "bob", "and after a cut?", again)
	})

	It("lets a client back from a black hole take over its stale session: no notice, and what it missed is shown once, in order [S0.6 S0.7 S0.21]", func() {
		// The server would notice the silence only after 20s: the stale
		// session is still there when bob comes back.
		r := startRig("-peer-timeout", "20s")
		alice := r.direct()
		carol := r.direct()
		bob := r.client()
		inRoom("lounge", []string{"alice", "carol", "bob"}, alice, carol, bob)
		say(carol, "carol", "seen by all", alice, bob)
		marks := map[*harness.Terminal]int{alice: len(alice.Output()), carol: len(carol.Output())}

		r.proxy.SetBlackhole(true)
		for _, text := range []string{"missed one", "missed two", "missed three"} {
			say(carol, "carol", text, alice)
		}
		expect(bob, client(`connection to 127\.0\.0\.1:\d+ lost: no answer from the server`))
		// Its next attempt fails the same way; by then the proxy has long
		// swallowed the close of the first connection, as a pulled cable
		// would, so the server still holds bob's stale session.
		expect(bob, client(retryReport))
		r.proxy.SetBlackhole(false)

		backIn(bob, "bob", "lounge")
		m := expect(bob, `carol `+ts+` \(missed\) missed one\n[\s\S]*?carol `+ts+` \(missed\) missed two\n[\s\S]*?carol `+ts+` \(missed\) missed three\n`)
		Expect(m).NotTo(BeEmpty())
		expect(bob, client(`missed while disconnected: 3 messages from lounge \(shown above\)`))
		say(carol, "carol", "and live again", bob)
		for _, text := range []string{"seen by all", "and live again"} {
			Expect(count(bob.Output(), `carol `+ts+` `+text+`\n`)).To(Equal(1), "%q on bob's screen", text)
		}
		for _, text := range []string{"missed one", "missed two", "missed three"} {
			Expect(count(bob.Output(), `carol `+ts+` \(missed\) `+text+`\n`)).To(Equal(1), "%q on bob's screen", text)
			Expect(count(bob.Output(), `carol `+ts+` `+text+`\n`)).To(Equal(0), "%q shown unmarked on bob's screen", text)
		}
		say(bob, "bob", "I am back", alice, carol)
		for t, mark := range marks {
			Expect(t.Output()[mark:]).NotTo(MatchRegexp(noticesAbout("bob")), "the room was told of the takeover")
		}
	})
})
