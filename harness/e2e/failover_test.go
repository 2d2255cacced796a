package e2e_test

import (
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

// Issue 17, item 3: the client given several servers fails over from one
// to the next. Until the servers are one chat on a cluster, two
// independent servers with the same accounts stand for its nodes: the
// second does not have the room, so the client makes it again there (the
// path a restarted server without its rooms takes); on a cluster the
// other node has the room and its history, and the re-entry asks for
// what was missed as after any cut.
var _ = Describe("Failing over to another server", func() {
	for _, overTLS := range []bool{false, true} {
		Context(overName(overTLS), func() { failoverSpecs(overTLS) })
	}
})

// failoverNode is one of the servers a client fails over between: over
// TLS each has a certificate of its own, kept across its restarts.
type failoverNode struct {
	srv  *harness.Server
	cert *harness.Cert
}

// startNode starts a server with the usual accounts and fastServer, at
// addr ("127.0.0.1:0": a port the kernel chooses), over TLS with cert if
// it is set.
func startNode(addr string, cert *harness.Cert) *failoverNode {
	GinkgoHelper()
	args := append(append([]string{}, fastServer...), "-addr", addr)
	if cert != nil {
		args = append(args, "-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile)
	}
	return &failoverNode{srv: startServer(accounts, args...), cert: cert}
}

// kill ends the node's server with SIGKILL, as a crashed machine would.
func (n *failoverNode) kill() {
	GinkgoHelper()
	code, err := n.srv.Stop(syscall.SIGKILL, 5*time.Second)
	Expect(err).NotTo(HaveOccurred())
	Expect(code).To(Equal(128 + int(syscall.SIGKILL)))
}

// restart starts the node's server again on its address.
func (n *failoverNode) restart() {
	GinkgoHelper()
	n.srv = startNode(n.srv.Addr, n.cert).srv
}

func failoverSpecs(overTLS bool) {
	var (
		a, b  *failoverNode
		known string // over TLS: the known-servers file that knows both certificates
	)

	BeforeEach(func() {
		var certA, certB *harness.Cert
		if overTLS {
			certA, certB = nodeCert(), nodeCert()
		}
		a, b = startNode("127.0.0.1:0", certA), startNode("127.0.0.1:0", certB)
		if overTLS {
			// Each server's own certificate, as the person trusted them
			// on first use: one line each.
			known = filepath.Join(GinkgoT().TempDir(), "known_servers")
			Expect(os.WriteFile(known, []byte(
				a.srv.Addr+" "+certA.Fingerprint+"\n"+b.srv.Addr+" "+certB.Fingerprint+"\n"), 0o600)).To(Succeed())
		}
	})

	// failoverClient starts a client with fastClient given addrs, in order.
	failoverClient := func(addrs ...string) *harness.Terminal {
		GinkgoHelper()
		args := append([]string{}, fastClient...)
		if overTLS {
			args = append(args, "-known-servers", known)
			for i := range addrs {
				addrs[i] = "tls://" + addrs[i]
			}
		}
		return startClientProcess(append(args, addrs...)...)
	}

	// witness logs a client in as alice on n and puts her in lounge, which
	// bob's client made again there.
	witness := func(n *failoverNode) *harness.Terminal {
		GinkgoHelper()
		args := append([]string{}, fastClient...)
		addr := n.srv.Addr
		if overTLS {
			args = append(args, "-tls-fingerprint", n.cert.Fingerprint)
			addr = "tls://" + addr
		}
		alice := startClientProcess(append(args, addr)...)
		awaitConnected(alice, n.srv.Addr)
		login(alice, "alice")
		enterRoom(alice, "lounge")
		return alice
	}

	It("reconnects to the next server when its server is killed, logs in again without asking, re-enters its room, stays, and goes back when that one is killed [I17.3]", func() {
		bob := failoverClient(a.srv.Addr, b.srv.Addr)
		awaitConnected(bob, a.srv.Addr)
		login(bob, "bob")
		createRoom(bob, "lounge")

		// A dies: bob goes to B.
		a.kill()
		expect(bob, client(`connection to `+regexp.QuoteMeta(a.srv.Addr)+` lost: [^;\n]+; reconnecting in \d+ms`))
		arrivesAt(bob, b.srv.Addr)
		alice := witness(b)
		expect(bob, server(`alice entered lounge`))
		say(bob, "bob", "hello from b", alice)
		say(alice, "alice", "seen on b", bob)

		// A comes back on its address: bob stays on B, which still serves him.
		a.restart()
		say(bob, "bob", "still on b", alice)

		// B dies: bob goes back to A.
		b.kill()
		expect(bob, client(`connection to `+regexp.QuoteMeta(b.srv.Addr)+` lost: [^;\n]+; reconnecting in \d+ms`))
		arrivesAt(bob, a.srv.Addr)
		alice = witness(a)
		expect(bob, server(`alice entered lounge`))
		say(bob, "bob", "hello from a again", alice)
	})

	It("goes to the second server at once when the first refuses connections at start [I17.3]", func() {
		a.kill() // its address now refuses connections
		bob := failoverClient(a.srv.Addr, b.srv.Addr)
		m := expect(bob, client(`cannot connect to `+regexp.QuoteMeta(a.srv.Addr)+`: ([^;\n]+); trying `+regexp.QuoteMeta(b.srv.Addr)+`\n`))
		Expect(m[1]).To(Equal("connection refused"))
		awaitConnected(bob, b.srv.Addr)
		Expect(bob.Output()).NotTo(MatchRegexp(`retrying in`), "it paused before trying the second server")
		login(bob, "bob")
		createRoom(bob, "lounge")
		alice := witness(b)
		say(bob, "bob", "made it to b", alice)
	})
}

// nodeCert makes a self-signed certificate for a server of its own.
func nodeCert() *harness.Cert {
	GinkgoHelper()
	cert, err := harness.WriteCert(GinkgoT().TempDir(), "localhost", "127.0.0.1")
	Expect(err).NotTo(HaveOccurred())
	return &cert
}

// arrivesAt waits for a client's reports of its automatic return on
// another server, at addr: connected, logged in again without a password
// prompt, back in lounge, which that server did not have.
func arrivesAt(t *harness.Terminal, addr string) {
	GinkgoHelper()
	m := expect(t, client(`reconnected to `+regexp.QuoteMeta(addr)+`\n((?s:.*?))! `+ts+` back in lounge\n`))
	Expect(m[1]).To(MatchRegexp(client(`logged in as bob again\n`)))
	Expect(m[1]).To(MatchRegexp(client(`lounge was gone from the server: created it again\n`)))
	Expect(m[1]).NotTo(ContainSubstring("Password:"), "the client asked for the password again")
}
