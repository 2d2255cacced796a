package e2e_test

import (
	"fmt"
	"regexp"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
	"chat/internal/wire"
)

// sayerIn logs name in on a raw connection to addr and puts it in room,
// creating the room if create.
func sayerIn(addr, name, room string, create bool) *harness.RawClient {
	GinkgoHelper()
	c := dialRawAt(addr)
	Expect(c.Hello(deadline)).To(Succeed())
	Expect(c.Login(name, accounts[name], deadline)).To(Succeed())
	Expect(c.Enter(room, create, deadline)).To(Succeed())
	return c
}

// sayAll has c say "message FROM" to "message TO" in its room, each
// accepted before the next.
func sayAll(c *harness.RawClient, from, to int) {
	GinkgoHelper()
	for i := from; i <= to; i++ {
		r, err := c.Call(&wire.Frame{Type: wire.TypeSay, Text: fmt.Sprintf("message %d", i)}, deadline)
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Code).To(Equal(wire.OK), r.Text)
	}
}

// page matches a page of history as the client shows it: its first line
// saying what it is, carol's messages from..to each marked "│ ", oldest
// first, and its last line.
func page(head string, from, to int, end string) string {
	re := server(regexp.QuoteMeta(head)) + `\n`
	for i := from; i <= to; i++ {
		re += fmt.Sprintf(`│ carol %s message %d\n`, ts, i)
	}
	return re + server(regexp.QuoteMeta(end)) + `\n`
}

// allMarked checks that every message of carol's shown on t is marked as
// history: none of a page was shown as if it were new.
func allMarked(t *harness.Terminal) {
	GinkgoHelper()
	out := t.Output()
	Expect(count(out, `carol `+ts+` message \d+\n`)).To(Equal(count(out, `│ carol `+ts+` message \d+\n`)),
		"a message of a page was shown unmarked:\n%s", out)
}

const olderMore = "end of history; older messages: history more"

var _ = Describe("Reading a room's history (history)", func() {
	Context("when carol has said 30 messages in lounge", func() {
		var (
			srv   *harness.Server
			carol *harness.RawClient
		)
		BeforeEach(func() {
			srv = startServer(accounts)
			carol = sayerIn(srv.Addr, "carol", "lounge", true)
			sayAll(carol, 1, 30)
		})

		It("shows the last 10 of 30 messages marked apart, then the 10 before with history more, and says where the room began [I16.3]", func() {
			bob := loginClient(srv, "bob")
			enterRoom(bob, "lounge")

			send(bob, "history 10")
			expect(bob, page("history of lounge: the last 10 messages", 21, 30, olderMore))
			send(bob, "history more")
			expect(bob, page("history of lounge: 10 earlier messages", 11, 20, olderMore))
			send(bob, "history more")
			expect(bob, page("history of lounge: 10 earlier messages", 1, 10, "end of history: that is the first message of lounge"))
			send(bob, "history more")
			expect(bob, server(`no older messages: that was the first message of lounge\n`))
			allMarked(bob)

			// A new page starts again from the latest; history more typed
			// again before the page before it came goes on from that page.
			send(bob, "history 2")
			send(bob, "history more")
			send(bob, "history more")
			expect(bob, page("history of lounge: the last 2 messages", 29, 30, olderMore))
			expect(bob, page("history of lounge: 2 earlier messages", 27, 28, olderMore))
			expect(bob, page("history of lounge: 2 earlier messages", 25, 26, olderMore))
		})

		It("shows a screenful by default: the terminal's rows less the page's first and last lines and the input line [I16.3]", func() {
			bob := loginClient(srv, "bob")
			enterRoom(bob, "lounge")
			send(bob, "history")
			n := harness.TermRows - 3
			expect(bob, page(fmt.Sprintf("history of lounge: the last %d messages", n), 31-n, 30, olderMore))
			// The page fills the screen: its first line is on it, and the
			// input line below its last.
			Expect(bob.WaitUntil(func() bool { return bob.Line() == ">" }, quick)).To(Succeed(), "screen:\n%s", bob.Screen())
			Expect(bob.Screen()).To(MatchRegexp(`(?m)^\* ` + ts + ` history of lounge: the last \d+ messages$`))
			allMarked(bob)
		})

		It("shows a message said while a page is on its way as live, not in the page, and keeps the line being typed [I16.3]", func() {
			// Each way through the proxy takes 700ms: carol's message reaches
			// the server before bob's request does, and bob before the page.
			proxy, err := harness.StartProxy(srv.Addr)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(proxy.Close)
			bob := startClientAt(proxy.Addr())
			login(bob, "bob")
			enterRoom(bob, "lounge")
			proxy.SetLatency(700 * time.Millisecond)

			send(bob, "history 10")
			sayAll(carol, 31, 31)
			typeText(bob, "half typed")
			expect(bob, `carol `+ts+` message 31\n`)
			// The page is what bob had seen when he asked: 21 to 30.
			expect(bob, page("history of lounge: the last 10 messages", 21, 30, olderMore))
			Expect(count(bob.Output(), `message 31\n`)).To(Equal(1))
			Expect(bob.Screen()).To(MatchRegexp(`(?m)^carol `+ts+` message 31$`), "the live message is not shown as one")
			Expect(bob.WaitUntil(func() bool { return bob.Line() == "> half typed" }, quick)).To(Succeed(),
				"the typed line was not redrawn intact; screen:\n%s", bob.Screen())
		})

		It("refuses history outside a room and with a bad N, and sends nothing [I16.3]", func() {
			bob := loginClient(srv, "bob")
			send(bob, "history")
			expect(bob, client(`no history to show: you are not in a room; enter one with: enter ROOM\n`))
			for _, line := range []string{"history 0", "history ten", "history 10 20", "history 1001", "history more please"} {
				send(bob, line)
				expect(bob, client(`usage: history \[N\] \(N from 1 to 1000\), or history more\n`))
			}
			// The next answer of the server is the one to who: none of the
			// lines above was sent.
			send(bob, "who")
			Expect(expect(bob, `\* `+ts+` ([^\n]*)\n`)[1]).To(Equal("2 users connected"))
		})

		It("lists history in help [I16.3]", func() {
			bob := loginClient(srv, "bob")
			send(bob, "help")
			expect(bob, client(`commands: [^\n]*history \[N\], history more`))
			expect(bob, client(`history \[N\] shows the last N messages of your room \(a screenful by default\), each marked with │`))
		})

		It("shows, on entering, how many messages were said since bob was last there and the last 5, marked; none to a first visit [I16.3]", func() {
			bob := loginClient(srv, "bob")
			enterRoom(bob, "lounge")
			// Leaving lounge for attic: the answers come in order, so a
			// page the first visit asked for would be shown by now.
			createRoom(bob, "attic")
			Expect(bob.Contains(`since you were last here`)).To(BeFalse(), "a first visit has nothing since the last")
			sayAll(carol, 31, 37)
			send(bob, "enter lounge")
			expect(bob, server(`you entered lounge`))
			expect(bob, page("7 messages in lounge since you were last here; the last 5:", 33, 37, olderMore))
			send(bob, "history more")
			expect(bob, page(fmt.Sprintf("history of lounge: %d earlier messages", harness.TermRows-3), 33-(harness.TermRows-3), 32, olderMore))
			allMarked(bob)
		})
	})

	It("shows nothing since bob was last there on the automatic re-entry of a reconnection: those messages come as missed [I16.3]", func() {
		r := startRig()
		alice, bob := r.direct(), r.client()
		inRoom("lounge", []string{"alice", "bob"}, alice, bob)
		carol := sayerIn(r.srv.Addr, "carol", "lounge", false)
		expect(bob, server(`carol entered lounge`))
		awayWhile(r, bob, alice, func() { sayAll(carol, 1, 3) })
		expect(bob, client(`missed while disconnected: 3 messages from lounge \(shown above\)`))
		say(alice, "alice", "welcome back", bob)
		Expect(bob.Contains(`since you were last here`)).To(BeFalse(), "the re-entry showed the messages since the last visit")
		Expect(bob.Contains(`│ `)).To(BeFalse(), "the re-entry showed a page of history")
		Expect(count(bob.Output(), `carol `+ts+` \(missed\) message \d\n`)).To(Equal(3))
	})
})
