package e2e_test

import (
	"fmt"
	"net"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

// WeeChat draws with curses, which may skip characters a screen line already
// shows, so these specs match only distinctive pieces of its output stream.
var _ = Describe("WeeChat on the IRC listener", Label("irc", "weechat"), func() {
	It("joins a room, talks with a rooms client both ways, sees it enter and quits", func() {
		weechat := programFromApt("weechat", "weechat-curses")
		srv := startServerWithIRC(accounts)
		alice := startWeechat(weechat, srv, "alice", accounts["alice"])
		alice.expect(`-- \| Welcome`)
		send(alice.term, "/join #lounge")
		alice.expect(`alice \(alice@\S+\) has joined #lounge`)

		bob := loginClient(srv, "bob")
		send(bob, "enter lounge")
		expect(bob, server(`you entered lounge with alice\n`))
		alice.expect(`bob \(bob@\S+\) has joined #lounge`)

		send(bob, "hello weechat, from the rooms client")
		alice.expect(`hello weechat, from the rooms client`)

		send(alice.term, "hello rooms, from weechat")
		expect(bob, `alice `+ts+` hello rooms, from weechat\n`)

		send(alice.term, "/quit off to bed")
		expect(bob, server(`alice left lounge \((?i:quit): off to bed\)`))
		Expect(alice.term.Wait(deadline)).To(Equal(0), "WeeChat's exit status after /quit")
	})
})

type weechatSession struct{ term *harness.Terminal }

// startWeechat runs WeeChat on a terminal with a new home directory, no
// scripts, the irc plugin only and no automatic connection but the one to
// srv's IRC listener it is told to make at start-up.
func startWeechat(weechat string, srv *harness.Server, nick, password string) *weechatSession {
	GinkgoHelper()
	host, port, err := net.SplitHostPort(srv.IRCAddr)
	Expect(err).NotTo(HaveOccurred())
	add := fmt.Sprintf("/server add chat %s/%s -notls -password=%s -nicks=%s -username=%s -realname=%s",
		host, port, password, nick, nick, nick)
	term, err := harness.StartTerminal(weechat, "--dir", GinkgoT().TempDir(), "--no-connect", "--no-script",
		"--plugins", "irc", "--run-command", add+";/connect chat")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		if CurrentSpecReport().Failed() {
			AddReportEntry("WeeChat output", term.Tail(4000))
		}
		term.Close()
	})
	return &weechatSession{term: term}
}

func (s *weechatSession) expect(re string) []string {
	GinkgoHelper()
	return expectWithin(s.term, re, 2*deadline)
}
