package e2e_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
	"chat/internal/wire"
)

// Issue 17: several chat servers on one NATS cluster are one chat. Each
// spec runs real chat-server processes, the nodes of a harness.ChatCluster,
// and clients on different nodes; each uses its own room and names, so the
// specs sharing a cluster do not see each other.

// clusterAccounts are the accounts of every node, one set per spec.
var clusterAccounts = map[string]string{
	// a room spanning three nodes
	"ann": "ann-secret", "ben": "ben-secret", "cat": "cat-secret",
	// takeover
	"alice": "wonderland", "bob": "builder",
	// IRC
	"gil": "gil-secret",
	// failover
	"dan": "dan-secret", "eve": "eve-secret", "fay": "fay-secret",
}

// A killed node's users have its lease to come back on another node (they
// log in there once it expired), and 3 s more before their rooms are told
// they were lost. The specs that kill a node shorten the lease from its
// 10 s: there is no NATS election to outlast, NATS staying up.
const (
	shortLease = "4s"
	// livenessWindow: the lease and the 3 s, with a second for a loaded
	// machine; nobody is told before it ends.
	livenessWindow = 8 * time.Second
	// lostWithin bounds how long after the kill the users who did not
	// come back are told of.
	lostWithin = 15 * time.Second
)

// startChatCluster starts a chat cluster of three nodes with the cluster
// accounts, guests allowed, an IRC listener on every node and args,
// stopped (with SIGTERM, each expected to exit 0) when the container or
// spec that started it ends.
func startChatCluster(args ...string) *harness.ChatCluster {
	GinkgoHelper()
	cc, err := harness.StartChatCluster(harness.ChatClusterOptions{
		Users: clusterAccounts,
		IRC:   true,
		Args:  append([]string{"-guests", "-shutdown-timeout", "1s"}, args...),
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		Expect(cc.Stop()).To(Succeed())
	})
	return cc
}

// reportClusterOnFailure adds every server's output to a failed spec's
// report: the first place to look for a server's side of it.
func reportClusterOnFailure(cc *harness.ChatCluster) {
	if CurrentSpecReport().Failed() {
		AddReportEntry("chat cluster output", cc.Output())
	}
}

// loginAs logs the terminal in as name, with its cluster password.
func loginAs(term *harness.Terminal, name string) {
	GinkgoHelper()
	send(term, "login "+name)
	expect(term, `Password: `)
	send(term, clusterAccounts[name])
	expect(term, server(`welcome `+name))
}

// clusterClient starts a client with fastClient on node i and logs it in
// as name.
func clusterClient(cc *harness.ChatCluster, i int, name string) *harness.Terminal {
	GinkgoHelper()
	term := startFastClient(cc.Addr(i))
	loginAs(term, name)
	return term
}

// observer claims a guest name on node i for awaitMembers; it is closed
// when the spec ends.
func observer(cc *harness.ChatCluster, i int, name string) *harness.RawClient {
	GinkgoHelper()
	return claimGuest(cc.Addr(i), name)
}

// awaitMembers waits until obs's node lists exactly names in room. A node
// learns of a room made and of a user entering on another node from that
// node's events, a few milliseconds later (docs/DESIGN.md, "Cluster": who
// is where is eventually consistent), so a spec that acts on one node
// right after a change on another waits for the change to be known there
// first, as a person would be a moment later.
func awaitMembers(obs *harness.RawClient, room string, names ...string) {
	GinkgoHelper()
	Eventually(func() ([]string, error) {
		r, err := obs.Call(&wire.Frame{Type: wire.TypeWho, Room: room}, deadline)
		switch {
		case err != nil:
			return nil, err
		case r.Code != wire.OK:
			return nil, fmt.Errorf("who %s: code %d, %q", room, r.Code, r.Text)
		}
		var got []string
		for _, u := range r.Users {
			got = append(got, u.Name)
		}
		return got, nil
	}).WithTimeout(deadline).WithPolling(20*time.Millisecond).Should(ConsistOf(names), "the members of %s", room)
}

// registerIRCAt connects an IRC peer to addr and registers nick as a
// guest; it is closed when the spec ends.
func registerIRCAt(addr, nick string) *harness.IRCPeer {
	GinkgoHelper()
	p, err := harness.DialIRC(addr)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		if CurrentSpecReport().Failed() {
			AddReportEntry("IRC lines of "+nick, strings.Join(ircQuoteAll(p.Lines()), "\n"))
		}
		p.Close()
	})
	Expect(p.Register(nick, "", deadline)).To(Succeed())
	return p
}

// roomMessages reads a raw client's frames until it has n room messages,
// and returns them in the order they came.
func roomMessages(c *harness.RawClient, n int) []wire.Frame {
	GinkgoHelper()
	var got []wire.Frame
	for len(got) < n {
		f, err := c.NextEvent(deadline)
		Expect(err).NotTo(HaveOccurred(), "after %d of %d messages: %v", len(got), n, got)
		if f.Type == wire.TypeMessage {
			got = append(got, *f)
		}
	}
	return got
}

// shownMessages returns the messages a terminal showed whose text matches
// text (a regexp of the whole text), as "NAME: TEXT", in the order shown.
func shownMessages(term *harness.Terminal, text string) []string {
	var got []string
	for _, m := range regexp.MustCompile(`(\S+) `+ts+` (`+text+`)\n`).FindAllStringSubmatch(term.Output(), -1) {
		got = append(got, m[1]+": "+m[2])
	}
	return got
}

// lostNotice matches what a room is told of a user of a killed node who
// did not come back.
func lostNotice(name string) string {
	return server(`contact with ` + name + ` was lost \(their server stopped answering\)\n`)
}

var _ = Describe("A chat cluster", Label("cluster"), func() {
	// These specs leave every node running: they share one cluster.
	Context("of three nodes", Ordered, ContinueOnFailure, func() {
		var cc *harness.ChatCluster

		BeforeAll(func() {
			cc = startChatCluster()
		})

		AfterEach(func() {
			reportClusterOnFailure(cc)
		})

		It("shows a room spanning three nodes to each member: the others entering, every message in one order, and who lists all three [I17.1]", func() {
			By("entering span on each node")
			names := []string{"ann", "ben", "cat"}
			terms := make([]*harness.Terminal, len(names))
			for i, name := range names {
				terms[i] = clusterClient(cc, i, name)
			}
			obs2, obs3 := observer(cc, 1, "spanobs2"), observer(cc, 2, "spanobs3")
			createRoom(terms[0], "span")
			awaitMembers(obs2, "span", "ann")
			send(terms[1], "enter span")
			expect(terms[1], server(`you entered span with ann\n`))
			expect(terms[0], server(`ben entered span\n`))
			awaitMembers(obs3, "span", "ann", "ben")
			send(terms[2], "enter span")
			expect(terms[2], server(`you entered span with (ann, ben|ben, ann)\n`))
			expect(terms[0], server(`cat entered span\n`))
			expect(terms[1], server(`cat entered span\n`))

			By("who on each node")
			for i, t := range terms {
				send(t, "who")
				expect(t, server(`\d+ users connected\n`))
				for _, line := range []string{`ann is in span \(operator\)`, `ben is in span`, `cat is in span`} {
					shows(t, server(line+`\n`))
				}
				Expect(t.Output()).NotTo(MatchRegexp(`(ann|ben|cat) is in no room`), "who on %s", cc.Name(i))
			}

			// A witness on each node sees every message, its own
			// clients' and the other nodes', with its number.
			witnesses := make([]*harness.RawClient, len(names))
			for i := range witnesses {
				witnesses[i] = claimGuest(cc.Addr(i), fmt.Sprintf("spanw%d", i+1))
				Expect(witnesses[i].Enter("span", false, deadline)).To(Succeed())
			}

			By("a burst from every node at once")
			const each = 8
			var wg sync.WaitGroup
			errs := make([]error, len(terms))
			for i, t := range terms {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := range each {
						if err := t.SendLine(fmt.Sprintf("burst %s %d", names[i], k+1)); err != nil {
							errs[i] = err
							return
						}
					}
				}()
			}
			wg.Wait()
			for _, err := range errs {
				Expect(err).NotTo(HaveOccurred())
			}

			var order []wire.Frame
			for i, w := range witnesses {
				got := roomMessages(w, len(names)*each)
				for k := 1; k < len(got); k++ {
					Expect(got[k].Seq).To(BeNumerically(">", got[k-1].Seq), "the witness on %s: numbers out of order", cc.Name(i))
				}
				if i == 0 {
					order = got
					continue
				}
				Expect(seqTexts(got)).To(Equal(seqTexts(order)), "the witness on %s and the one on %s", cc.Name(i), cc.Name(0))
			}
			// Each client shows the others' messages (its own are not
			// sent back to it) in that order.
			for i, t := range terms {
				var want []string
				for _, f := range order {
					if f.From != names[i] {
						want = append(want, f.From+": "+f.Text)
					}
				}
				Expect(t.WaitUntil(func() bool { return len(shownMessages(t, `burst \w+ \d+`)) >= len(want) }, deadline)).
					To(Succeed(), "%s shows %v", names[i], shownMessages(t, `burst \w+ \d+`))
				Expect(shownMessages(t, `burst \w+ \d+`)).To(Equal(want), "%s on %s", names[i], cc.Name(i))
			}
		})

		It("gives a guest name claimed on every node at once to exactly one claimant, the others told it is in use, round after round [I17.1]", func() {
			const perNode, rounds = 3, 5
			for round := range rounds {
				name := fmt.Sprintf("racer%d", round+1)
				var claimants []*harness.RawClient
				for i := range cc.Len() {
					for range perNode {
						c := dialRawAt(cc.Addr(i))
						Expect(c.Hello(deadline)).To(Succeed())
						claimants = append(claimants, c)
					}
				}
				replies := make([]*wire.Frame, len(claimants))
				errs := make([]error, len(claimants))
				start := make(chan struct{})
				var wg sync.WaitGroup
				for k, c := range claimants {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						replies[k], errs[k] = c.Call(&wire.Frame{Type: wire.TypeClaim, Name: name}, deadline)
					}()
				}
				close(start)
				wg.Wait()

				won := 0
				for k, r := range replies {
					node := cc.Name(k / perNode)
					Expect(errs[k]).NotTo(HaveOccurred(), "round %d, claimant %d on %s", round+1, k, node)
					switch r.Code {
					case wire.OK:
						won++
					case wire.ErrNameTaken:
						Expect(r.Text).To(Equal("the name "+name+" is in use; choose another"), "round %d, claimant %d on %s", round+1, k, node)
					default:
						Fail(fmt.Sprintf("round %d, claimant %d on %s: code %d, %q", round+1, k, node, r.Code, r.Text))
					}
				}
				Expect(won).To(Equal(1), "round %d: %d claimants got %s", round+1, won, name)

				// Afterwards every node knows the name is taken.
				for i := range cc.Len() {
					late := dialRawAt(cc.Addr(i))
					Expect(late.Hello(deadline)).To(Succeed())
					r, err := late.Call(&wire.Frame{Type: wire.TypeClaim, Name: name}, deadline)
					Expect(err).NotTo(HaveOccurred())
					Expect(r.Code).To(Equal(wire.ErrNameTaken), "a late claim of %s on %s: %q", name, cc.Name(i), r.Text)
				}
			}
		})

		It("lets a login on another node take a session over: the first session is told and exits, the second carries on in the room, and a member on a third node is told nothing [I17.1]", func() {
			alice := clusterClient(cc, 0, "alice")
			createRoom(alice, "takeover")
			awaitMembers(observer(cc, 2, "takeoverobs"), "takeover", "alice")
			bob := clusterClient(cc, 2, "bob")
			send(bob, "enter takeover")
			expect(bob, server(`you entered takeover with alice\n`))
			expect(alice, server(`bob entered takeover\n`))
			say(alice, "alice", "from the first node", bob)
			mark := len(bob.Output())

			again := startFastClient(cc.Addr(1))
			send(again, "login alice")
			expect(again, `Password: `)
			send(again, clusterAccounts["alice"])
			expect(again, server(`welcome alice; you are in takeover, taken over from your connection to another server\n`))

			expect(alice, client(`disconnected by `+regexp.QuoteMeta(cc.Addr(0))+`: you logged in on another server; not reconnecting, exiting`))
			code, err := alice.Wait(deadline)
			Expect(err).NotTo(HaveOccurred())
			Expect(code).To(Equal(1), "the replaced client exits with an error status")

			say(again, "alice", "now from the second node", bob)
			say(bob, "bob", "seen on the second node", again)
			// bob's answer came back through the room after the takeover:
			// a notice of it would have come before.
			Expect(bob.Output()[mark:]).NotTo(MatchRegexp(noticesAbout("alice")), "the room was told of the takeover")
			Expect(again.Output()).NotTo(MatchRegexp(noticesAbout("alice")))
		})

		It("joins an IRC user on one node and a rooms user on another in one room: each sees the other enter, messages go both ways, and NAMES and who list both [I17.1]", func() {
			ivy := registerIRCAt(cc.IRCAddr(0), "ivy")
			joinIRC(ivy, "ivy", "bridge") // made on the first node
			awaitMembers(observer(cc, 1, "bridgeobs"), "bridge", "ivy")
			gil := clusterClient(cc, 1, "gil")
			send(gil, "enter bridge")
			expect(gil, server(`you entered bridge with ivy\n`))
			ircExpect(ivy, ircFrom("gil", `JOIN :?#bridge$`))

			ircSend(ivy, "PRIVMSG #bridge :hello from irc on the first node")
			expect(gil, `ivy `+ts+` hello from irc on the first node\n`)
			say(gil, "gil", "hello from rooms on the second node")
			ircExpect(ivy, ircFrom("gil", `PRIVMSG #bridge :hello from rooms on the second node$`))

			ircSend(ivy, "NAMES #bridge")
			m := ircExpect(ivy, ircNumeric(`353`, `ivy = #bridge :(.*)$`))
			Expect(ircNames(m[1])).To(Equal([]string{"gil", "ivy"}))
			ircExpect(ivy, ircNumeric(`366`, `ivy #bridge :End of /NAMES list\.$`))
			send(gil, "who")
			expect(gil, server(`\d+ users connected\n`))
			shows(gil, server(`gil is in bridge\n`))
			// ivy made the room, so it is hers to run, but her standing is
			// not checked here: a guest's is kept on her own node only.
			shows(gil, server(`ivy is in bridge`))

			// Leaving and coming back cross the nodes too.
			ircSend(ivy, "PART #bridge :back soon")
			expect(gil, server(`ivy left bridge`))
			joinIRC(ivy, "ivy", "bridge")
			expect(gil, server(`ivy entered bridge\n`))
			say(gil, "gil", "welcome back")
			ircExpect(ivy, ircFrom("gil", `PRIVMSG #bridge :welcome back$`))
			Expect(ivy.Contains(`hello from irc`)).To(BeFalse(), "ivy was sent her own message")
		})
	})

	Context("when a node is killed", func() {
		var cc *harness.ChatCluster

		BeforeEach(func() {
			cc = startChatCluster("-lease", shortLease)
			DeferCleanup(func() { reportClusterOnFailure(cc) })
		})

		It("moves a client given two nodes to the other one, back in its room with what was said meanwhile shown once; the room is not told it was lost, but is told of a user of the killed node who did not come back [I17.3 I17.6]", func() {
			dan := startClientProcess(append(append([]string{}, fastClient...), cc.Addr(0), cc.Addr(1))...)
			awaitConnected(dan, cc.Addr(0))
			loginAs(dan, "dan")
			createRoom(dan, "failover")
			awaitMembers(observer(cc, 2, "failoverobs"), "failover", "dan")
			eve := clusterClient(cc, 2, "eve")
			send(eve, "enter failover")
			expect(eve, server(`you entered failover with dan\n`))
			expect(dan, server(`eve entered failover\n`))
			// fay is on the killed node too, and her client only knows it.
			fay := dialRawAt(cc.Addr(0))
			Expect(fay.Hello(deadline)).To(Succeed())
			Expect(fay.Login("fay", clusterAccounts["fay"], deadline)).To(Succeed())
			Expect(fay.Enter("failover", false, deadline)).To(Succeed())
			expect(dan, server(`fay entered failover\n`))
			expect(eve, server(`fay entered failover\n`))
			say(eve, "eve", "before the kill", dan)
			mark := len(eve.Output())

			By("killing " + cc.Name(0))
			Expect(cc.Kill(0)).To(Succeed())
			killed := time.Now()
			expect(dan, client(`connection to `+regexp.QuoteMeta(cc.Addr(0))+` lost: [^;\n]+; reconnecting in \d+ms`))
			meanwhile := []string{"said meanwhile 1", "said meanwhile 2", "said meanwhile 3"}
			for _, text := range meanwhile {
				send(eve, text)
			}

			By("dan back on " + cc.Name(1))
			m := expectWithin(dan, client(`reconnected to `+regexp.QuoteMeta(cc.Addr(1))+`\n((?s:.*?))! `+ts+` back in failover\n`), lostWithin)
			Expect(m[1]).To(MatchRegexp(client(`logged in as dan again\n`)))
			Expect(m[1]).NotTo(ContainSubstring("created it again"), "the other node did not have the room")
			Expect(m[1]).NotTo(ContainSubstring("Password:"), "the client asked for the password again")
			say(eve, "eve", "after the failover", dan)
			say(dan, "dan", "back, on another node", eve)
			// dan's login waited for the killed node's lease: what eve said
			// meanwhile is replayed to him, each once, marked as missed.
			Expect(count(dan.Output(), `eve `+ts+` before the kill\n`)).To(Equal(1), "dan's screen:\n%s", dan.Output())
			Expect(dan.Output()).NotTo(ContainSubstring("(missed) before the kill"))
			for _, text := range meanwhile {
				Expect(count(dan.Output(), `eve `+ts+` \(missed\) `+text+`\n`)).To(Equal(1), "%q on dan's screen:\n%s", text, dan.Output())
				Expect(count(dan.Output(), `eve `+ts+` `+text+`\n`)).To(Equal(0), "%q shown unmarked on dan's screen:\n%s", text, dan.Output())
			}
			shows(dan, client(`missed while disconnected: 3 messages from failover \(shown above\)\n`))

			By("waiting for fay to be announced as lost")
			// fay did not come back: her room is told, dan's is not.
			Expect(eve.WaitUntil(func() bool { return eve.Contains(lostNotice("fay")) }, time.Until(killed.Add(lostWithin)))).
				To(Succeed(), "eve was not told fay was lost within %v of the kill:\n%s", lostWithin, eve.Output()[mark:])
			shows(dan, lostNotice("fay"))
			Consistently(func() string { return eve.Output()[mark:] }).
				WithTimeout(max(time.Until(killed.Add(livenessWindow)), 500*time.Millisecond)).
				WithPolling(100*time.Millisecond).
				ShouldNot(MatchRegexp(noticesAbout("dan")), "the room was told about dan, who came back on another node")
			say(dan, "dan", "still here", eve)
		})
	})
})

// seqTexts lists room messages as "SEQ FROM: TEXT".
func seqTexts(fs []wire.Frame) []string {
	var s []string
	for _, f := range fs {
		s = append(s, fmt.Sprintf("%d %s: %s", f.Seq, f.From, f.Text))
	}
	return s
}
