package e2e_test

import (
	"encoding/binary"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
	"chat/internal/wire"
)

var _ = Describe("The wire protocol", func() {
	var (
		srv *harness.Server
		c   *harness.RawClient
	)

	BeforeEach(func() {
		srv = startServer(accounts)
		c = dialRaw(srv)
	})

	// frame puts a length prefix before body.
	frame := func(body ...byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
	}

	Context("before Hello", func() {
		It("answers a request with ErrNoHello and its id [S0.15 S3.9]", func() {
			r, err := c.Call(&wire.Frame{Type: wire.TypeWho}, deadline)
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Code).To(Equal(wire.ErrNoHello), r.Text)
			Expect(c.Hello(deadline)).To(Succeed())
		})
	})

	Context("after Hello", func() {
		BeforeEach(func() {
			Expect(c.Hello(deadline)).To(Succeed())
		})

		It("answers a malformed body with ErrBadRequest and keeps the connection [S1.6 S1.7 S0.25]", func() {
			// A Who with ID 7 whose Text field claims 100 bytes but holds 2.
			const idKey, textKey = 1 << 1, 9<<1 | 1 // field number << 1 | kind
			Expect(c.SendRaw(frame(byte(wire.TypeWho), idKey, 7, textKey, 100, 'h', 'i'))).To(Succeed())
			r, err := c.Next(deadline)
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Type).To(Equal(wire.TypeReply))
			Expect(r.Code).To(Equal(wire.ErrBadRequest), r.Text)
			Expect(r.ID).To(BeZero())

			r, err = c.Call(&wire.Frame{Type: wire.TypePing}, deadline)
			Expect(err).NotTo(HaveOccurred(), "the connection did not live on")
			Expect(r.Code).To(Equal(wire.OK))
		})

		It("says Bye and closes the connection on a frame length over the limit [S1.6 S0.25]", func() {
			Expect(c.SendRaw(binary.BigEndian.AppendUint32(nil, wire.MaxFrameSize+1))).To(Succeed())
			frames, err := c.WaitClosed(deadline)
			Expect(err).NotTo(HaveOccurred())
			Expect(frames).NotTo(BeEmpty(), "closed without a Bye")
			bye := frames[len(frames)-1]
			Expect(bye.Type).To(Equal(wire.TypeBye))
			Expect(bye.Code).To(Equal(wire.ByeMalformed))
			// The server lives on for everyone else.
			Expect(dialRaw(srv).Hello(deadline)).To(Succeed())
		})

		It("says Bye and closes the connection on a zero frame length [S1.6 S0.25]", func() {
			Expect(c.SendRaw([]byte{0, 0, 0, 0})).To(Succeed())
			frames, err := c.WaitClosed(deadline)
			Expect(err).NotTo(HaveOccurred())
			Expect(frames).NotTo(BeEmpty(), "closed without a Bye")
			Expect(frames[len(frames)-1].Code).To(Equal(wire.ByeMalformed))
		})

		It("frames by the length field however the bytes are split [S1.6]", func() {
			b := wire.Encode(&wire.Frame{Type: wire.TypePing, ID: 77})
			for i := range b {
				Expect(c.SendRaw(b[i : i+1])).To(Succeed())
			}
			r, err := c.Reply(77, deadline)
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Code).To(Equal(wire.OK))
		})

		It("answers every request exactly once, in order, with its id [S3.9 S0.14 S0.15 S0.17]", func() {
			requests := []struct {
				frame wire.Frame
				code  wire.Code
			}{
				{wire.Frame{Type: wire.TypeWho}, wire.ErrNotLoggedIn},
				{wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "wrong"}, wire.ErrBadLogin},
				{wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: accounts["alice"]}, wire.OK},
				{wire.Frame{Type: wire.TypeSay, Text: "nobody hears"}, wire.ErrNotInRoom},
				{wire.Frame{Type: wire.TypeCreate, Room: "lounge"}, wire.OK},
				{wire.Frame{Type: wire.TypeCreate, Room: "lounge"}, wire.ErrRoomExists},
				{wire.Frame{Type: wire.TypeEnter, Room: "attic"}, wire.ErrNoSuchRoom},
				{wire.Frame{Type: wire.TypeEnter, Room: "lounge"}, wire.OK},
				{wire.Frame{Type: wire.TypeSay, Text: "hello"}, wire.OK},
				{wire.Frame{Type: wire.TypeWho}, wire.OK},
				{wire.Frame{Type: 63}, wire.ErrUnknown}, // a request type nothing defines
				{wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: accounts["alice"]}, wire.ErrLoggedIn},
				{wire.Frame{Type: wire.TypePing}, wire.OK},
			}
			// All sent before any is read: the replies must still pair up.
			ids := make([]uint32, len(requests))
			for i := range requests {
				id, err := c.Request(&requests[i].frame)
				Expect(err).NotTo(HaveOccurred())
				ids[i] = id
			}
			for i, id := range ids {
				r, err := c.Reply(id, deadline)
				Expect(err).NotTo(HaveOccurred(), "request %d (%v)", i, requests[i].frame.Type)
				Expect(r.Code).To(Equal(requests[i].code), "request %d (%v): %s", i, requests[i].frame.Type, r.Text)
				if r.Code != wire.OK {
					Expect(r.Text).NotTo(BeEmpty(), "request %d (%v) got an error without words", i, requests[i].frame.Type)
				}
				if requests[i].frame.Type == wire.TypeWho && r.Code == wire.OK {
					// alice created lounge, so she is its operator.
					Expect(r.Users).To(ConsistOf(wire.User{Name: "alice", Room: "lounge", Prefix: "@"}))
				}
			}
			// No second reply to any of them: the next reply is the next
			// request's.
			r, err := c.Call(&wire.Frame{Type: wire.TypePing}, deadline)
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Code).To(Equal(wire.OK))
		})

		It("relays a room message with its sender, room, time and sequence [S0.2 S0.5 S0.19]", func() {
			Expect(c.Login("alice", accounts["alice"], deadline)).To(Succeed())
			Expect(c.Enter("lounge", true, deadline)).To(Succeed())
			bob := dialRaw(srv)
			Expect(bob.Hello(deadline)).To(Succeed())
			Expect(bob.Login("bob", accounts["bob"], deadline)).To(Succeed())
			Expect(bob.Enter("lounge", false, deadline)).To(Succeed())
			entered, err := c.NextEvent(deadline)
			Expect(err).NotTo(HaveOccurred())
			Expect(entered.Type).To(Equal(wire.TypeNotice))
			Expect(entered.Code).To(Equal(wire.NoticeEntered))
			Expect(entered.From).To(Equal("*"))
			Expect(entered.Name).To(Equal("bob"))

			r, err := bob.Call(&wire.Frame{Type: wire.TypeSay, Text: "hi alice"}, deadline)
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Code).To(Equal(wire.OK))
			m, err := c.NextEvent(deadline)
			Expect(err).NotTo(HaveOccurred())
			Expect(m.Type).To(Equal(wire.TypeMessage))
			Expect(m.From).To(Equal("bob"))
			Expect(m.Room).To(Equal("lounge"))
			Expect(m.Text).To(Equal("hi alice"))
			Expect(m.Time).NotTo(BeZero())
			Expect(m.Seq).To(Equal(r.Seq))
			// Had bob been sent his own message, it would come before the
			// reply to his next request.
			_, err = bob.Call(&wire.Frame{Type: wire.TypePing}, deadline)
			Expect(err).NotTo(HaveOccurred())
			Expect(bob.Events).To(BeEmpty(), "bob got something back for his own message")
		})
	})
})
