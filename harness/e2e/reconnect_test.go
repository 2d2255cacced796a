package e2e_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

var _ = Describe("Reconnecting after a cut connection", func() {
	for _, overTLS := range []bool{false, true} {
		Context(overName(overTLS), func() { reconnectSpecs(overTLS) })
	}
})

// reconnectSpecs are the specs of "Reconnecting after a cut connection", over TLS or not.
func reconnectSpecs(overTLS bool) {
	var (
		r          *rig
		alice, bob *harness.Terminal
	)

	// bob goes through the proxy; alice, the witness, does not.
	BeforeEach(func() {
		r = startRigOver(overTLS)
		alice = r.direct()
		bob = r.client()
		inRoom("lounge", []string{"alice", "bob"}, alice, bob)
	})

	DescribeTable("reports the cut, logs in again, re-enters, and the room hears the loss and the return",
		func(mode harness.CutMode, reason string) {
			Expect(r.proxy.Cut(mode)).To(Equal(1))

			m := expect(bob, client(`connection to 127\.0\.0\.1:\d+ lost: `+reason+`; reconnecting in (\d+ms)`))
			d, err := time.ParseDuration(m[1])
			Expect(err).NotTo(HaveOccurred())
			Expect(d).To(BeNumerically(">=", 100*time.Millisecond), "the first pause is at least -retry-min")
			Expect(d).To(BeNumerically("<=", 200*time.Millisecond), "the first pause is at most twice -retry-min")
			backIn(bob, "bob", "lounge")

			// The server saw the connection end without a logout: the room
			// is told contact was lost (not that bob left), then that he
			// is back.
			expect(alice, server(`contact with bob was lost`))
			expect(alice, server(`bob entered lounge`))
			Expect(alice.Contains(`bob left lounge`)).To(BeFalse(), "a lost connection was announced as a logout")

			say(bob, "bob", "back again", alice)
			say(alice, "alice", "welcome back", bob)
		},
		Entry("cut with a reset [S0.6 S0.7 S0.21]", harness.CutReset, `connection reset by peer`),
		Entry("cut with a clean close [S0.6 S0.7 S0.21]", harness.CutClose, `[^;\n]+`),
	)

	It("keeps retrying while connections are refused, with growing pauses, and reports each attempt [S0.6 S0.7]", func() {
		r.proxy.SetRefuse(true)
		r.proxy.Cut(harness.CutReset)
		for range 4 {
			expect(bob, client(retryReport))
		}
		r.proxy.SetRefuse(false)
		backIn(bob, "bob", "lounge")

		ds := pauses(bob.Output(), retryReport)
		Expect(len(ds)).To(BeNumerically(">=", 4))
		// Jittered doubling from 100ms: [100,200), [200,400), [400,500]
		// (the cap), then 500ms.
		Expect(ds[0]).To(BeNumerically("<", 200*time.Millisecond))
		Expect(ds[1]).To(BeNumerically(">=", 200*time.Millisecond))
		Expect(ds[2]).To(BeNumerically(">=", 400*time.Millisecond))
		for _, d := range ds {
			Expect(d).To(BeNumerically("<=", 500*time.Millisecond), "a pause over -retry-max")
		}
		say(bob, "bob", "made it", alice)
	})

	It("queues lines typed while disconnected and sends them after re-entering, in order [S0.6 S0.7]", func() {
		r.proxy.SetRefuse(true)
		r.proxy.Cut(harness.CutReset)
		expect(bob, client(retryReport))
		send(bob, "typed while away 1")
		expect(bob, client(`not connected: line queued \(1 waiting\); it will be sent after reconnecting`))
		send(bob, "typed while away 2")
		expect(bob, client(`not connected: line queued \(2 waiting\)`))
		r.proxy.SetRefuse(false)

		expect(bob, client(`back in lounge`))
		expect(bob, client(`sent 2 lines typed while disconnected`))
		expect(alice, server(`bob entered lounge`))
		expect(alice, `bob `+ts+` typed while away 1\n`)
		expect(alice, `bob `+ts+` typed while away 2\n`)
		// Sent once each: a later message comes right after them.
		say(bob, "bob", "and now live", alice)
		Expect(count(alice.Output(), `typed while away 1`)).To(Equal(1))
		Expect(count(alice.Output(), `typed while away 2`)).To(Equal(1))
	})

	DescribeTable("stops reconnecting and exits 0 when the user leaves during the pause",
		func(leave func(*harness.Terminal)) {
			r.proxy.SetRefuse(true)
			r.proxy.Cut(harness.CutReset)
			expect(bob, client(retryReport))
			leave(bob)
			code, err := bob.Wait(quick)
			Expect(err).NotTo(HaveOccurred())
			Expect(code).To(Equal(0))
			Expect(bob.AfterCursor()).NotTo(MatchRegexp(`reconnected to`))
		},
		Entry("logout [S0.6 S0.7]", func(t *harness.Terminal) { send(t, "logout") }),
		Entry("Ctrl-D [S0.6 S0.7]", func(t *harness.Terminal) { keys(t, harness.CtrlD) }),
	)
}
