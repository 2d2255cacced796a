package e2e_test

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

// WeeChat draws with curses, which may skip characters a screen line already
// shows, so these specs match only distinctive pieces of its output stream.
var _ = Describe("WeeChat on the IRC listener", Label("irc", "weechat"), func() {
	DescribeTable("joins a room, talks with a rooms client both ways, sees it enter and quits", func(overTLS bool) {
		weechat := programFromApt("weechat", "weechat-curses")
		srv := startServerWithIRC(accounts)
		alice := startWeechat(weechat, srv, "alice", accounts["alice"], overTLS)
		alice.expect(`Welcome to the chat network, alice`)
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
	},
		Entry("over TLS, trusting the server's certificate by its fingerprint", true),
		Entry("in plain TCP", false),
	)
})

type weechatSession struct {
	term *harness.Terminal
	dir  string // WeeChat's home: its configuration, and logs/ with weechatRun.logs
}

// startWeechat runs WeeChat on a terminal with a new home directory, no
// scripts, the irc plugin only and no automatic connection but the one to
// srv's IRC listener it is told to make at start-up: over TLS, to the IRC
// TLS listener, trusting the certificate whose SHA-256 fingerprint it is
// given.
func startWeechat(weechat string, srv *harness.Server, nick, password string, overTLS bool) *weechatSession {
	GinkgoHelper()
	return startWeechatWith(weechat, srv, nick, weechatRun{overTLS: overTLS, server: "-password=" + password})
}

// weechatRun says how startWeechatWith runs WeeChat.
type weechatRun struct {
	overTLS bool
	server  string // options of /server add ("-name=value ...")
	// logs loads the logger plugin too, writing each line of a buffer to
	// its file at once, and turns paste detection off, which holds back
	// lines typed in quick succession until a key confirms them. Quietly:
	// curses draws only what changed, so a spec that matches WeeChat's
	// output depends on what else is on its screen.
	logs bool
}

// startWeechatWith is startWeechat with the options of run.
func startWeechatWith(weechat string, srv *harness.Server, nick string, run weechatRun) *weechatSession {
	GinkgoHelper()
	addr, tlsOpts := srv.IRCAddr, "-notls"
	if run.overTLS {
		addr = srv.IRCTLSAddr
		tlsOpts = "-tls -tls_fingerprint=" + strings.TrimPrefix(srv.Cert.Fingerprint, "SHA256:")
	}
	if weechatBefore4(weechat) {
		// WeeChat 4.0 renamed its ssl options tls (and turned TLS on by
		// default).
		tlsOpts = strings.ReplaceAll(tlsOpts, "tls", "ssl")
	}
	host, port, err := net.SplitHostPort(addr)
	Expect(err).NotTo(HaveOccurred())
	add := fmt.Sprintf("/server add chat %s/%s %s %s -nicks=%s -username=%s -realname=%s",
		host, port, tlsOpts, run.server, nick, nick, nick)
	plugins, commands := "irc", add+";/connect chat"
	if run.logs {
		plugins = "irc,logger"
		commands = "/mute /set weechat.look.paste_max_lines -1;/mute /set logger.file.flush_delay 0;" + commands
	}
	dir := GinkgoT().TempDir()
	term, err := harness.StartTerminal(weechat, "--dir", dir, "--no-connect", "--no-script",
		"--plugins", plugins, "--run-command", commands)
	Expect(err).NotTo(HaveOccurred())
	s := &weechatSession{term: term, dir: dir}
	DeferCleanup(func() {
		if CurrentSpecReport().Failed() {
			AddReportEntry("WeeChat output", term.Tail(4000))
			if run.logs {
				AddReportEntry("WeeChat logs", s.logs())
			}
		}
		term.Close()
	})
	return s
}

func (s *weechatSession) expect(re string) []string {
	GinkgoHelper()
	return expectWithin(s.term, re, 2*deadline)
}

// weechatBefore4 reports whether the WeeChat installed predates 4.0.
func weechatBefore4(weechat string) bool {
	GinkgoHelper()
	out, err := exec.Command(weechat, "--version").Output()
	Expect(err).NotTo(HaveOccurred())
	major, _, _ := strings.Cut(strings.TrimSpace(string(out)), ".")
	n, err := strconv.Atoi(major)
	Expect(err).NotTo(HaveOccurred(), "weechat --version printed %q", out)
	return n < 4
}
