package e2e_test

import (
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
	"chat/internal/wire"
)

// The rooms client running a room (issue 15 on the chat client's side):
// topics, kicks, operators, away messages, and the notices of all that.
// The room's creator is its operator.
var _ = Describe("Running a room from the rooms client", Label("rooms", "channel"), func() {
	Context("when alice created lounge and bob entered it", func() {
		var (
			srv        *harness.Server
			alice, bob *harness.Terminal
		)

		BeforeEach(func() {
			srv = startServer(accounts)
			alice = loginClient(srv, "alice")
			bob = loginClient(srv, "bob")
			createRoom(alice, "lounge")
			enterRoom(bob, "lounge")
			expect(alice, server(`bob entered lounge\n`))
		})

		It("lets the creator set the topic, tells the room, and shows it to whoever asks or enters [I15.8]", func() {
			send(alice, "topic tea at 5")
			expect(alice, server(`alice set the topic of lounge to: tea at 5\n`))
			expect(bob, server(`alice set the topic of lounge to: tea at 5\n`))
			Expect(alice.Contains(`topic set`)).To(BeFalse(), "the setter was told twice:\n%s", alice.Output())

			send(bob, "topic")
			expect(bob, server(`the topic of lounge is: tea at 5 \(set by alice at `+ts+`\)\n`))

			carol := loginClient(srv, "carol")
			send(carol, "enter lounge")
			expect(carol, server(`you entered lounge with alice, bob\n`))
			expect(carol, server(`topic of lounge: tea at 5 \(set by alice at `+ts+`\)\n`))
			send(carol, "rooms")
			expect(carol, server(`lounge has 3 members; topic: tea at 5\n`))
			send(carol, "who")
			expect(carol, server(`alice is in lounge \(operator\)\n`))
			expect(carol, server(`bob is in lounge\n`))

			send(alice, "topic -")
			expect(bob, server(`alice cleared the topic of lounge\n`))
			expect(carol, server(`alice cleared the topic of lounge\n`))
			send(carol, "topic")
			expect(carol, server(`no topic is set in lounge\n`))
		})

		It("refuses the topic and a kick to a member who is not an operator, saying why [I15.8 I15.9]", func() {
			send(bob, "topic mine now")
			expect(bob, server(`only the operators of lounge may set its topic\n`))
			send(bob, "kick alice too bossy")
			expect(bob, server(`only the operators of lounge may kick\n`))
			// Nothing changed: both are in the room, which heard nothing.
			say(bob, "bob", "still friends?", alice)
			say(alice, "alice", "sure", bob)
			Expect(alice.Contains(`kicked|set the topic`)).To(BeFalse(), "the room was told of a refused request:\n%s", alice.Output())
		})

		It("lets an operator make another member an operator, who may then kick [I15.13 I15.9]", func() {
			send(alice, "mode +o bob")
			expect(alice, server(`alice set mode \+o bob on lounge\n`))
			expect(bob, server(`alice set mode \+o bob on lounge\n`))
			send(alice, "who")
			expect(alice, server(`bob is in lounge \(operator\)\n`))
			send(bob, "kick alice bye")
			expect(alice, server(`bob kicked you out of lounge \(bye\)\n`))
			expect(bob, server(`bob kicked alice out of lounge \(bye\)\n`))
		})

		It("shows away messages in who, whois and to whoever tells the away user something [I15.12]", func() {
			send(bob, "away gone for lunch")
			expect(bob, server(`you are marked as away: gone for lunch\n`))
			send(alice, "whois bob")
			expect(alice, server(`bob is connected\n`))
			expect(alice, server(`bob is in lounge\n`))
			expect(alice, server(`bob is away: gone for lunch\n`))
			send(alice, "tell bob are you there?")
			expect(alice, server(`message sent to bob; bob is away: gone for lunch\n`))
			send(alice, "who")
			expect(alice, server(`bob is in lounge; away: gone for lunch\n`))
			send(bob, "away")
			expect(bob, server(`you are no longer marked as away\n`))
		})

		It("tells the room when a member logs out, with the server's quit notice [I15.11 S0.20]", func() {
			// carol watches the frames: what the terminals show as "bob
			// left lounge" is a Quit notice, not a Left.
			carol := dialRaw(srv)
			Expect(carol.Hello(deadline)).To(Succeed())
			Expect(carol.Login("carol", accounts["carol"], deadline)).To(Succeed())
			Expect(carol.Enter("lounge", false, deadline)).To(Succeed())
			expect(alice, server(`carol entered lounge\n`))

			send(bob, "logout")
			Expect(bob.Wait(deadline)).To(Equal(0))
			expect(alice, server(`bob left lounge\n`))
			for {
				n, err := carol.NextEvent(deadline)
				Expect(err).NotTo(HaveOccurred())
				if n.Type == wire.TypeNotice && n.Name == "bob" {
					Expect(n.Code).To(Equal(wire.NoticeQuit), "bob's logout was told as %+v", n)
					Expect(n.Room).To(Equal("lounge"))
					break
				}
			}
		})
	})

	Context("when bob, behind a fault proxy, is kicked out of alice's room", func() {
		var (
			r          *rig
			alice, bob *harness.Terminal
		)

		BeforeEach(func() {
			r = startRig()
			alice = r.direct()
			bob = r.client()
			inRoom("lounge", []string{"alice", "bob"}, alice, bob)
			send(alice, "kick bob too loud")
			expect(alice, server(`alice kicked bob out of lounge \(too loud\)\n`))
		})

		It("tells bob in his own words, and bob is in no room: his messages go nowhere [I15.9]", func() {
			expect(bob, server(`alice kicked you out of lounge \(too loud\)\n`))
			send(bob, "let me back in")
			expect(bob, server(`you are not in a room; enter one with: enter ROOM\n`))
			send(bob, "topic")
			expect(bob, client(`not sent: you are not in a room; enter one with: enter ROOM\n`))
			send(bob, "who")
			expect(bob, server(`bob is in no room\n`))
			// alice hears nothing of what bob typed.
			send(bob, "tell alice sorry")
			expect(alice, `bob `+ts+` \(private\) sorry\n`)
			Expect(alice.Contains(`let me back in`)).To(BeFalse(), "a kicked user's message reached the room:\n%s", alice.Output())
		})

		It("does not take bob back into the room after a cut connection [I15.10 S0.7]", func() {
			expect(bob, server(`alice kicked you out of lounge \(too loud\)\n`))
			start := len(bob.Output())
			Expect(r.proxy.Cut(harness.CutReset)).To(Equal(1))
			expect(bob, client(`reconnected to 127\.0\.0\.1:\d+`))
			expect(bob, client(`logged in as bob again`))
			send(bob, "who")
			expect(bob, server(`bob is in no room\n`))
			// Had bob's client entered lounge again, alice would have been
			// told before bob's private message, which the server handled
			// after it.
			send(bob, "tell alice am I out?")
			expect(alice, `bob `+ts+` \(private\) am I out\?\n`)
			Expect(count(alice.Output(), regexp.QuoteMeta(`bob entered lounge`))).To(Equal(1), "bob entered lounge again:\n%s", alice.Output())
			Expect(bob.Output()[start:]).NotTo(ContainSubstring("back in"), "bob's client re-entered the room")
		})
	})
})
