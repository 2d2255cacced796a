package e2e_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

// awayWhile cuts bob's connection and keeps him out (connections refused)
// while during runs, then lets him back and waits until he is in room.
func awayWhile(r *rig, bob *harness.Terminal, witness *harness.Terminal, during func()) {
	GinkgoHelper()
	r.proxy.SetRefuse(true)
	Expect(r.proxy.Cut(harness.CutReset)).To(Equal(1))
	expect(bob, client(retryReport))
	expect(witness, server(`contact with bob was lost`))
	during()
	r.proxy.SetRefuse(false)
	backIn(bob, "bob", "lounge")
}

var _ = Describe("Nothing lost across a reconnection", func() {
	It("shows bob the messages said while he was away, marked as missed, in order, once [S0.6 S0.7]", func() {
		r := startRig()
		alice, carol, bob := r.direct(), r.direct(), r.client()
		// A new room: bob has seen no message of it before he goes.
		inRoom("lounge", []string{"alice", "carol", "bob"}, alice, carol, bob)

		awayWhile(r, bob, alice, func() {
			for i := 1; i <= 3; i++ {
				say(carol, "carol", fmt.Sprintf("while away %d", i), alice)
			}
		})
		// Each replayed message is marked as missed, in order.
		expect(bob, `carol `+ts+` \(missed\) while away 1\n[\s\S]*?carol `+ts+` \(missed\) while away 2\n[\s\S]*?carol `+ts+` \(missed\) while away 3\n`)
		expect(bob, client(`missed while disconnected: 3 messages from lounge \(shown above\)`))

		say(carol, "carol", "welcome back", bob)
		for i := 1; i <= 3; i++ {
			Expect(count(bob.Output(), fmt.Sprintf(`while away %d\n`, i))).To(Equal(1))
		}
		Expect(count(bob.Output(), `welcome back\n`)).To(Equal(1))
		// What came live is not marked.
		Expect(count(bob.Output(), `carol `+ts+` welcome back\n`)).To(Equal(1))
	})

	It("tells bob how many messages were lost when more were said than the server keeps [S0.6 S0.7]", func() {
		r := startRig("-history", "2")
		alice, bob := r.direct(), r.client()
		inRoom("lounge", []string{"alice", "bob"}, alice, bob)
		say(alice, "alice", "seen", bob)

		awayWhile(r, bob, alice, func() {
			for i := 1; i <= 5; i++ {
				send(alice, fmt.Sprintf("said %d", i))
			}
			// Every one is accepted before bob comes back: alice's own
			// next request is answered after them.
			send(alice, "who")
			expect(alice, server(`\d+ users? connected`))
		})
		expect(bob, `alice `+ts+` \(missed\) said 4\n[\s\S]*?alice `+ts+` \(missed\) said 5\n`)
		expect(bob, client(`missed while disconnected: 2 messages from lounge; 3 older messages are no longer kept \(shown above\)`))
		for i := 1; i <= 3; i++ {
			Expect(bob.Contains(fmt.Sprintf(`said %d\n`, i))).To(BeFalse(), "a message the server no longer kept was shown")
		}
	})
})
