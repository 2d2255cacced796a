package e2e_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
	"chat/internal/wire"
)

// Hostile peers through real sockets: each attack runs against the server
// process while a well-behaved pair (alice and bob, logged in with their
// passwords) talks in the attacked room, and the pair must still get every
// message, in order. Attackers are guests (the server runs with -guests) so
// that they cost no password check.
var _ = Describe("Hostile peers", func() {
	var (
		srv  *harness.Server
		pair *hostilePair
	)

	BeforeEach(func() {
		// No flood limit: these attacks and the pair send as fast as
		// replies come on purpose (flood control: defences_test.go).
		srv = startServer(accounts, "-guests", "-msg-rate", "-1")
		pair = newHostilePair(srv.Addr, "lounge")
	})

	It("survives random bytes from a member of the room and from a stranger [S0.25 S1.6 S1.7]", func() {
		seed := GinkgoRandomSeed()
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		GinkgoWriter.Printf("random bytes from seed %d\n", seed)
		member := hostileGuest(srv.Addr, "mallory")
		Expect(hostileCallOK(member, &wire.Frame{Type: wire.TypeEnter, Room: "lounge"})).To(Succeed())
		pair.drainNotices(1) // mallory entered
		stranger, err := harness.DialRaw(srv.Addr)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { stranger.Close() })
		// Random bytes interleaved with the pair's messages, then both
		// attackers hang up.
		attack := func(i int) {
			chunk := make([]byte, 2048)
			for j := range chunk {
				chunk[j] = byte(rng.UintN(256))
			}
			// The server may already have closed a connection whose
			// stream cannot be framed: a failed write is fine.
			_ = member.SendRaw(chunk)
			_ = stranger.SendRaw(chunk)
		}
		m := measureAttack(srv, "random bytes")
		pair.exchangeDuring(30, "during random bytes", attack)
		m.record(pair.probe(20, "probe during random bytes", attack)...)
		member.Close()
		stranger.Close()
		// Lost, or left if the random bytes happened to frame a Leave or
		// a Logout.
		pair.expectGone("mallory", wire.NoticeLost, wire.NoticeLeft)
		pair.exchange(20, "after random bytes")
		m.done()
		Expect(dialRaw(srv).Hello(deadline)).To(Succeed(), "the server no longer serves new connections")
	})

	It("forgets a member that sends a valid length, part of the body and hangs up [S0.21 S0.25 S1.6]", func() {
		member := hostileGuest(srv.Addr, "mallory")
		Expect(hostileCallOK(member, &wire.Frame{Type: wire.TypeEnter, Room: "lounge"})).To(Succeed())
		pair.drainNotices(1)
		body := wire.Encode(&wire.Frame{Type: wire.TypeSay, ID: 99, Text: strings.Repeat("t", 1000)})
		m := measureAttack(srv, "truncated frame")
		pair.exchangeDuring(10, "during a truncated frame", func(i int) {
			if i == 3 {
				Expect(member.SendRaw(body[:len(body)/2])).To(Succeed())
			}
		})
		// The half frame waits in mallory's decoder meanwhile.
		m.record(pair.probe(20, "probe during a truncated frame", nil)...)
		Expect(member.Close()).To(Succeed())
		pair.expectLost("mallory")
		pair.exchange(10, "after a truncated frame")
		m.done()
	})

	It("says Bye to a member that sends a length over the limit, and the room is told [S0.21 S0.25 S1.6]", func() {
		member := hostileGuest(srv.Addr, "mallory")
		Expect(hostileCallOK(member, &wire.Frame{Type: wire.TypeEnter, Room: "lounge"})).To(Succeed())
		pair.drainNotices(1)
		m := measureAttack(srv, "length over the limit")
		pair.exchangeDuring(10, "during an oversize length", func(i int) {
			if i == 3 {
				Expect(member.SendRaw(binary.BigEndian.AppendUint32(nil, wire.MaxFrameSize+1))).To(Succeed())
			}
		})
		m.record(pair.probe(20, "probe after an oversize length", nil)...)
		frames, err := member.WaitClosed(deadline)
		Expect(err).NotTo(HaveOccurred())
		Expect(frames).NotTo(BeEmpty(), "closed without a Bye")
		bye := frames[len(frames)-1]
		Expect(bye.Type).To(Equal(wire.TypeBye))
		Expect(bye.Code).To(Equal(wire.ByeMalformed))
		Expect(bye.Text).NotTo(BeEmpty())
		pair.expectLost("mallory")
		pair.exchange(10, "after an oversize length")
		m.done()
	})

	It("answers every valid request among unknown types and garbage frames [S1.7 S3.9 S0.17]", func() {
		member := hostileGuest(srv.Addr, "mallory")
		Expect(hostileCallOK(member, &wire.Frame{Type: wire.TypeEnter, Room: "lounge"})).To(Succeed())
		pair.drainNotices(1)
		rng := rand.New(rand.NewPCG(uint64(GinkgoRandomSeed()), 11))
		// Bodies that do not parse, framed by a correct length: each one
		// is answered with ErrBadRequest and id 0, and the stream goes on.
		garbage := func() []byte {
			for {
				body := make([]byte, 1+rng.IntN(300))
				for j := range body {
					body[j] = byte(rng.UintN(256))
				}
				var f wire.Frame
				if err := wire.Unmarshal(body, &f); errors.Is(err, wire.ErrMalformed) {
					return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
				}
			}
		}
		type want struct {
			id   uint32
			code wire.Code
		}
		var stream []byte
		var wants []want
		var said []string
		id := uint32(0)
		add := func(f *wire.Frame, code wire.Code) {
			id++
			f.ID = id
			stream = append(stream, wire.Encode(f)...)
			wants = append(wants, want{id, code})
		}
		for i := range 40 {
			text := fmt.Sprintf("valid %d", i)
			add(&wire.Frame{Type: wire.TypeSay, Text: text}, wire.OK)
			said = append(said, text)
			switch i % 5 {
			case 0:
				// An unknown type: the numbers the protocol gave to
				// requests since (Whois is 42) are skipped.
				t := wire.Type(42 + i)
				for t.IsRequest() || t == wire.TypePong {
					t++
				}
				add(&wire.Frame{Type: t}, wire.ErrUnknown)
			case 1:
				add(&wire.Frame{Type: wire.TypeMessage, Text: "forged"}, wire.ErrUnknown) // a server frame
			case 2:
				stream = append(stream, wire.Encode(&wire.Frame{Type: wire.TypePong})...) // no reply
			case 3:
				add(&wire.Frame{Type: wire.Type(200)}, wire.ErrUnknown)
			}
			stream = append(stream, garbage()...)
			wants = append(wants, want{0, wire.ErrBadRequest})
		}
		add(&wire.Frame{Type: wire.TypePing}, wire.OK)
		// All of it in one write, then all the replies, in order; the
		// pair's latency is measured while the server works through it.
		m := measureAttack(srv, "unknown types and garbage frames")
		Expect(member.SendRaw(stream)).To(Succeed())
		m.record(pair.probe(20, "probe during garbage frames", nil)...)
		for i, w := range wants {
			r, err := member.Next(deadline)
			for err == nil && r.Type != wire.TypeReply {
				r, err = member.Next(deadline) // notices of the pair's doings
			}
			Expect(err).NotTo(HaveOccurred(), "reply %d of %d", i, len(wants))
			Expect(r.ID).To(Equal(w.id), "reply %d: %s", i, r.Text)
			Expect(r.Code).To(Equal(w.code), "reply %d (id %d): %s", i, w.id, r.Text)
		}
		// The well-behaved members got every valid message, in order, and
		// nothing forged.
		for _, c := range []*harness.RawClient{pair.alice, pair.bob} {
			for _, text := range said {
				Expect(pair.nextMessageFrom(c, "mallory").Text).To(Equal(text))
			}
		}
		pair.exchange(10, "after garbage frames")
		m.done()
	})

	It("keeps serving a pair while 1,000 connections never say Hello [S0.1 S0.25]", func() {
		const idle = 1000
		m := measureAttack(srv, "1,000 connections that never say Hello")
		conns := make([]net.Conn, 0, idle)
		DeferCleanup(func() {
			for _, c := range conns {
				c.Close()
			}
		})
		for i := range idle {
			c, err := net.Dial("tcp", srv.Addr)
			Expect(err).NotTo(HaveOccurred(), "connection %d", i)
			conns = append(conns, c)
			switch i % 3 {
			case 1: // half a length field
				_, err = c.Write([]byte{0})
			case 2: // a length and half a Hello
				hello := wire.Encode(&wire.Frame{Type: wire.TypeHello, ID: 1, Version: wire.Version})
				_, err = c.Write(hello[:len(hello)-1])
			}
			Expect(err).NotTo(HaveOccurred())
		}
		// The server has them all: a connection made after them is served,
		// and the pair talks.
		late := dialRaw(srv)
		Expect(late.Hello(deadline)).To(Succeed())
		pair.exchange(50, "among idle connections")
		m.record(pair.probe(20, "probe among idle connections", nil)...)
		// Read while all 1,000 are still open.
		m.done()
		for _, c := range conns {
			Expect(c.Close()).To(Succeed())
		}
		conns = conns[:0]
		pair.exchange(10, "after the idle connections closed")
		Expect(late.Call(&wire.Frame{Type: wire.TypePing}, deadline)).To(HaveField("Code", wire.OK))
	})

	It("cuts off a member that stops reading while the room is busy; the others get every message in order [S0.21 S0.25]", func() {
		// stuck has the smallest receive buffer and never reads once it is
		// in the room; writer fills the room with big messages; alice and
		// bob (well-behaved) read everything as it comes.
		stuck, err := harness.DialRawSmallBuffer(srv.Addr)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(stuck.Close)
		Expect(stuck.Hello(deadline)).To(Succeed())
		Expect(hostileCallOK(stuck, &wire.Frame{Type: wire.TypeClaim, Name: "stuck"})).To(Succeed())
		Expect(hostileCallOK(stuck, &wire.Frame{Type: wire.TypeEnter, Room: "lounge"})).To(Succeed())
		writer := hostileGuest(srv.Addr, "writer")
		Expect(hostileCallOK(writer, &wire.Frame{Type: wire.TypeEnter, Room: "lounge"})).To(Succeed())
		pair.drainNotices(2)

		// Each of writer's messages carries the time it was sent, so that
		// alice and bob measure how long it took to reach them.
		m := measureAttack(srv, "a reader that stops reading")
		type result struct {
			who   string
			texts []string
			lat   latencies
			lost  bool
			err   error
		}
		done := make(chan result, 2)
		for _, c := range []*harness.RawClient{pair.alice, pair.bob} {
			go func() {
				// No Expect here: the outcome goes back on done.
				r := result{who: "alice"}
				if c == pair.bob {
					r.who = "bob"
				}
				for {
					f, err := c.NextEvent(deadline)
					if err != nil {
						r.err = err
						break
					}
					if f.Type == wire.TypeNotice && f.Code == wire.NoticeLost && f.Name == "stuck" {
						r.lost = true
					}
					if f.Type == wire.TypeMessage && f.From == "writer" {
						if f.Text == "end" {
							break
						}
						text, rest, _ := strings.Cut(f.Text, " ")
						r.texts = append(r.texts, text)
						stamp, _, _ := strings.Cut(rest, " ")
						if sent, err := strconv.ParseInt(stamp, 10, 64); err == nil {
							r.lat = append(r.lat, time.Since(time.Unix(0, sent)))
						}
					}
				}
				done <- r
			}()
		}

		// Send until the room is told stuck was lost (the server's queue
		// for it passed 1 MiB), then a few more.
		pad := strings.Repeat("x", 16<<10)
		var sent []string
		after := -1
		for i := 0; after < 20; i++ {
			Expect(i).To(BeNumerically("<", 4000), "stuck was never cut off")
			text := fmt.Sprintf("m%04d", i)
			r, err := writer.Call(&wire.Frame{Type: wire.TypeSay, Text: fmt.Sprintf("%s %d %s", text, time.Now().UnixNano(), pad)}, deadline)
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Code).To(Equal(wire.OK), r.Text)
			sent = append(sent, text)
			if after < 0 {
				for _, e := range writer.Events {
					if e.Type == wire.TypeNotice && e.Code == wire.NoticeLost && e.Name == "stuck" {
						after = 0
						GinkgoWriter.Printf("stuck was cut off after %d messages of %d bytes\n", i+1, len(pad))
					}
				}
				writer.Events = writer.Events[:0]
			} else {
				after++
			}
		}
		Expect(hostileCallOK(writer, &wire.Frame{Type: wire.TypeSay, Text: "end"})).To(Succeed())

		for range 2 {
			var r result
			Eventually(done).WithTimeout(deadline).Should(Receive(&r))
			Expect(r.err).NotTo(HaveOccurred(), r.who)
			Expect(r.lost).To(BeTrue(), "%s was not told that stuck was lost", r.who)
			Expect(r.texts).To(Equal(sent), "%s missed or reordered messages", r.who)
			m.record(r.lat...)
		}
		// stuck's connection is closed (once it reads what the kernel kept).
		_, err = stuck.WaitClosed(deadline)
		Expect(err).NotTo(HaveOccurred())
		pair.exchange(10, "after the slow reader")
		m.done()
	})
})

// hostilePair is two well-behaved raw clients, alice and bob, in one room.
type hostilePair struct {
	alice, bob *harness.RawClient
	notices    map[*harness.RawClient][]wire.Frame // read while looking for messages
}

func newHostilePair(addr, room string) *hostilePair {
	GinkgoHelper()
	return newHostilePairOn(func() *harness.RawClient { return dialRawAt(addr) }, room)
}

// newHostilePairOn is newHostilePair with the connections dial makes.
func newHostilePairOn(dial func() *harness.RawClient, room string) *hostilePair {
	GinkgoHelper()
	// bob dials once alice is in: a login can take longer than a short
	// -hello-timeout on a busy machine, and bob's Hello must not wait for it.
	p := &hostilePair{alice: dial(), notices: map[*harness.RawClient][]wire.Frame{}}
	Expect(p.alice.Hello(deadline)).To(Succeed())
	Expect(p.alice.Login("alice", accounts["alice"], deadline)).To(Succeed())
	Expect(p.alice.Enter(room, true, deadline)).To(Succeed())
	p.bob = dial()
	Expect(p.bob.Hello(deadline)).To(Succeed())
	Expect(p.bob.Login("bob", accounts["bob"], deadline)).To(Succeed())
	Expect(p.bob.Enter(room, false, deadline)).To(Succeed())
	p.alice.Events = nil // bob entered
	return p
}

// drainNotices reads n notices (others entering) from both.
func (p *hostilePair) drainNotices(n int) {
	GinkgoHelper()
	for _, c := range []*harness.RawClient{p.alice, p.bob} {
		for range n {
			f, err := c.NextEvent(deadline)
			Expect(err).NotTo(HaveOccurred())
			Expect(f.Type).To(Equal(wire.TypeNotice), "%+v", f)
		}
	}
}

// exchange: alice says n messages, then bob says n; each gets all of the
// other's, in order.
func (p *hostilePair) exchange(n int, tag string) {
	GinkgoHelper()
	p.exchangeDuring(n, tag, func(int) {})
}

// exchangeDuring is exchange with attack(i) run after alice's message i.
func (p *hostilePair) exchangeDuring(n int, tag string, attack func(i int)) {
	GinkgoHelper()
	for _, dir := range []struct {
		from, to *harness.RawClient
		name     string
	}{{p.alice, p.bob, "alice"}, {p.bob, p.alice, "bob"}} {
		for i := range n {
			Expect(hostileCallOK(dir.from, &wire.Frame{Type: wire.TypeSay, Text: fmt.Sprintf("%s %s %d", dir.name, tag, i)})).To(Succeed())
			if dir.name == "alice" {
				attack(i)
			}
		}
		for i := range n {
			m := p.nextMessageFrom(dir.to, dir.name)
			Expect(m.Text).To(Equal(fmt.Sprintf("%s %s %d", dir.name, tag, i)), "a message was lost or reordered")
		}
	}
}

// expectLost waits until both members were told contact with name was lost,
// keeping the room messages that come before in Events.
func (p *hostilePair) expectLost(name string) {
	GinkgoHelper()
	p.expectGone(name, wire.NoticeLost)
}

// expectGone waits until both members got a notice of one of kinds about
// name, keeping the room messages that come before in Events.
func (p *hostilePair) expectGone(name string, kinds ...wire.Code) {
	GinkgoHelper()
	gone := func(f *wire.Frame) bool {
		return f.Type == wire.TypeNotice && slices.Contains(kinds, f.Code) && f.Name == name
	}
	for _, c := range []*harness.RawClient{p.alice, p.bob} {
		if slices.ContainsFunc(p.notices[c], func(f wire.Frame) bool { return gone(&f) }) {
			continue
		}
		var kept []wire.Frame
		for {
			f, err := c.NextEvent(deadline)
			Expect(err).NotTo(HaveOccurred(), "the room was not told %s went (notice %v)", name, kinds)
			if gone(f) {
				break
			}
			kept = append(kept, *f)
		}
		c.Events = append(kept, c.Events...)
	}
}

// nextMessageFrom returns c's next room message from name, keeping the
// notices it reads on the way and skipping the messages of others and
// anything else (an attacker's random bytes may well frame a Say or a
// Tell).
func (p *hostilePair) nextMessageFrom(c *harness.RawClient, name string) *wire.Frame {
	GinkgoHelper()
	for {
		f, err := c.NextEvent(deadline)
		Expect(err).NotTo(HaveOccurred())
		switch {
		case f.Type == wire.TypeMessage && f.From == name:
			return f
		case f.Type == wire.TypeNotice:
			p.notices[c] = append(p.notices[c], *f)
		}
	}
}

// hostileGuest connects, says Hello and claims a guest name. The spec may
// close the connection itself.
func hostileGuest(addr, name string) *harness.RawClient {
	GinkgoHelper()
	c, err := harness.DialRaw(addr)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { c.Close() })
	Expect(c.Hello(deadline)).To(Succeed())
	Expect(hostileCallOK(c, &wire.Frame{Type: wire.TypeClaim, Name: name})).To(Succeed())
	return c
}

func hostileCallOK(c *harness.RawClient, f *wire.Frame) error {
	typ := f.Type
	r, err := c.Call(f, deadline)
	if err != nil {
		return err
	}
	if r.Code != wire.OK {
		return fmt.Errorf("%v: code %d: %s", typ, r.Code, r.Text)
	}
	return nil
}
