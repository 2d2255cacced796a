package e2e_test

import (
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
	"chat/internal/wire"
)

// Mode course (seed 003) at the protocol level: a frame tap between the real
// client and the real server counts what the client sends and what it is
// answered. The texts on the screen are the testscript scenarios' business
// (scenarios/course_*.txtar); here every command's frames are counted.
var _ = Describe("Mode course on the wire", func() {
	var (
		srv  *harness.Server
		tap  *frameTap
		john *harness.Terminal
		ben  *harness.RawClient
	)

	BeforeEach(func() {
		srv = startGuestServer()
		ben = claimGuest(srv.Addr, "Ben")
		tap = startFrameTap(srv.Addr)
		john = startModeClient(tap.addr(), "course")
	})

	It("connects and says Hello at once, before anything is typed [S3.1]", func() {
		fs := tap.waitSent(1)
		Expect(fs[0].Type).To(Equal(wire.TypeHello))
		Expect(tap.waitReceived(1)[0].Type).To(Equal(wire.TypeReply))
	})

	It("sends one request per command and shows its one answer; a line the client rejects sends nothing [S3.2 S3.3 S3.4 S3.5 S3.6 S3.7 S3.8 S3.9 S3.10]", func() {
		tap.waitSent(1) // the Hello
		lines := []struct {
			line  string
			shown string      // the one line the client prints
			sends *wire.Frame // the request it sends, or nil for nothing
		}{
			{"list", "Ben", &wire.Frame{Type: wire.TypeWho}},
			{"login", "Bad username", nil},
			{"login John Doe", "Bad username", nil},
			{"login abcdefghijklmnopqrstu", "Bad username", nil},
			{"login John", "Success", &wire.Frame{Type: wire.TypeClaim, Name: "John"}},
			{"login Jim", "Failure", &wire.Frame{Type: wire.TypeClaim, Name: "Jim"}},
			{"list bob", "Invalid command", nil},
			{"list", "Ben John", &wire.Frame{Type: wire.TypeWho}},
			{"sendto", "Bad username", nil},
			{"sendto Ben", "Bad username", nil},
			{"sendto abcdefghijklmnopqrstu hi", "Bad username", nil},
			{"sendto Ben hi there", "Success", &wire.Frame{Type: wire.TypeTell, To: "Ben", Text: "hi there"}},
			{"sendto Nobody hi", "Failure", &wire.Frame{Type: wire.TypeTell, To: "Nobody", Text: "hi"}},
			{"sendto John me", "Failure", &wire.Frame{Type: wire.TypeTell, To: "John", Text: "me"}},
			{"logout Joe", "Invalid command", nil},
			{"logout", "Success", &wire.Frame{Type: wire.TypeLogout}},
			{"list", "Ben", &wire.Frame{Type: wire.TypeWho}},
			{"logout", "Failure", &wire.Frame{Type: wire.TypeLogout}},
			{"exit client", "Invalid command", nil},
			{"LIST", "Invalid command", nil},
			{"login John", "Success", &wire.Frame{Type: wire.TypeClaim, Name: "John"}},
		}
		var want []wire.Frame
		for _, l := range lines {
			send(john, l.line)
			// The echoed line and right after it the one answer: nothing
			// else is printed in between or before the next command.
			expectWithin(john, `\A`+regexp.QuoteMeta(l.line)+`\n`+regexp.QuoteMeta(l.shown)+`\n`, deadline)
			if l.sends != nil {
				want = append(want, *l.sends)
			}
		}
		// The answer was on the screen before the next line was typed, so
		// the frames are all in: one request for each command that sends,
		// none for the others, in order.
		sent := tap.sent()[1:]
		Expect(typesOf(sent)).To(Equal(typesOf(want)))
		for i := range want {
			Expect(sent[i].Name).To(Equal(want[i].Name))
			Expect(sent[i].To).To(Equal(want[i].To))
			Expect(sent[i].Text).To(Equal(want[i].Text))
			Expect(sent[i].ID).NotTo(BeZero())
		}
		// Each request got exactly one answer with its id: a Reply (the
		// list included: its LIST answer is a Reply carrying the users).
		answers := map[uint32]int{}
		for _, f := range tap.received() {
			if f.Type == wire.TypeReply {
				answers[f.ID]++
			}
		}
		for _, f := range tap.sent() {
			Expect(answers[f.ID]).To(Equal(1), "request %v (id %d)", f.Type, f.ID)
			delete(answers, f.ID)
		}
		Expect(answers).To(BeEmpty(), "replies to nothing the client sent")

		// exit sends the Logout (the name is free at once) and ends with status 0.
		send(john, "exit")
		Expect(john.Wait(deadline)).To(Equal(0))
		last := tap.waitSent(len(want) + 2)
		Expect(last[len(last)-1].Type).To(Equal(wire.TypeLogout))
		r, err := ben.Call(&wire.Frame{Type: wire.TypeWho}, deadline)
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Users).To(ConsistOf(wire.User{Name: "Ben"}))
	})

	It("prints an incoming message as USER: TEXT and sends nothing in answer [S3.11 S3.12 S3.13]", func() {
		send(john, "login John")
		expect(john, `\Alogin John\nSuccess\n`)
		before := len(tap.waitSent(2)) // Hello, Claim

		for _, text := range []string{"are you there?", "sendto Ben hi", "list"} {
			r, err := ben.Call(&wire.Frame{Type: wire.TypeTell, To: "John", Text: text}, deadline)
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Code).To(Equal(wire.OK), r.Text)
			expect(john, `\ABen: `+regexp.QuoteMeta(text)+`\n`)
		}
		// Had John's client answered any of them, Ben would have got it
		// before the reply to his next request.
		r, err := ben.Call(&wire.Frame{Type: wire.TypePing}, deadline)
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Code).To(Equal(wire.OK))
		Expect(ben.Events).To(BeEmpty(), "John's client answered a message")

		// On the wire: the next frame John's client sends after the three
		// messages is the one the next command asks for.
		send(john, "list")
		expect(john, `\Alist\nBen John\n`)
		sent := tap.waitSent(before + 1)
		Expect(typesOf(sent[before:])).To(Equal([]string{wire.TypeWho.String()}))
		privates := 0
		for _, f := range tap.received() {
			if f.Type == wire.TypePrivate {
				privates++
				Expect(f.From).To(Equal("Ben"))
			}
		}
		Expect(privates).To(Equal(3))
	})

	It("keeps a half-typed line through an incoming message [S3.11 S1.10]", func() {
		send(john, "login John")
		expect(john, `\Alogin John\nSuccess\n`)
		typeText(john, "sendto Ben half")
		typed(john, "sendto Ben half")
		_, err := ben.Call(&wire.Frame{Type: wire.TypeTell, To: "John", Text: "interrupting"}, deadline)
		Expect(err).NotTo(HaveOccurred())
		expect(john, `Ben: interrupting\n`)
		typed(john, "sendto Ben half")
		typeText(john, " done")
		keys(john, harness.Enter)
		expect(john, `(?m)^Success\n`)
		m, err := ben.NextEvent(deadline)
		Expect(err).NotTo(HaveOccurred())
		Expect(m.Type).To(Equal(wire.TypePrivate))
		Expect(m.Text).To(Equal("half done"))
	})
})
