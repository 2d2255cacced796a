package e2e_test

import (
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
	"chat/internal/wire"
)

var _ = Describe("The server", func() {
	It("prints the address it listens on and accepts connections there [S0.1 S0.24]", func() {
		srv := startServer(accounts)
		host, port, err := net.SplitHostPort(srv.Addr)
		Expect(err).NotTo(HaveOccurred())
		Expect(host).To(Equal("127.0.0.1"))
		Expect(port).NotTo(Equal("0"))
		c := dialRaw(srv)
		Expect(c.Hello(deadline)).To(Succeed())
	})

	It("takes its port as a plain argument, on every interface [S2.15 S0.24]", func() {
		// The fixture passes -addr 127.0.0.1:0; a plain port given after it
		// wins, as the seed's "ChatServer PORT" usage asks.
		srv := startServer(accounts, "0")
		host, port, err := net.SplitHostPort(srv.Addr)
		Expect(err).NotTo(HaveOccurred())
		Expect(host).To(BeElementOf("::", "0.0.0.0"), "a plain port listens on every interface")
		alice := startClientAt(net.JoinHostPort("127.0.0.1", port))
		login(alice, "alice")
	})

	It("serves many clients at the same time [S0.1]", func() {
		srv := startServer(accounts)
		const n = 200
		clients := make([]*harness.RawClient, n)
		for i := range clients {
			clients[i] = dialRaw(srv)
			_, err := clients[i].Request(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
			Expect(err).NotTo(HaveOccurred())
		}
		for _, c := range clients {
			r, err := c.Reply(1, deadline)
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Code).To(Equal(wire.OK))
		}
	})

	Context("when the users file is missing", func() {
		It("exits with status 1 and names the file [S0.14 S0.25]", func() {
			missing := filepath.Join(GinkgoT().TempDir(), "no-such-users.db")
			code, stdout, stderr, err := harness.RunServer(deadline, "-addr", "127.0.0.1:0", "-users", missing)
			Expect(err).NotTo(HaveOccurred())
			Expect(code).To(Equal(1), "stdout %q stderr %q", stdout, stderr)
			Expect(stderr).To(ContainSubstring(missing))
		})
	})

	Context("when the address is in use", func() {
		It("exits with status 1 and says why [S0.24 S0.25]", func() {
			srv := startServer(accounts)
			code, stdout, stderr, err := harness.RunServer(deadline, "-addr", srv.Addr, "-users", srv.UsersFile)
			Expect(err).NotTo(HaveOccurred())
			Expect(code).To(Equal(1), "stdout %q stderr %q", stdout, stderr)
			Expect(stderr).To(ContainSubstring(srv.Addr))
		})
	})

	Context("when it gets SIGTERM", func() {
		It("tells every client it is shutting down and exits 0 [S0.22]", func() {
			srv := startServer(accounts)
			alice := loginClient(srv, "alice")
			bob := loginClient(srv, "bob")
			createRoom(alice, "lounge")
			Expect(srv.Stop(syscall.SIGTERM, deadline)).To(Equal(0))
			expect(alice, server(`the server is shutting down`))
			expect(bob, server(`the server is shutting down`))
		})
	})

	Context("when it runs on a terminal", func() {
		var (
			term *harness.Terminal
			addr string
		)

		BeforeEach(func() {
			var err error
			term, addr, err = harness.StartServerTerminal(harness.ServerOptions{
				Users: accounts,
				Dir:   GinkgoT().TempDir(),
				Args:  []string{"-shutdown-timeout", "30s", "-msg-rate", "-1"}, // writer floods on purpose
			})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(func() {
				if CurrentSpecReport().Failed() {
					AddReportEntry("server terminal", term.Tail(2000))
				}
				term.Close()
			})
		})

		It("shuts down on Ctrl-C, telling every client [S0.22]", func() {
			alice := startClientAt(addr)
			login(alice, "alice")
			keys(term, harness.CtrlC)
			expect(alice, server(`the server is shutting down`))
			Expect(term.Wait(deadline)).To(Equal(0))
		})

		It("ends at once on a second Ctrl-C while the shutdown waits for a client [S0.22]", func() {
			// stuck reads nothing once it is in the room; writer fills
			// the room until the server's socket to stuck is full and
			// more waits in the server's own output queue.
			stuck := dialRawSmallBuffer(addr)
			Expect(stuck.Hello(deadline)).To(Succeed())
			Expect(stuck.Login("bob", accounts["bob"], deadline)).To(Succeed())
			Expect(stuck.Enter("lounge", true, deadline)).To(Succeed())
			writer := dialRawAt(addr)
			Expect(writer.Hello(deadline)).To(Succeed())
			Expect(writer.Login("alice", accounts["alice"], deadline)).To(Succeed())
			Expect(writer.Enter("lounge", false, deadline)).To(Succeed())
			serverSide := stuck.Conn().RemoteAddr().String()
			stuckSide := stuck.Conn().LocalAddr().String()
			fillUntilServerQueues(writer, serverSide, stuckSide)

			keys(term, harness.CtrlC)
			notice := nextNotice(writer, wire.NoticeShutdown)
			Expect(notice.Text).To(Equal("the server is shutting down"))
			// One Ctrl-C alone waits for stuck, up to the 30s timeout.
			Consistently(term.Exited()).WithTimeout(500 * time.Millisecond).ShouldNot(BeClosed())

			keys(term, harness.CtrlC)
			code, err := term.Wait(quick)
			Expect(err).NotTo(HaveOccurred(), "the second Ctrl-C did not end the server")
			sig, ok := term.Signaled()
			Expect(ok).To(BeTrue(), "the server exited with status %d instead of dying of SIGINT", code)
			Expect(sig).To(Equal(syscall.SIGINT))
		})
	})
})

// fillUntilServerQueues sends messages from writer to the room until the
// kernel's send queue of the server's socket to the stuck client stops
// growing: from then on what the server writes stays in its own queue. It
// stops well before the server's per-connection limit (1 MiB), so the stuck
// client is not cut off as a slow reader.
func fillUntilServerQueues(writer *harness.RawClient, serverSide, stuckSide string) {
	GinkgoHelper()
	text := strings.Repeat("x", 16<<10)
	last, stalls := -1, 0
	sent := 0
	for ; stalls < 8; sent++ {
		Expect(sent).To(BeNumerically("<", 2000), "the server's socket never filled up")
		r, err := writer.Call(&wire.Frame{Type: wire.TypeSay, Text: text}, deadline)
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Code).To(Equal(wire.OK), r.Text)
		queued, err := harness.SendQueue(serverSide, stuckSide)
		Expect(err).NotTo(HaveOccurred())
		if queued == last {
			stalls++
		} else {
			last, stalls = queued, 0
		}
	}
	GinkgoWriter.Printf("the server's socket to the stuck client filled at %d bytes after %d messages of %d bytes\n", last, sent, len(text))
}

// nextNotice reads c's frames until a notice of the given kind.
func nextNotice(c *harness.RawClient, kind wire.Code) *wire.Frame {
	GinkgoHelper()
	end := time.Now().Add(deadline)
	for {
		f, err := c.NextEvent(time.Until(end))
		Expect(err).NotTo(HaveOccurred())
		if f.Type == wire.TypeNotice && f.Code == kind {
			return f
		}
	}
}
