package e2e_test

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"strings"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"

	"chat/harness"
	"chat/internal/wire"
)

// Mode names (seed 001): what a person sees while typing, leaving with
// EXIT, and a server that survives whatever a client sends. The seed's
// example run itself is scenarios/names_seed.txtar.
var _ = Describe("Mode names", func() {
	var srv *harness.Server

	BeforeEach(func() {
		srv = startGuestServer()
	})

	It("echoes every character as it is typed, with no prompt, and sends the line on Enter only [S1.10]", func() {
		tap := startFrameTap(srv.Addr)
		a := startModeClient(tap.addr(), "names")
		typed(a, "")
		for i, r := range "NAME A" {
			typeText(a, string(r))
			typed(a, "NAME A"[:i+1])
		}
		Expect(typesOf(tap.waitSent(1))).To(Equal([]string{"hello"}), "sent before Enter")
		keys(a, harness.Enter)
		expect(a, `(?m)^NAME A\nHELLO A\n`)
		typed(a, "")
		Expect(typesOf(tap.sent())).To(Equal([]string{"hello", "claim"}))
	})

	It("prints a message arriving mid-line above the line, which stays as typed [S1.10 S1.4]", func() {
		tap := startFrameTap(srv.Addr)
		a := startModeClient(tap.addr(), "names")
		send(a, "NAME A")
		expect(a, `\ANAME A\nHELLO A\n`)
		b := claimGuest(srv.Addr, "B")

		typeText(a, "MSG B hal")
		typed(a, "MSG B hal")
		_, err := b.Call(&wire.Frame{Type: wire.TypeTell, To: "A", Text: "in between"}, deadline)
		Expect(err).NotTo(HaveOccurred())
		expect(a, `B SENT in between\n`)
		typed(a, "MSG B hal")
		lines := strings.Split(a.Screen(), "\n")
		Expect(len(lines)).To(BeNumerically(">=", 2))
		Expect(lines[len(lines)-2]).To(Equal("B SENT in between"), "screen:\n%s", a.Screen())
		// Still nothing sent for the half line.
		Expect(typesOf(tap.sent())).To(Equal([]string{"hello", "claim"}))

		typeText(a, "f done")
		typed(a, "MSG B half done")
		keys(a, harness.Enter)
		m, err := b.NextEvent(deadline)
		Expect(err).NotTo(HaveOccurred())
		Expect(m.Type).To(Equal(wire.TypePrivate))
		Expect(m.From).To(Equal("A"))
		Expect(m.Text).To(Equal("half done"))
		typed(a, "")
	})

	It("leaves on EXIT with status 0 and the terminal restored; the server runs on [S1.5 S1.3]", func() {
		a := startModeClient(srv.Addr, "names")
		b := startModeClient(srv.Addr, "names")
		send(a, "NAME A")
		expect(a, `\ANAME A\nHELLO A\n`)
		send(b, "NAME B")
		expect(b, `\ANAME B\nHELLO B\n`)

		send(b, "EXIT")
		Expect(b.Wait(deadline)).To(Equal(0))
		tio, err := b.Termios()
		Expect(err).NotTo(HaveOccurred())
		Expect(tio.Lflag & (unix.ECHO | unix.ICANON)).To(Equal(uint32(unix.ECHO | unix.ICANON)))
		Expect(b.Output()).NotTo(ContainSubstring("goodbye"), "EXIT shows nothing")

		// The name is gone at once and the server serves on.
		send(a, "GETNAMES")
		expect(a, `\AGETNAMES\nA\n`)
		Expect(srv.Exited()).NotTo(BeClosed())
		b2 := startModeClient(srv.Addr, "names")
		send(b2, "NAME B")
		expect(b2, `\ANAME B\nHELLO B\n`)
		send(b2, "MSG A back")
		expect(a, `\AB SENT back\n`)
		send(a, "EXIT")
		send(b2, "EXIT")
		Expect(a.Wait(deadline)).To(Equal(0))
		Expect(b2.Wait(deadline)).To(Equal(0))

		// Everyone gone: the server stops cleanly when asked.
		Expect(srv.Stop(syscall.SIGINT, deadline)).To(Equal(0))
		Expect(srv.Stderr()).NotTo(ContainSubstring("panic"))
	})

	Context("when clients send garbage", func() {
		var rng *rand.Rand

		BeforeEach(func() {
			seed := uint64(GinkgoRandomSeed())
			rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		})

		// stillServes checks that the server process runs and a names client
		// works end to end.
		stillServes := func() {
			GinkgoHelper()
			Expect(srv.Exited()).NotTo(BeClosed(), "the server died:\n%s", srv.Output())
			b := claimGuest(srv.Addr, "B")
			a := startModeClient(srv.Addr, "names")
			send(a, "NAME A")
			expect(a, `\ANAME A\nHELLO A\n`)
			send(a, "MSG B still here")
			m, err := b.NextEvent(deadline)
			Expect(err).NotTo(HaveOccurred())
			Expect(m.Text).To(Equal("still here"))
			Expect(srv.Stderr()).NotTo(ContainSubstring("panic"))
		}

		It("answers every unknown frame type with one ErrUnknown reply and keeps the connection [S1.7 S3.9]", func() {
			c := dialRaw(srv)
			Expect(c.Hello(deadline)).To(Succeed())
			var ids []uint32
			var types []wire.Type
			for t := range 256 {
				typ := wire.Type(t)
				if typ.IsRequest() || typ == wire.TypePong {
					continue
				}
				id, err := c.Request(&wire.Frame{Type: typ, Text: "what is this"})
				Expect(err).NotTo(HaveOccurred())
				ids = append(ids, id)
				types = append(types, typ)
			}
			for i, id := range ids {
				r, err := c.Reply(id, deadline)
				Expect(err).NotTo(HaveOccurred(), "type %d", types[i])
				Expect(r.Code).To(Equal(wire.ErrUnknown), "type %d: %s", types[i], r.Text)
				Expect(r.Text).To(Equal("unknown request type " + strconv.Itoa(int(types[i]))))
			}
			r, err := c.Call(&wire.Frame{Type: wire.TypePing}, deadline)
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Code).To(Equal(wire.OK))
			Expect(c.Events).To(BeEmpty())
			stillServes()
		})

		It("answers each well-framed frame with a random body exactly once [S1.6 S1.7]", func() {
			c := dialRaw(srv)
			Expect(c.Hello(deadline)).To(Succeed())
			const n = 300
			var stream []byte
			for range n {
				body := make([]byte, 1+rng.IntN(64))
				for i := range body {
					body[i] = byte(rng.UintN(256))
				}
				// Types whose frame is not answered by one reply on this
				// connection are left out: Pong (no reply), Login (a run of
				// wrong passwords ends the connection, as it should), and
				// the file transfer range, whose Attach turns the
				// connection into a data connection.
				for t := wire.Type(body[0]); t == wire.TypePong || t == wire.TypeLogin || t >= 20 && t <= 39; t = wire.Type(body[0]) {
					body[0] = byte(rng.UintN(256))
				}
				stream = binary.BigEndian.AppendUint32(stream, uint32(len(body)))
				stream = append(stream, body...)
			}
			Expect(c.SendRaw(stream)).To(Succeed())
			marker, err := c.Request(&wire.Frame{Type: wire.TypePing})
			Expect(err).NotTo(HaveOccurred())
			replies := 0
			for {
				f, err := c.Next(deadline)
				Expect(err).NotTo(HaveOccurred(), "after %d replies", replies)
				Expect(f.Type).NotTo(Equal(wire.TypeBye), "the server hung up: %s", f.Text)
				if f.Type != wire.TypeReply {
					continue // a private message to a name a random claim took, say
				}
				replies++
				if replies == n+1 {
					Expect(f.ID).To(Equal(marker))
					Expect(f.Code).To(Equal(wire.OK))
					break
				}
			}
			stillServes()
		})

		It("survives random bytes on many connections [S1.7 S0.25]", func() {
			for range 30 {
				c, err := harness.DialRaw(srv.Addr)
				Expect(err).NotTo(HaveOccurred())
				junk := make([]byte, 1+rng.IntN(4096))
				for i := range junk {
					junk[i] = byte(rng.UintN(256))
				}
				if rng.IntN(2) == 0 {
					// Some after a proper Hello, some straight away.
					Expect(c.Hello(deadline)).To(Succeed())
				}
				// The server may have hung up already (a bad length): a
				// failed write is no failure of the spec.
				_ = c.SendRaw(junk)
				Expect(c.Close()).To(Succeed())
			}
			stillServes()
		})
	})
})
