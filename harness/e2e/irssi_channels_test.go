package e2e_test

import (
	"fmt"
	"net"
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

// irssi runs two channels against WeeChat: both log in to their accounts
// with SASL PLAIN, irssi creates the channels and so runs them, WeeChat is
// the member who is told the topic, kicked, and who parts and quits in its
// own words. weechat_channels_test.go plays the same story with the roles
// swapped. irssi is read from its output stream, switching windows as a
// person does; WeeChat from its log of each buffer (see expectLine).
var _ = Describe("irssi running two channels with WeeChat", Label("irc", "irssi", "weechat"), func() {
	It("logs in with SASL, is in two channels at once, sets a topic and kicks WeeChat, which stays in the other and then parts and quits in its own words [I15.5]", func() {
		irssi := irssiBinary()
		weechat := programFromApt("weechat", "weechat-curses")
		srv := startServerWithIRC(accounts)

		// 1. Both log in to their accounts with SASL, and each is told so
		// in its server window (900), then welcomed.
		alice := startIrssi(irssi, "alice", false)
		alice.connectSASL(srv, "alice", accounts["alice"])
		alice.expect(`You are now logged in as alice`)
		alice.expect(`-!- Welcome`)
		bob := startWeechatSASL(weechat, srv, "bob", accounts["bob"])
		bob.expectLine("server.chat", `You are now logged in as bob \(bob!\S+\)`)
		bob.expectLine("server.chat", `Welcome to the chat network, bob`)

		// 2. alice makes both channels with one JOIN, and irssi brings the
		// last one's window to the front; bob joins both.
		alice.typeLine("/join #garden,#kitchen")
		alice.expect(`-!- alice \[[^\]]*\] has joined #kitchen`)
		alice.expect(`#kitchen: Total of \d+ nicks`)
		send(bob.term, "/join #garden,#kitchen")
		bob.expectLine("chat.#garden", `bob \(\S+\) has joined #garden`)
		bob.expectLine("chat.#kitchen", `bob \(\S+\) has joined #kitchen`)
		alice.expect(`-!- bob \[[^\]]*\] has joined #kitchen`)
		alice.window("#garden")
		alice.expect(`-!- bob \[[^\]]*\] has joined #garden`)

		// Each one's words reach the other in the channel they were said
		// in. irssi, with #garden in front, does not draw what was said in
		// #kitchen first, and shows it once #kitchen comes to the front.
		send(bob.term, "/msg #kitchen bananas from weechat")
		send(bob.term, "/msg #garden apples from weechat")
		before := alice.expectUpTo(`<[ @+]?bob> apples from weechat`)
		Expect(before).NotTo(ContainSubstring("bananas"), "irssi drew the #kitchen line in the #garden window")
		alice.window("#kitchen")
		alice.expect(`<[ @+]?bob> bananas from weechat`)

		alice.typeLine("/msg #garden pears from irssi")
		alice.typeLine("/msg #kitchen plums from irssi")
		bob.expectLine("chat.#kitchen", `[@+]?alice\tplums from irssi`)
		bob.expectLine("chat.#garden", `[@+]?alice\tpears from irssi`)
		Expect(bob.log("chat.#garden")).NotTo(ContainSubstring("plums"), "WeeChat put the #kitchen line in the #garden buffer")
		Expect(bob.log("chat.#kitchen")).NotTo(ContainSubstring("pears"), "WeeChat put the #garden line in the #kitchen buffer")

		// 3. alice, who made #garden, sets its topic; bob is told.
		alice.window("#garden")
		alice.typeLine("/topic #garden fruit only, please")
		alice.expect(`alice changed the topic of #garden to: fruit only, please`)
		bob.expectLine("chat.#garden", `alice has changed topic for #garden to "fruit only, please"`)

		// She kicks bob from #garden with a reason; bob is told who did it
		// and why, and is still in #kitchen, where alice hears him.
		alice.typeLine("/kick #garden bob too many bananas")
		alice.expect(`bob was kicked from #garden by alice \[too many bananas\]`)
		bob.expectLine("chat.#garden", `alice has kicked bob \(too many bananas\)`)
		alice.window("#kitchen")
		send(bob.term, "/msg #kitchen still here in the kitchen")
		alice.expect(`<[ @+]?bob> still here in the kitchen`)

		// 4. bob comes back to #garden, parts #kitchen in his words, then
		// quits in his words: alice sees both, each in its window.
		alice.window("#garden")
		send(bob.term, "/join #garden")
		alice.expect(`-!- bob \[[^\]]*\] has joined #garden`)
		// The topic greets him (332, 333).
		bob.expectLine("chat.#garden", `Topic for #garden is "fruit only, please"`)
		bob.expectLine("chat.#garden", `Topic set by alice(?: \(\S+\))? on .*`)
		alice.window("#kitchen")
		send(bob.term, "/part #kitchen see you")
		alice.expect(`-!- bob \[[^\]]*\] has left #kitchen \[see you\]`)
		alice.window("#garden")
		send(bob.term, "/quit gone fishing")
		alice.expect(`-!- bob \[[^\]]*\] has quit \[(?:Quit: )?gone fishing\]`)
		Expect(bob.term.Wait(deadline)).To(Equal(0), "WeeChat's exit status after /quit")

		// irssi's raw log, whole once irssi has exited, shows the SASL
		// exchange that logged it in, and no error from the server.
		alice.typeLine("/quit")
		Expect(alice.term.Wait(deadline)).To(Equal(0), "irssi's exit status after /quit")
		alice.expectLoggedInWithSASL("alice")
		Expect(alice.errorReplies()).To(BeEmpty(), "the server answered irssi with errors")
	})
})

// connectSASL connects irssi to the server's plain IRC listener as a
// person would to a network that takes SASL: the network is declared with
// its mechanism, account and password, and /connect names it. The raw IRC
// traffic is logged to a file in irssi's home.
func (s *irssiSession) connectSASL(srv *harness.Server, account, password string) {
	GinkgoHelper()
	host, port, err := net.SplitHostPort(srv.IRCAddr)
	Expect(err).NotTo(HaveOccurred())
	// -cmdspeed and -cmdmax lift irssi's flood protection, which would
	// otherwise send the lines typed in quick succession one every 2.2 s.
	s.typeLine("/network add -sasl_mechanism PLAIN -sasl_username " + account + " -sasl_password " + password +
		" -cmdspeed 10 -cmdmax 1000 chat")
	s.expect(`Network chat saved`)
	s.typeLine(fmt.Sprintf("/connect -rawlog %s -network chat %s %s", s.rawlogFile(), host, port))
}

// expectLoggedInWithSASL checks irssi's raw log, once irssi has exited (it
// writes the log in bursts): the account was logged in by AUTHENTICATE
// PLAIN, answered with 900 and 903, and no PASS was sent.
func (s *irssiSession) expectLoggedInWithSASL(account string) {
	GinkgoHelper()
	log := s.rawlog()
	Expect(log).To(MatchRegexp(`(?m)^<< AUTHENTICATE PLAIN$`), "irssi's raw log")
	Expect(log).To(MatchRegexp(`(?m)^>> :\S+ 900 `+account+` \S+ `+account+` :You are now logged in as `+account+`$`), "irssi's raw log")
	Expect(log).To(MatchRegexp(`(?m)^>> :\S+ 903 `+account+` `), "irssi's raw log")
	Expect(log).NotTo(MatchRegexp(`(?m)^<< PASS `), "irssi's raw log")
}

// window brings the window of item (a channel) to the front: once irssi
// has taken the command, it waits for the window's bar, leaving what irssi
// draws of the window (its last lines) for the expects that follow.
func (s *irssiSession) window(item string) {
	GinkgoHelper()
	cmd := "/window goto " + item
	s.typeLine(cmd)
	s.expect(regexp.QuoteMeta(cmd))
	bar := regexp.MustCompile(`\[\d+:chat/` + regexp.QuoteMeta(item) + `[\](]`)
	Expect(s.term.WaitUntil(func() bool { return bar.MatchString(s.term.AfterCursor()) }, 2*deadline)).
		To(Succeed(), "irssi did not bring %s to the front", item)
}

// expectUpTo waits for re and returns everything irssi printed since the
// last expect up to the end of the match: for checking that something else
// was not drawn first.
func (s *irssiSession) expectUpTo(re string) string {
	GinkgoHelper()
	return s.expect(`(?s)\A.*?` + re)[0]
}
