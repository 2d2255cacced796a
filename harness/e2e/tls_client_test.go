package e2e_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

// The client over TLS (chat tls://HOST:PORT): how it decides to trust a
// server (trust on first use, -tls-ca, -tls-fingerprint), what it says
// when it does not, and that everything the client does works over TLS.
// Every spec's known-servers file is its own (-known-servers, or
// XDG_CONFIG_HOME pointed at a temporary directory).

var _ = Describe("The client over TLS", Label("tls"), func() {
	Context("when no authority vouches for the server", func() {
		var srv *harness.Server

		BeforeEach(func() {
			srv = startSelfSignedServer()
		})

		It("asks once, remembers the server in the user's configuration directory, and connects without asking the next time [TLS.1 TLS.2]", func() {
			config := filepath.Join(GinkgoT().TempDir(), "config")
			GinkgoT().Setenv("XDG_CONFIG_HOME", config)
			known := filepath.Join(config, "chat", "known_servers")

			alice := startClientProcess("tls://" + srv.Addr)
			expectTrustQuestion(alice, srv.Addr, srv.Cert.Fingerprint, known)
			send(alice, "yes")
			expect(alice, client(regexp.QuoteMeta("remembered "+srv.Addr+" as "+srv.Cert.Fingerprint+" in "+known+" (line 3)")))
			awaitConnected(alice, srv.Addr)

			data, err := os.ReadFile(known)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(data)).To(HaveSuffix("\n" + srv.Addr + " " + srv.Cert.Fingerprint + "\n"))
			st, err := os.Stat(known)
			Expect(err).NotTo(HaveOccurred())
			Expect(st.Mode().Perm()).To(Equal(fs.FileMode(0o600)))
			st, err = os.Stat(filepath.Dir(known))
			Expect(err).NotTo(HaveOccurred())
			Expect(st.Mode().Perm()).To(Equal(fs.FileMode(0o700)))

			login(alice, "alice")
			createRoom(alice, "lounge")

			// Another run finds the server in the file.
			bob := startTLSClient(srv.Addr)
			Expect(bob.Output()).NotTo(ContainSubstring("Trust this server"))
			login(bob, "bob")
			enterRoom(bob, "lounge")
			expect(alice, server(`bob entered lounge`))
			say(alice, "alice", "hello over TLS", bob)
			say(bob, "bob", "hello back", alice)
		})

		It("exits with the terminal restored when told no, remembering nothing [TLS.3]", func() {
			known := knownServersFile()
			term := startClientProcess("-known-servers", known, "tls://"+srv.Addr)
			expectTrustQuestion(term, srv.Addr, srv.Cert.Fingerprint, known)
			send(term, "maybe")
			expect(term, client(`answer yes or no \(or paste the fingerprint to compare\)`))
			send(term, "no")
			expect(term, client(regexp.QuoteMeta(srv.Addr+" is not trusted, so not connecting; exiting")))
			exitsWith(term, 1)
			Expect(known).NotTo(BeAnExistingFile())
		})

		It("refuses loudly a remembered server that shows another certificate, naming both and the line to delete [TLS.4]", func() {
			known := knownServersFile()
			other := selfSignedFor(time.Now().Add(-time.Hour), time.Now().Add(time.Hour), "127.0.0.1").Fingerprint
			Expect(os.MkdirAll(filepath.Dir(known), 0o700)).To(Succeed())
			Expect(os.WriteFile(known, []byte("# written by the spec\n"+srv.Addr+" "+other+"\n"), 0o600)).To(Succeed())

			term := startClientProcess("-known-servers", known, "tls://"+srv.Addr)
			expectChanged(term, srv.Addr, other, srv.Cert.Fingerprint, known, 2)
			exitsWith(term, 1)
			Expect(term.Output()).NotTo(ContainSubstring("connected to"))
		})
	})

	It("refuses loudly to reconnect to a server restarted with another certificate, and stops trying [TLS.4]", func() {
		before := selfSignedFor(time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), "127.0.0.1")
		after := selfSignedFor(time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), "127.0.0.1")
		r := startRig("-tls-cert", before.CertFile, "-tls-key", before.KeyFile)
		known := knownServersFile()
		addr := r.proxy.Addr()
		alice := startClientProcess(append(append([]string{}, fastClient...), "-known-servers", known, "tls://"+addr)...)
		expectTrustQuestion(alice, addr, before.Fingerprint, known)
		send(alice, "yes")
		awaitConnected(alice, addr)
		login(alice, "alice")
		createRoom(alice, "lounge")

		r.args = append(r.args, "-tls-cert", after.CertFile, "-tls-key", after.KeyFile)
		r.restart(syscall.SIGTERM)
		expectChanged(alice, addr, before.Fingerprint, after.Fingerprint, known, 3)
		exitsWith(alice, 1)
		Expect(alice.Output()).NotTo(ContainSubstring("reconnected"))
		Eventually(r.proxy.Conns).WithTimeout(deadline).Should(BeZero())
	})

	Context("with -tls-ca", func() {
		It("connects without asking when the file holds the server's own certificate [TLS.5]", func() {
			srv := startSelfSignedServer()
			known := knownServersFile()
			alice := startTLSClient(srv.Addr, "-tls-ca", srv.Cert.CertFile, "-known-servers", known)
			Expect(alice.Output()).NotTo(ContainSubstring("Trust this server"))
			login(alice, "alice")
			Expect(known).NotTo(BeAnExistingFile())
		})

		It("connects to a server its authority signed, and refuses one another authority signed [TLS.5]", func() {
			ca := newAuthority("Chat Test CA")
			srv := startTLSServer(ca.issue("127.0.0.1"))
			alice := startTLSClient(srv.Addr, "-tls-ca", ca.file)
			login(alice, "alice")

			other := newAuthority("Another CA")
			bob := startClientProcess("-tls-ca", other.file, "tls://"+srv.Addr)
			refusedWith(bob, srv.Addr, `its certificate \(SHA256:[0-9a-f]{64}, issued by Chat Test CA\) is not signed by the authority in `+regexp.QuoteMeta(other.file))
		})
	})

	It("connects to the certificate -tls-fingerprint pins, and refuses another [TLS.6]", func() {
		srv := startSelfSignedServer()
		alice := pinnedClient(srv)
		login(alice, "alice")

		wrong := selfSignedFor(time.Now().Add(-time.Hour), time.Now().Add(time.Hour), "127.0.0.1").Fingerprint
		bob := startClientProcess("-tls-fingerprint", wrong, "tls://"+srv.Addr)
		refusedWith(bob, srv.Addr, `its certificate is `+srv.Cert.Fingerprint+`, not `+wrong+` as -tls-fingerprint says`)
	})

	Context("when the certificate is not valid for the server", func() {
		It("says when an expired certificate expired, whoever signed it [TLS.7]", func() {
			expired := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
			when := regexp.QuoteMeta(expired.UTC().Format("2006-01-02 15:04:05 UTC"))

			self := startTLSServer(selfSignedFor(expired.Add(-24*time.Hour), expired, "127.0.0.1"))
			term := startClientProcess("-known-servers", knownServersFile(), "tls://"+self.Addr)
			refusedWith(term, self.Addr, `its certificate expired on `+when+`; the server's operator must renew it`)

			ca := newAuthority("Chat Test CA")
			signed := startTLSServer(certificateFiles([]string{"127.0.0.1"}, expired.Add(-24*time.Hour), expired, ca))
			term = startClientProcess("-tls-ca", ca.file, "tls://"+signed.Addr)
			refusedWith(term, signed.Addr, `its certificate expired on `+when+`; the server's operator must renew it`)
		})

		It("names the hosts a certificate made for others is for [TLS.7]", func() {
			srv := startTLSServer(selfSignedFor(time.Now().Add(-time.Hour), time.Now().Add(time.Hour), "chat.example", "10.9.8.7"))
			term := startClientProcess("-known-servers", knownServersFile(), "tls://"+srv.Addr)
			refusedWith(term, srv.Addr, `its certificate is for chat\.example, 10\.9\.8\.7, not for 127\.0\.0\.1; connect with one of those names`)
		})
	})

	Context("on a port of the other kind", func() {
		It("tells a TLS client on a plain port to connect without tls:// [TLS.8]", func() {
			srv := startServer(accounts)
			term := startClientProcess("-known-servers", knownServersFile(), "tls://"+srv.Addr)
			expect(term, client(regexp.QuoteMeta(srv.Addr+" does not speak TLS: connect without tls://; exiting")+`\n`))
			exitsWith(term, 1)
		})

		It("shows a plain client the TLS port's answer, and does not retry [TLS.8]", func() {
			srv := startSelfSignedServer()
			term := startClientProcess(srv.Addr)
			refusedWith(term, srv.Addr, `the server said: this port speaks TLS only: connect with TLS \(chat tls://HOST:PORT[^;\n]*\)`)
		})
	})

	Context("when the connection is lost", func() {
		var (
			r   *rig
			pin []string
		)

		BeforeEach(func() {
			cert := selfSignedFor(time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), "127.0.0.1")
			r = startRig("-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile)
			pin = append(append([]string{}, fastClient...), "-tls-fingerprint", cert.Fingerprint)
		})

		It("returns to the room after the server restarts with the same certificate [TLS.9 S0.7]", func() {
			alice := startTLSClient(r.proxy.Addr(), pin...)
			bob := startTLSClient(r.proxy.Addr(), pin...)
			inRoom("lounge", []string{"alice", "bob"}, alice, bob)
			say(alice, "alice", "before the restart", bob)
			r.roomsSaved("lounge")

			r.restart(syscall.SIGTERM)
			backIn(alice, "alice", "lounge")
			backIn(bob, "bob", "lounge")
			say(alice, "alice", "after the restart", bob)
			say(bob, "bob", "still encrypted", alice)
		})

		It("resumes its TLS session after a cut [TLS.9]", func() {
			alice := startTLSClient(r.proxy.Addr(), pin...)
			login(alice, "alice")
			createRoom(alice, "lounge")
			Expect(r.proxy.Cut(harness.CutReset)).To(Equal(1))
			backIn(alice, "alice", "lounge")
			Eventually(r.srv.Stderr).WithTimeout(deadline).Should(MatchRegexp(`session \d+: TLS 1\.3, resumed`))
		})
	})

	It("moves a file through the server's relay over TLS, byte for byte [TLS.10 S2.7 S2.8]", func() {
		srv := startSelfSignedServer()
		alice := tlsFileUser(srv, "alice", true)
		bob := tlsFileUser(srv, "bob", false)
		sum := writeRandomFile(bob.dir, "notes.bin", 3<<20+12345, 9)
		send(alice.term, "get bob notes.bin")
		got(alice, "notes.bin", "bob", "3 MiB", transferDeadline)
		expect(bob.term, client(regexp.QuoteMeta("sent notes.bin to alice (3 MiB)")))
		Expect(fileSum(alice.path("notes.bin"))).To(Equal(sum))
		say(alice.term, "alice", "got it", bob.term)
	})

	DescribeTable("logs in and exchanges messages in each mode [TLS.1]",
		func(exchange func(srv *harness.Server, alice *harness.Terminal)) {
			srv := startSelfSignedServer("-guests")
			alice := pinnedClient(srv)
			login(alice, "alice")
			exchange(srv, alice)
		},
		Entry("rooms", func(srv *harness.Server, alice *harness.Terminal) {
			bob := pinnedClient(srv)
			login(bob, "bob")
			send(bob, "tell alice hi from rooms")
			expect(alice, `bob `+ts+` \(private\) hi from rooms\n`)
			send(alice, "tell bob back to rooms")
			expect(bob, `alice `+ts+` \(private\) back to rooms\n`)
		}),
		Entry("names", func(srv *harness.Server, alice *harness.Terminal) {
			b := tlsModeClient(srv, "names")
			send(b, "NAME B")
			expect(b, `NAME B\nHELLO B\n`)
			send(b, "MSG alice hi from names")
			expect(alice, `B `+ts+` \(private\) hi from names\n`)
			send(alice, "tell B back to names")
			expect(b, `alice SENT back to names\n`)
		}),
		Entry("course", func(srv *harness.Server, alice *harness.Terminal) {
			john := tlsModeClient(srv, "course")
			send(john, "login John")
			expect(john, `login John\nSuccess\n`)
			send(john, "sendto alice hi from course")
			expect(alice, `John `+ts+` \(private\) hi from course\n`)
			send(alice, "tell John back to course")
			expect(john, `alice: back to course\n`)
		}),
		Entry("menu", func(srv *harness.Server, alice *harness.Terminal) {
			mia := tlsModeClient(srv, "menu")
			inputLine(mia, "Enter your name: ")
			send(mia, "Mia")
			expect(mia, `Enter your name: Mia\n`+menuBlock)
			broadcast(mia, "hi from menu")
			expect(alice, `Mia `+ts+` hi from menu\n`)
			send(alice, "tell Mia back to menu")
			expect(mia, `alice: back to menu\n`)
		}),
	)
})

// expectTrustQuestion waits for the question about a server no authority
// vouches for: its fingerprint, where it will be remembered, the prompt.
func expectTrustQuestion(term *harness.Terminal, addr, fingerprint, known string) {
	GinkgoHelper()
	expect(term, client(regexp.QuoteMeta("the authenticity of "+addr+" cannot be established: its certificate is signed by no authority this system trusts, and it is not a known server")))
	expect(term, client(`its fingerprint is `+fingerprint+`\n`))
	expect(term, client(`compare it with the fingerprint the server's operator gives you \(chat-server prints it when it starts\); if you trust it, it is remembered in `+regexp.QuoteMeta(known)))
	expect(term, `Trust this server and connect\? \(yes/no\) `)
}

// expectChanged waits for the loud refusal of a server whose certificate
// is not the one trusted before, remembered on line of known.
func expectChanged(term *harness.Terminal, addr, trusted, shown, known string, line int) {
	GinkgoHelper()
	expect(term, client(regexp.QuoteMeta("cannot connect to "+addr+": ITS CERTIFICATE HAS CHANGED; not connecting, exiting")))
	expect(term, `WARNING: THE SERVER'S CERTIFICATE HAS CHANGED!`)
	expect(term, `Someone may be intercepting your connection to `+regexp.QuoteMeta(addr))
	expect(term, `Trusted before:  `+trusted+`\n`)
	expect(term, `Now shown:       `+shown+`\n`)
	expect(term, regexp.QuoteMeta("The trusted certificate is remembered on line "+strconv.Itoa(line)+" of "+known+"."))
	expect(term, `delete that line and connect again`)
	expect(term, regexp.QuoteMeta("Not connecting to "+addr+"; exiting."))
}

// tlsFileUser is startFileUser over TLS, trusting srv's certificate.
func tlsFileUser(srv *harness.Server, name string, create bool) *fileUser {
	GinkgoHelper()
	dir := GinkgoT().TempDir()
	term := startTLSClient(srv.Addr, "-tls-fingerprint", srv.Cert.Fingerprint, "-share", dir, "-download", dir)
	login(term, name)
	if create {
		createRoom(term, "lounge")
	} else {
		enterRoom(term, "lounge")
	}
	return &fileUser{name: name, dir: dir, term: term}
}

// tlsModeClient runs "chat -mode MODE" over TLS to srv, trusting its
// certificate, and waits until it has connected.
func tlsModeClient(srv *harness.Server, mode string) *harness.Terminal {
	GinkgoHelper()
	term, err := harness.StartTerminal(filepath.Join(binDir(), harness.ClientBinary),
		"-mode", mode, "-tls-fingerprint", srv.Cert.Fingerprint, "tls://"+srv.Addr)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		if CurrentSpecReport().Failed() {
			AddReportEntry("client screen ("+mode+")", term.Tail(2000))
		}
		term.Close()
	})
	expect(term, connectedReport)
	return term
}
