package e2e_test

import (
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"

	"chat/harness"
)

var _ = Describe("Rooms", func() {
	var srv *harness.Server

	BeforeEach(func() {
		srv = startServer(accounts)
	})

	Context("when two users are in the same room", func() {
		var alice, bob *harness.Terminal

		BeforeEach(func() {
			alice = loginClient(srv, "alice")
			bob = loginClient(srv, "bob")
			createRoom(alice, "lounge")
			enterRoom(bob, "lounge")
			expect(alice, server(`bob entered lounge`))
		})

		It("relays a message to the others in the room and not to the sender [S0.2 S0.4 S0.5 S0.19]", func() {
			say(alice, "alice", "hello bob", bob)
			// bob's answer comes after alice's message on every screen, so
			// once alice has it, her own message would have shown already.
			say(bob, "bob", "hello alice", alice)
			Expect(alice.Contains(`alice `+ts+` hello bob`)).To(BeFalse(), "alice was sent her own message:\n%s", alice.Output())
			Expect(bob.Contains(`bob `+ts+` hello alice`)).To(BeFalse(), "bob was sent his own message:\n%s", bob.Output())
		})

		It("shows the sender, the time and the text exactly [S0.5 S0.19]", func() {
			send(alice, "spaces  and  symbols: *!? é 日本")
			m := expect(bob, `alice (\d\d:\d\d:\d\d) ([^\n]*)\n`)
			Expect(m[2]).To(Equal("spaces  and  symbols: *!? é 日本"))
			Expect(clockSkew(m[1])).To(BeNumerically("<", 2*time.Minute), "the time shown is not the local time now")
		})

		It("tells the room when a user leaves for another room and comes back [S0.11 S0.16 S0.20]", func() {
			send(bob, "create kitchen")
			expect(bob, server(`created room kitchen; enter it with: enter kitchen`))
			send(bob, "enter kitchen")
			expect(bob, server(`you entered kitchen`))
			expect(alice, server(`bob left lounge`))

			// bob is in one room only: the lounge no longer hears him.
			say(bob, "bob", "anyone in the kitchen?")
			send(bob, "enter lounge")
			expect(bob, server(`you entered lounge with alice`))
			expect(alice, server(`bob entered lounge`))
			say(bob, "bob", "back", alice)
			Expect(alice.Contains(`anyone in the kitchen`)).To(BeFalse(), "alice heard a message of another room")
		})

		It("tells the room when a user logs out, and the client exits 0 [S0.13 S0.20]", func() {
			send(bob, "logout")
			expect(bob, server(`goodbye bob`))
			Expect(bob.Wait(deadline)).To(Equal(0))
			expect(alice, server(`bob left lounge`))
			tio, err := bob.Termios()
			Expect(err).NotTo(HaveOccurred())
			Expect(tio.Lflag&(unix.ECHO|unix.ICANON)).To(Equal(uint32(unix.ECHO|unix.ICANON)), "the terminal was left raw")
		})

		It("tells the room that contact was lost when a client dies [S0.20 S0.21]", func() {
			// SIGKILL is a crash: bob's client says nothing, the kernel
			// closes its socket.
			Expect(bob.Signal(syscall.SIGKILL)).To(Succeed())
			expect(alice, server(`contact with bob was lost`))
			// A lost contact is told distinctly, not as a logout.
			Expect(alice.Contains(`bob left lounge`)).To(BeFalse(), "a lost contact was announced as leaving:\n%s", alice.Output())
		})
	})

	Context("when three users are in two rooms", func() {
		var alice, bob, carol *harness.Terminal

		BeforeEach(func() {
			alice = loginClient(srv, "alice")
			bob = loginClient(srv, "bob")
			carol = loginClient(srv, "carol")
			createRoom(alice, "lounge")
			enterRoom(bob, "lounge")
			createRoom(carol, "kitchen")
		})

		It("keeps a message inside its room [S0.2 S0.16]", func() {
			say(alice, "alice", "lounge only", bob)
			// The server handled alice's message before carol's who: had
			// carol been sent it, it would be on her screen before the reply.
			send(carol, "who")
			expect(carol, server(`3 users connected`))
			Expect(carol.Contains(`lounge only`)).To(BeFalse(), "carol, in another room, got the message")
		})

		It("lists every connected user with their room [S0.12]", func() {
			send(bob, "leave")
			expect(bob, server(`you left lounge`))
			send(alice, "who")
			expect(alice, server(`3 users connected\n`))
			// Each room's creator runs it.
			expect(alice, server(`alice is in lounge \(operator\)\n`))
			expect(alice, server(`bob is in no room\n`))
			expect(alice, server(`carol is in kitchen \(operator\)\n`))
		})

		It("relays within each room independently [S0.2 S0.20]", func() {
			send(carol, "create attic")
			expect(carol, server(`created room attic`))
			say(alice, "alice", "to bob", bob)
			send(bob, "enter kitchen")
			expect(bob, server(`you entered kitchen with carol`))
			expect(alice, server(`bob left lounge`))
			expect(carol, server(`bob entered kitchen`))
			say(carol, "carol", "hi bob", bob)
			say(bob, "bob", "hi carol", carol)
			send(alice, "who")
			expect(alice, server(`3 users connected`))
			Expect(alice.Contains(`hi (bob|carol)`)).To(BeFalse(), "alice heard the kitchen")
		})
	})
})
