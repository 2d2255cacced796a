package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

// WeeChat runs two channels against irssi: the story of
// irssi_channels_test.go with the roles swapped, so that each client is
// once the operator and once the member who is told the topic, kicked, and
// who parts and quits.
var _ = Describe("WeeChat running two channels with irssi", Label("irc", "weechat", "irssi"), func() {
	It("logs in with SASL, is in two channels at once, sets a topic and kicks irssi, which stays in the other and then parts and quits in its own words [I15.5]", func() {
		weechat := programFromApt("weechat", "weechat-curses")
		irssi := irssiBinary()
		srv := startServerWithIRC(accounts)

		// 1. Both log in to their accounts with SASL, and each is told so
		// in its server window (900), then welcomed.
		alice := startWeechatSASL(weechat, srv, "alice", accounts["alice"])
		alice.expectLine("server.chat", `You are now logged in as alice \(alice!\S+\)`)
		alice.expectLine("server.chat", `Welcome to the chat network, alice`)
		bob := startIrssi(irssi, "bob", false)
		bob.connectSASL(srv, "bob", accounts["bob"])
		bob.expect(`You are now logged in as bob`)
		bob.expect(`-!- Welcome`)

		// 2. alice makes both channels with one JOIN; bob joins both, and
		// irssi brings the last one's window to the front.
		send(alice.term, "/join #garden,#kitchen")
		alice.expectLine("chat.#garden", `alice \(\S+\) has joined #garden`)
		alice.expectLine("chat.#kitchen", `alice \(\S+\) has joined #kitchen`)
		bob.typeLine("/join #garden,#kitchen")
		bob.expect(`-!- bob \[[^\]]*\] has joined #kitchen`)
		bob.expect(`#kitchen: Total of \d+ nicks`)
		alice.expectLine("chat.#garden", `bob \(\S+\) has joined #garden`)
		alice.expectLine("chat.#kitchen", `bob \(\S+\) has joined #kitchen`)

		// Each one's words reach the other in the channel they were said
		// in. irssi, with #garden in front, does not draw what was said in
		// #kitchen first, and shows it once #kitchen comes to the front.
		bob.window("#garden")
		bob.typeLine("/msg #kitchen bananas from irssi")
		bob.typeLine("/msg #garden apples from irssi")
		alice.expectLine("chat.#kitchen", `bob\tbananas from irssi`)
		alice.expectLine("chat.#garden", `bob\tapples from irssi`)
		Expect(alice.log("chat.#garden")).NotTo(ContainSubstring("bananas"), "WeeChat put the #kitchen line in the #garden buffer")
		Expect(alice.log("chat.#kitchen")).NotTo(ContainSubstring("apples"), "WeeChat put the #garden line in the #kitchen buffer")

		send(alice.term, "/msg #kitchen plums from weechat")
		send(alice.term, "/msg #garden pears from weechat")
		before := bob.expectUpTo(`<[ @+]?alice> pears from weechat`)
		Expect(before).NotTo(ContainSubstring("plums"), "irssi drew the #kitchen line in the #garden window")
		bob.window("#kitchen")
		bob.expect(`<[ @+]?alice> plums from weechat`)

		// 3. alice, who made #garden, sets its topic; bob is told.
		bob.window("#garden")
		send(alice.term, "/topic #garden fruit only, please")
		alice.expectLine("chat.#garden", `alice has changed topic for #garden to "fruit only, please"`)
		bob.expect(`alice changed the topic of #garden to: fruit only, please`)

		// She kicks bob from #garden with a reason; bob is told who did it
		// and why, and is still in #kitchen, where alice hears him.
		send(alice.term, "/kick #garden bob too many bananas")
		alice.expectLine("chat.#garden", `alice has kicked bob \(too many bananas\)`)
		bob.expect(`bob was kicked from #garden by alice \[too many bananas\]`)
		bob.typeLine("/msg #kitchen still here in the kitchen")
		alice.expectLine("chat.#kitchen", `bob\tstill here in the kitchen`)

		// 4. bob comes back to #garden, parts #kitchen in his words, then
		// quits in his words: alice sees both, each in its buffer.
		bob.typeLine("/join #garden")
		alice.expectLine("chat.#garden", `bob \(\S+\) has joined #garden`)
		// The topic greets him (332, 333).
		bob.expect(`Topic for #garden: fruit only, please`)
		bob.expect(`Topic set by alice \[[^\]]*\]`)
		bob.typeLine("/part #kitchen see you")
		alice.expectLine("chat.#kitchen", `bob \(\S+\) has left #kitchen \(see you\)`)
		bob.typeLine("/quit gone fishing")
		alice.expectLine("chat.#garden", `bob \(\S+\) has quit \((?:Quit: )?gone fishing\)`)
		Expect(bob.term.Wait(deadline)).To(Equal(0), "irssi's exit status after /quit")
		bob.expectLoggedInWithSASL("bob")
		Expect(bob.errorReplies()).To(BeEmpty(), "the server answered irssi with errors")
	})
})

// startWeechatSASL runs WeeChat connecting to the server's plain IRC
// listener as the account nick, logging in with SASL PLAIN, with logs.
func startWeechatSASL(weechat string, srv *harness.Server, nick, password string) *weechatSession {
	GinkgoHelper()
	// No anti-flood delay between the lines the spec types in quick
	// succession (WeeChat 4.0 made two options one, in milliseconds).
	noFlood := "-anti_flood=0"
	if weechatBefore4(weechat) {
		noFlood = "-anti_flood_prio_high=0 -anti_flood_prio_low=0"
	}
	return startWeechatWith(weechat, srv, nick, weechatRun{
		server: "-sasl_mechanism=plain -sasl_username=" + nick + " -sasl_password=" + password + " " + noFlood,
		logs:   true,
	})
}

// log returns WeeChat's log of buffer (its name without the plugin:
// "server.chat", "chat.#garden"): every line the buffer showed, as
// "DATE TIME\tPREFIX\tMESSAGE", written as it is shown. It is empty while
// there is no log yet.
func (s *weechatSession) log(buffer string) string {
	b, err := os.ReadFile(filepath.Join(s.dir, "logs", "irc."+strings.ToLower(buffer)+".weechatlog"))
	if err != nil {
		return ""
	}
	return string(b)
}

// expectLine waits for a line of buffer's log that ends in re, which
// starts at its prefix ("bob\tapples" for a message, the text for
// the others), and reports every log WeeChat wrote if none comes.
// curses sends to the terminal only what changed on the screen, so a line
// that looks like the one it replaces would not come out whole there: the
// log is where a buffer's lines can be read whole.
func (s *weechatSession) expectLine(buffer, re string) {
	GinkgoHelper()
	rx := regexp.MustCompile(`(?m)^[^\t\n]*\t(?:[^\t\n]*\t)?` + re + `$`)
	Eventually(func() string { return s.log(buffer) }, 2*deadline).Should(MatchRegexp(rx.String()),
		func() string { return "WeeChat's " + buffer + " buffer; every log:\n" + s.logs() })
}

// logs returns every log WeeChat wrote, each under its file's name.
func (s *weechatSession) logs() string {
	files, _ := filepath.Glob(filepath.Join(s.dir, "logs", "*"))
	var b strings.Builder
	for _, f := range files {
		text, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "== %s\n%s", filepath.Base(f), text)
	}
	return b.String()
}
