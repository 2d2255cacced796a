package e2e_test

import (
	"fmt"
	"net"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
	"chat/internal/wire"
)

// The server's defences (issue 7; docs/RELIABILITY.md): deadlines on Hello
// and on a frame in progress, flood control, login throttling. Each runs
// against the server process while a well-behaved pair (alice and bob,
// logged in with their passwords) talks in the room, and the pair must get
// every message of its own, in order.
var _ = Describe("Defences", func() {
	// trickle writes b a byte every pace on its own goroutine until the
	// spec ends or a write fails (the server closed the connection).
	trickle := func(c net.Conn, b []byte, pace time.Duration) {
		stop := make(chan struct{})
		DeferCleanup(func() { close(stop) })
		go func() {
			tick := time.NewTicker(pace)
			defer tick.Stop()
			for i := 0; ; i = (i + 1) % len(b) {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if _, err := c.Write(b[i : i+1]); err != nil {
					return
				}
			}
		}()
	}

	// closedBy waits on its own goroutine for the server to close c and
	// reports the frames that came before.
	closedBy := func(c *harness.RawClient) <-chan []wire.Frame {
		ch := make(chan []wire.Frame, 1)
		go func() {
			frames, err := c.WaitClosed(3 * deadline)
			if err != nil {
				frames = nil
			}
			ch <- frames
		}()
		return ch
	}

	// talkUntil has the pair exchange rounds of messages until done
	// delivers, and returns what it delivered. Each round ends with a
	// message whose latency m records.
	talkUntil := func(pair *hostilePair, m *attackMetrics, tag string, done <-chan []wire.Frame) []wire.Frame {
		GinkgoHelper()
		for round := 0; ; round++ {
			Expect(round).To(BeNumerically("<", 100000), "the attacker was never cut")
			pair.exchange(3, fmt.Sprintf("%s %d", tag, round))
			m.record(pair.probe(1, fmt.Sprintf("%s probe %d", tag, round), nil)...)
			select {
			case frames := <-done:
				return frames
			default:
			}
		}
	}

	expectBye := func(frames []wire.Frame, code wire.Code, text string) {
		GinkgoHelper()
		Expect(frames).NotTo(BeEmpty(), "the connection was not closed, or closed without a Bye")
		bye := frames[len(frames)-1]
		Expect(bye.Type).To(Equal(wire.TypeBye))
		Expect(bye.Code).To(Equal(code))
		Expect(bye.Text).To(Equal(text))
	}

	Context("against slow peers (slowloris)", func() {
		var (
			srv  *harness.Server
			pair *hostilePair
		)
		BeforeEach(func() {
			srv = startServer(accounts, "-guests", "-hello-timeout", "1s", "-frame-timeout", "2s", "-msg-rate", "-1")
			pair = newHostilePair(srv.Addr, "lounge")
		})

		It("cuts a connection that trickles its Hello a byte at a time; the pair talks throughout [S0.25]", func() {
			m := measureAttack(srv, "a Hello trickled a byte at a time")
			slow := dialRaw(srv)
			hello := wire.Encode(&wire.Frame{Type: wire.TypeHello, ID: 1, Version: wire.Version, Text: "slowloris 1"})
			trickle(slow.Conn(), hello, 100*time.Millisecond) // 2.3 s for the whole Hello
			frames := talkUntil(pair, m, "during a slow hello", closedBy(slow))
			expectBye(frames, wire.ByeTimeout, "no Hello within 1s of connecting")
			pair.exchange(10, "after a slow hello")
			Expect(dialRaw(srv).Hello(deadline)).To(Succeed())
			m.done()
		})

		It("cuts a member that trickles a frame for longer than the frame deadline; the room is told [S0.21 S0.25]", func() {
			member := hostileGuest(srv.Addr, "mallory")
			Expect(hostileCallOK(member, &wire.Frame{Type: wire.TypeEnter, Room: "lounge"})).To(Succeed())
			pair.drainNotices(1) // mallory entered
			m := measureAttack(srv, "a frame trickled a byte at a time")
			say := wire.Encode(&wire.Frame{Type: wire.TypeSay, ID: 99, Text: strings.Repeat("t", 1000)})
			Expect(member.SendRaw(say[:10])).To(Succeed())
			trickle(member.Conn(), []byte("t"), 100*time.Millisecond) // never the whole frame
			frames := talkUntil(pair, m, "during a slow frame", closedBy(member))
			expectBye(frames, wire.ByeTimeout, "a frame took longer than 2s to arrive")
			pair.expectLost("mallory")
			pair.exchange(10, "after a slow frame")
			m.done()
		})
	})

	Context("against a flood of messages", func() {
		var (
			srv  *harness.Server
			pair *hostilePair
		)
		BeforeEach(func() {
			// The default limits: 100 at once, 10 a second, cut after 200
			// refused in a row.
			srv = startServer(accounts, "-guests")
			pair = newHostilePair(srv.Addr, "lounge")
		})

		It("refuses a member's flood with ErrSlowDown and cuts it; the pair gets every message of its own [S0.25]", func() {
			mallory := hostileGuest(srv.Addr, "mallory")
			Expect(hostileCallOK(mallory, &wire.Frame{Type: wire.TypeEnter, Room: "lounge"})).To(Succeed())
			pair.drainNotices(1)
			pair.exchange(5, "before the flood")

			// Says as fast as the socket takes them, in batches of 100,
			// until the server closes the connection.
			stop := make(chan struct{})
			DeferCleanup(func() { close(stop) })
			texts := map[uint32]string{}
			const batches = 20
			var stream [batches][]byte
			id := uint32(100)
			for b := range batches {
				for range 100 {
					id++
					texts[id] = fmt.Sprintf("flood %d", id)
					stream[b] = append(stream[b], wire.Encode(&wire.Frame{Type: wire.TypeSay, ID: id, Text: texts[id]})...)
				}
			}
			m := measureAttack(srv, "a flood of messages")
			started := time.Now()
			go func() {
				for _, b := range stream {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := mallory.Conn().Write(b); err != nil {
						return
					}
				}
			}()
			// alice and bob talk while the flood comes (mallory's messages
			// bob reads meanwhile are kept for below).
			m.record(pair.probe(20, "during the flood", nil)...)
			frames, err := mallory.WaitClosed(3 * deadline)
			Expect(err).NotTo(HaveOccurred())
			GinkgoWriter.Printf("flood: mallory cut %v after the flood started\n", time.Since(started))
			// Replies in order: the burst relayed, then refusals (a token
			// refilled meanwhile may relay one more and start the count
			// again), the last 200 of them in a row, then the Bye.
			var relayed []string
			refused, inRow := 0, 0
			for i, f := range frames {
				if f.Type != wire.TypeReply {
					continue
				}
				Expect(f.ID).To(Equal(uint32(101+i-countEvents(frames[:i]))), "replies out of order")
				switch f.Code {
				case wire.OK:
					relayed = append(relayed, texts[f.ID])
					inRow = 0
				case wire.ErrSlowDown:
					Expect(f.Text).To(Equal("you are sending too fast; wait a moment"))
					refused++
					inRow++
				default:
					Fail(fmt.Sprintf("reply %d: code %d %q", f.ID, f.Code, f.Text))
				}
			}
			GinkgoWriter.Printf("flood: %d relayed, %d refused, then cut\n", len(relayed), refused)
			Expect(len(relayed)).To(BeNumerically(">=", 100), "the burst")
			Expect(inRow).To(Equal(200))
			expectBye(frames, wire.ByeLimit, "you kept sending too fast: 200 messages in a row were refused")

			// Each of the pair got exactly the relayed ones, in order, and
			// was told mallory was disconnected.
			for _, c := range []*harness.RawClient{pair.alice, pair.bob} {
				var got []string
				for {
					f, err := c.NextEvent(deadline)
					Expect(err).NotTo(HaveOccurred())
					if f.Type == wire.TypeNotice && f.Name == "mallory" {
						Expect(f.Code).To(Equal(wire.NoticeLost))
						Expect(f.Text).To(Equal("mallory was disconnected from lounge for sending too fast"))
						break
					}
					if f.Type == wire.TypeMessage && f.From == "mallory" {
						got = append(got, f.Text)
					}
				}
				Expect(got).To(Equal(relayed))
			}
			pair.exchange(5, "after the flood")
			m.done()
		})
	})

	Context("against password guessing", func() {
		const delay = 300 * time.Millisecond
		var (
			srv  *harness.Server
			pair *hostilePair
		)
		BeforeEach(func() {
			srv = startServer(accounts, "-login-delay", delay.String(), "-login-delay-max", "3s")
			pair = newHostilePair(srv.Addr, "lounge")
		})

		It("delays wrong logins more and more per account and per address; others are served meanwhile [S0.14]", func() {
			// guess sends a wrong login, then has bob ping the server; it
			// returns the verdict, how long it took, and whether bob's
			// ping was answered first.
			// While a verdict is held, alice says two messages to bob, whose
			// latency m records.
			m := measureAttack(srv, "password guessing")
			guess := func(c *harness.RawClient, name string) (*wire.Frame, time.Duration, bool) {
				GinkgoHelper()
				sent := time.Now()
				id, err := c.Request(&wire.Frame{Type: wire.TypeLogin, Name: name, Secret: "guess"})
				Expect(err).NotTo(HaveOccurred())
				type verdict struct {
					f   *wire.Frame
					err error
					at  time.Time
				}
				got := make(chan verdict, 1)
				go func() {
					f, err := c.Reply(id, 3*deadline)
					got <- verdict{f, err, time.Now()}
				}()
				Expect(hostileCallOK(pair.bob, &wire.Frame{Type: wire.TypePing})).To(Succeed())
				pinged := time.Now()
				m.record(pair.probe(2, "during a login", nil)...)
				var v verdict
				Eventually(got).WithTimeout(3 * deadline).Should(Receive(&v))
				Expect(v.err).NotTo(HaveOccurred())
				return v.f, v.at.Sub(sent), pinged.Before(v.at)
			}

			guesser := dialRaw(srv)
			Expect(guesser.Hello(deadline)).To(Succeed())
			for range 3 {
				r, _, _ := guess(guesser, "alice")
				Expect(r.Code).To(Equal(wire.ErrBadLogin))
			}
			var took []time.Duration
			for i, want := range []time.Duration{delay, 2 * delay} {
				r, d, pingFirst := guess(guesser, "alice")
				Expect(r.Code).To(Equal(wire.ErrBadLogin))
				Expect(d).To(BeNumerically(">=", want), "attempt %d", 4+i)
				Expect(pingFirst).To(BeTrue(), "bob's ping waited for attempt %d's verdict", 4+i)
				took = append(took, d)
			}
			// Five failures end that connection; a new one does not start
			// the count again, for that account or from that address.
			_, err := guesser.WaitClosed(deadline)
			Expect(err).NotTo(HaveOccurred())
			again := dialRaw(srv)
			Expect(again.Hello(deadline)).To(Succeed())
			r, d, pingFirst := guess(again, "alice")
			Expect(r.Code).To(Equal(wire.ErrBadLogin))
			Expect(d).To(BeNumerically(">=", 4*delay), "attempt 6, per account")
			Expect(pingFirst).To(BeTrue())
			took = append(took, d)
			r, d, _ = guess(again, "carol")
			Expect(r.Code).To(Equal(wire.ErrBadLogin))
			Expect(d).To(BeNumerically(">=", 8*delay), "another account from the same address")
			took = append(took, d)
			GinkgoWriter.Printf("wrong logins 4 to 7 took %v\n", took)
			// The pair was never disturbed, and the right password still
			// gets in.
			pair.exchange(5, "after the guessing")
			Expect(again.Login("carol", accounts["carol"], 3*deadline)).To(Succeed())
			m.done()
		})
	})
})

// countEvents counts the frames that are not replies.
func countEvents(frames []wire.Frame) int {
	n := 0
	for _, f := range frames {
		if f.Type != wire.TypeReply {
			n++
		}
	}
	return n
}
