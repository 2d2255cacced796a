package e2e_test

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
	"chat/internal/wire"
)

// Private messages kept for an account that is not connected, and what a
// server with a message store (-state) does when it cannot keep one: the
// store's bounds (-inbox, -store-max-bytes), a crash (kill -9), and a
// room's history read back across a restart.

// keptReply matches the reply to a private message kept for name, and
// captures its time.
func keptReply(name string) string {
	return `\* (` + ts + `) ` + name + ` is not connected; the message is kept and delivered when they log in\n`
}

// tellKept has from tell name text while name is away and waits for the
// reply that the message is kept; it returns the reply's time.
func tellKept(from *harness.Terminal, name, text string) string {
	GinkgoHelper()
	send(from, "tell "+name+" "+text)
	return expect(from, keptReply(name))[1]
}

// awayNotice matches the notice a user gets at login before the n private
// messages kept while it was away, and captures its time.
func awayNotice(n int) string {
	return `\* (` + ts + `) ` + regexp.QuoteMeta(wire.Plural(n, "private message", "private messages")) + ` while you were away\n`
}

// privateFrom matches a private message of from's with text, as the rooms
// client shows it, and captures its time.
func privateFrom(from, text string) string {
	return from + ` (` + ts + `) \(private\) ` + regexp.QuoteMeta(text) + `\n`
}

// nothingKept checks that a login of t's (just made) delivered no kept
// message: t tells the connected name something, and the reply to it,
// which comes once the store has that message, comes after the outcome of
// the login's read of t's kept messages (the store answers in order).
func nothingKept(t *harness.Terminal, name string) {
	GinkgoHelper()
	send(t, "tell "+name+" nothing came")
	expect(t, server(`message sent to `+name+`\n`))
	Expect(t.Contains(`while you were away|\(private\)`)).To(BeFalse(), "kept messages were delivered again:\n%s", t.Output())
}

// loggedOut logs t out, which ends the rooms client.
func loggedOut(t *harness.Terminal) {
	GinkgoHelper()
	send(t, "logout")
	Expect(t.Wait(deadline)).To(Equal(0))
}

// shownSecondsAfter returns how many seconds the shown time b is after a
// (HH:MM:SS), across midnight too.
func shownSecondsAfter(a, b string) int {
	GinkgoHelper()
	ta, err := time.Parse("15:04:05", a)
	Expect(err).NotTo(HaveOccurred())
	tb, err := time.Parse("15:04:05", b)
	Expect(err).NotTo(HaveOccurred())
	d := int(tb.Sub(ta) / time.Second)
	return (d + 86400) % 86400
}

// nextClockSecond waits, on the clock alone, until the wall clock's second is
// past now's: a message said before it shows an earlier time than
// anything shown after it. It takes at most a second.
func nextClockSecond() {
	past := time.Now().Truncate(time.Second)
	Eventually(func() bool { return time.Now().Truncate(time.Second).After(past) }, 2*time.Second, 5*time.Millisecond).Should(BeTrue())
}

var _ = Describe("Private messages kept for an account that is not connected", func() {
	It("are kept when carol is away, the sender told so each time; carol's next login shows how many, then each in order with its own time; the login after shows none [I16.4]", func() {
		srv := startServer(accounts, "-state", filepath.Join(GinkgoT().TempDir(), "state"))
		alice := loginClient(srv, "alice")
		texts := []string{"first, before lunch", "second: are you there?", "third and last"}
		var sent []string
		for _, text := range texts {
			sent = append(sent, tellKept(alice, "carol", text))
		}
		// carol logs in a second later than the last was said, so the
		// times shown are the messages' own, not those of their delivery.
		nextClockSecond()
		carol := loginClient(srv, "carol")
		re := awayNotice(3)
		for _, text := range texts {
			re += privateFrom("alice", text)
		}
		m := expect(carol, re)
		notice, shown := m[1], m[2:]
		for i := range texts {
			// Said at most a moment before the sender was told.
			Expect(shownSecondsAfter(shown[i], sent[i])).To(BeNumerically("<=", 1), "message %d shown at %s, kept at %s", i+1, shown[i], sent[i])
			Expect(shownSecondsAfter(shown[i], notice)).To(BeNumerically("~", 30, 29), "message %d shown with the time of its delivery", i+1)
		}
		Expect(count(carol.Output(), `\(private\)`)).To(Equal(3))

		// Delivered once: neither a new login of carol's nor anything
		// after it shows them again.
		loggedOut(carol)
		carol = loginClient(srv, "carol")
		nothingKept(carol, "alice")
		expect(alice, privateFrom("carol", "nothing came"))
	})

	It("are kept for registered accounts only: a guest who left, or a name nobody has, is not connected [I16.4]", func() {
		srv := startServer(accounts, "-state", filepath.Join(GinkgoT().TempDir(), "state"), "-guests")
		alice := loginClient(srv, "alice")
		dave := claimGuest(srv.Addr, "dave")
		send(alice, "tell dave are you a guest?")
		expect(alice, server(`message sent to dave\n`))
		r, err := dave.Call(&wire.Frame{Type: wire.TypeLogout}, deadline)
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Code).To(Equal(wire.OK), r.Text)

		send(alice, "tell dave still there?")
		expect(alice, server(`no user named dave is connected\n`))
		send(alice, "tell nobody hello")
		expect(alice, server(`no user named nobody is connected\n`))
		Expect(alice.Contains(`message is kept`)).To(BeFalse(), "a message to a guest or unknown name was kept:\n%s", alice.Output())

		// Nothing was kept for the name: a guest claiming it later gets
		// nothing.
		eve := claimGuest(srv.Addr, "dave")
		send(alice, "tell dave hello, new dave")
		expect(alice, server(`message sent to dave\n`))
		f, err := eve.NextEvent(deadline)
		Expect(err).NotTo(HaveOccurred())
		Expect(f.Type).To(Equal(wire.TypePrivate))
		Expect(f.Text).To(Equal("hello, new dave"))
	})

	It("survive a kill -9 of the server once the sender was told they are kept: carol gets them after the restart, once [I16.4 I16.2]", func() {
		r := startRig()
		alice := r.client()
		login(alice, "alice")
		tellKept(alice, "carol", "kept before the crash 1")
		tellKept(alice, "carol", "kept before the crash 2")
		r.restart(syscall.SIGKILL)

		carol := r.direct()
		login(carol, "carol")
		expect(carol, awayNotice(2)+privateFrom("alice", "kept before the crash 1")+privateFrom("alice", "kept before the crash 2"))
		Expect(count(carol.Output(), `kept before the crash`)).To(Equal(2))
		// alice, cut by the crash, is back by herself.
		expect(alice, client(`reconnected to 127\.0\.0\.1:\d+`))
		expect(alice, client(`logged in as alice again`))
		loggedOut(carol)
		carol = r.direct()
		login(carol, "carol")
		nothingKept(carol, "alice")
	})

	It("are bounded by -inbox: past it the sender is told the message was not kept, and carol gets those kept [I16.4]", func() {
		srv := startServer(accounts, "-state", filepath.Join(GinkgoT().TempDir(), "state"), "-inbox", "2")
		alice := loginClient(srv, "alice")
		tellKept(alice, "carol", "one")
		tellKept(alice, "carol", "two")
		send(alice, "tell carol three")
		expect(alice, server(`carol is away and has too many messages waiting: the message was not kept\n`))
		// Another account's inbox is its own.
		tellKept(alice, "bob", "for bob")

		carol := loginClient(srv, "carol")
		expect(carol, awayNotice(2)+privateFrom("alice", "one")+privateFrom("alice", "two"))
		// Anything more kept would have come before this reply.
		send(carol, "tell alice thanks")
		expect(carol, server(`message sent to alice\n`))
		Expect(count(carol.Output(), `\(private\)`)).To(Equal(2))
		Expect(carol.Contains(`three`)).To(BeFalse(), "the refused message was delivered:\n%s", carol.Output())

		// Delivered, carol's inbox is emptied: it takes messages again
		// once the store has forgotten those (a moment after delivery).
		loggedOut(carol)
		bob := dialRawAt(srv.Addr)
		Expect(bob.Hello(deadline)).To(Succeed())
		Expect(bob.Login("bob", accounts["bob"], deadline)).To(Succeed())
		Eventually(func() string {
			r, err := bob.Call(&wire.Frame{Type: wire.TypeTell, To: "carol", Text: "four"}, deadline)
			Expect(err).NotTo(HaveOccurred())
			return r.Text
		}, deadline, 20*time.Millisecond).Should(Equal("carol is not connected; the message is kept and delivered when they log in"))
		tellKept(alice, "carol", "five")
	})
})

var _ = Describe("A room's history in the message store", func() {
	It("pages through 300 messages said before a kill -9 and those said after, as one history [I16.3]", func() {
		r := startRig("-msg-rate", "-1")
		carol := sayerIn(r.srv.Addr, "carol", "lounge", true)
		sayAll(carol, 1, 300)
		r.restart(syscall.SIGKILL)
		carol = sayerIn(r.srv.Addr, "carol", "lounge", false)
		sayAll(carol, 301, 320)

		bob := r.direct()
		login(bob, "bob")
		enterRoom(bob, "lounge")
		send(bob, "history 50")
		expect(bob, page("history of lounge: the last 50 messages", 271, 320, olderMore))
		for to := 270; to > 20; to -= 50 {
			send(bob, "history more")
			expect(bob, page("history of lounge: 50 earlier messages", to-49, to, olderMore))
		}
		send(bob, "history more")
		expect(bob, page("history of lounge: 20 earlier messages", 1, 20, "end of history: that is the first message of lounge"))
		allMarked(bob)
		for i := 1; i <= 320; i++ {
			Expect(count(bob.Output(), fmt.Sprintf(` message %d\n`, i))).To(Equal(1), "message %d", i)
		}
	})
})

// storeFullRefusal is the refusal of a message the store has no room for.
const storeFullRefusal = "your message was not sent: the server's message store is full"

// sayRaw has c say text in its room and returns the server's reply.
func sayRaw(c *harness.RawClient, text string) *wire.Frame {
	GinkgoHelper()
	r, err := c.Call(&wire.Frame{Type: wire.TypeSay, Text: text}, deadline)
	Expect(err).NotTo(HaveOccurred())
	return r
}

var _ = Describe("A full message store (-store-max-bytes)", func() {
	It("refuses a room message with a clear error to its sender only, keeps serving, and takes messages again once room is made, with no restart [I16.5]", func() {
		// 256 KiB for the store. Rooms may keep 192 KiB of it (a stream's
		// own bound must fit within the store's, or the server does not
		// start), carol's inbox takes 120 KiB, and dave's messages in attic
		// fill the rest.
		users := map[string]string{"dave": "diver"}
		maps.Copy(users, accounts)
		srv := startServer(users, "-state", filepath.Join(GinkgoT().TempDir(), "state"),
			"-store-max-bytes", "262144", "-history-bytes", "196608", "-msg-rate", "-1")
		alice, bob := startClient(srv), startClient(srv)
		inRoom("lounge", []string{"alice", "bob"}, alice, bob)
		for i := range 2 {
			tellKept(alice, "carol", fmt.Sprintf("%d%s", i, strings.Repeat("k", 60000)))
		}
		dave := dialRawAt(srv.Addr)
		Expect(dave.Hello(deadline)).To(Succeed())
		Expect(dave.Login("dave", users["dave"], deadline)).To(Succeed())
		Expect(dave.Enter("attic", true, deadline)).To(Succeed())
		full := false
		for i := 0; i < 100 && !full; i++ {
			r := sayRaw(dave, fmt.Sprintf("%d%s", i, strings.Repeat("f", 8000)))
			full = r.Code != wire.OK
			if full {
				Expect(r.Text).To(Equal(storeFullRefusal))
			}
		}
		Expect(full).To(BeTrue(), "the store took 800 KB more")

		// alice is told, bob is shown nothing, and both are still served.
		send(alice, "said while the store is full")
		expect(alice, server(regexp.QuoteMeta(storeFullRefusal)+`\n`))
		send(alice, "who")
		expect(alice, server(`3 users connected\n`))
		send(bob, "who")
		expect(bob, server(`3 users connected\n`))
		send(bob, "rooms")
		expect(bob, server(`2 rooms\n`))

		// carol logs in: her kept messages are delivered and the store
		// forgets them, which makes room. Messages go through again by
		// themselves, once it is made: dave tries until one does.
		carol := dialRawAt(srv.Addr)
		Expect(carol.Hello(deadline)).To(Succeed())
		Expect(carol.Login("carol", accounts["carol"], deadline)).To(Succeed())
		var got []string
		for len(got) < 2 {
			f, err := carol.NextEvent(deadline)
			Expect(err).NotTo(HaveOccurred())
			if f.Type == wire.TypePrivate {
				got = append(got, f.Text[:1])
			}
		}
		Expect(got).To(Equal([]string{"0", "1"}))
		Eventually(func() wire.Code { return sayRaw(dave, "is there room now?").Code }, deadline, 50*time.Millisecond).Should(Equal(wire.OK))

		say(alice, "alice", "said once there is room", bob)
		Expect(bob.Contains(`said while the store is full`)).To(BeFalse(), "bob was shown the refused message:\n%s", bob.Output())
		Expect(count(alice.Output(), regexp.QuoteMeta(storeFullRefusal))).To(Equal(1))
	})
})
