package e2e_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
	"chat/internal/wire"
)

// File transfer between users of two nodes of a chat cluster
// (docs/DESIGN.md, "Cluster"): each client attaches its data connection
// to its own node, and the owner's node sends the bytes to the
// requester's over NATS, with flow control. The clients are the real
// ones, in mode rooms, as in transfer_test.go; the nodes are real
// chat-server processes of a harness.ChatCluster.

// startNodeFileUser starts a rooms client for name (of accounts) at addr,
// with its own directory to share and store files, and logs it in; it
// enters no room: a transfer needs none.
func startNodeFileUser(addr, name string) *fileUser {
	GinkgoHelper()
	dir := GinkgoT().TempDir()
	term, err := harness.StartTerminal(filepath.Join(binDir(), harness.ClientBinary), "-share", dir, "-download", dir, addr)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		if CurrentSpecReport().Failed() {
			AddReportEntry("client screen ("+name+")", term.Tail(3000))
		}
		term.Close()
	})
	expect(term, `> `)
	login(term, name)
	return &fileUser{name: name, dir: dir, term: term}
}

// awaitUser waits until node addr knows name, logged in on another node:
// a node learns the others' users from the names bucket a moment later,
// and a Fetch before that is refused as for nobody.
func awaitUser(addr, name string) {
	GinkgoHelper()
	// A guest name of its own (one let go is free only a moment later),
	// closed when the spec ends.
	watch := claimGuest(addr, "seek-"+name)
	Eventually(func() ([]string, error) {
		r, err := watch.Call(&wire.Frame{Type: wire.TypeWho}, deadline)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, u := range r.Users {
			names = append(names, u.Name)
		}
		return names, nil
	}).WithTimeout(deadline).WithPolling(20*time.Millisecond).Should(ContainElement(name), "the users %s knows", addr)
}

var _ = Describe("File transfer between nodes", Label("cluster"), func() {
	var cc *harness.ChatCluster

	BeforeEach(func() {
		var err error
		cc, err = harness.StartChatCluster(harness.ChatClusterOptions{Servers: 2, Users: accounts,
			Args: []string{"-guests", "-shutdown-timeout", "1s"}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() {
			if CurrentSpecReport().Failed() {
				AddReportEntry("chat cluster output", cc.Output())
			}
			Expect(cc.Stop()).To(Succeed())
		})
	})

	It("moves a file from an owner on one node to a requester on another, byte for byte, and a refusal's reason back [I17.7 S2.8 S2.10 S2.12]", func() {
		alice := startNodeFileUser(cc.Addr(0), "alice")
		bob := startNodeFileUser(cc.Addr(1), "bob")
		awaitUser(cc.Addr(0), "bob")
		sum := writeRandomFile(bob.dir, "big.bin", 48<<20, 17)
		start := time.Now()
		send(alice.term, "get bob big.bin")
		expect(alice.term, client(regexp.QuoteMeta("receiving big.bin from bob (48 MiB)")))
		got(alice, "big.bin", "bob", "48 MiB", bigDeadline)
		fmt.Fprintf(GinkgoWriter, "48 MiB between nodes in %v\n", time.Since(start))
		expect(bob.term, client(regexp.QuoteMeta("sent big.bin to alice (48 MiB)")))
		Expect(fileSum(alice.path("big.bin"))).To(Equal(sum))

		send(alice.term, "get bob nothing.txt")
		expect(alice.term, client(regexp.QuoteMeta("could not get nothing.txt from bob: bob has no file named nothing.txt")))
		expect(bob.term, client(regexp.QuoteMeta("refused alice's request for nothing.txt: bob has no file named nothing.txt")))
		Expect(dirNames(alice.dir)).To(Equal([]string{"big.bin"}))

		// And the other way round, at the same time as one more from bob.
		sumA := writeRandomFile(alice.dir, "a.bin", 8<<20, 18)
		sumB := writeRandomFile(bob.dir, "b.bin", 8<<20, 19)
		awaitUser(cc.Addr(1), "alice")
		send(bob.term, "get alice a.bin")
		send(alice.term, "get bob b.bin")
		printed(bob, "received a.bin from alice (8 MiB, sha256 ok)", transferDeadline)
		printed(alice, "received b.bin from bob (8 MiB, sha256 ok)", transferDeadline)
		Expect(fileSum(bob.path("a.bin"))).To(Equal(sumA))
		Expect(fileSum(alice.path("b.bin"))).To(Equal(sumB))
	})

	It("tells the requester that the owner's node stopped answering mid-transfer and removes the partial file [I17.7 S2.12 S2.13]", func() {
		// The owner's connections (chat and data) go through a throttled
		// proxy, so that the transfer is surely under way when its node
		// stops.
		proxy, err := harness.StartProxy(cc.Addr(1))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(proxy.Close)
		proxy.SetThrottle(1 << 20)
		alice := startNodeFileUser(cc.Addr(0), "alice")
		bob := startNodeFileUser(proxy.Addr(), "bob")
		awaitUser(cc.Addr(0), "bob")
		writeRandomFile(bob.dir, "big.bin", 16<<20, 21)

		send(alice.term, "get bob big.bin")
		expect(alice.term, client(regexp.QuoteMeta("receiving big.bin from bob (16 MiB)")))
		// The owner's node freezes, as a machine that hangs: it says
		// nothing more, to anyone.
		pid := cc.Server(1).Pid()
		Expect(syscall.Kill(pid, syscall.SIGSTOP)).To(Succeed())
		DeferCleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
		stopped := time.Now()

		m := expectWithin(alice.term, client(`could not get big\.bin from bob: ([^\n]*)\n`), 3*deadline)
		Expect(m[1]).To(HavePrefix("the transfer of big.bin broke off: bob's server stopped answering"))
		Expect(m[1]).To(HaveSuffix("; the partial file was removed"))
		fmt.Fprintf(GinkgoWriter, "%v after the owner's node stopped, the requester was told: %s", time.Since(stopped), m[0])
		Expect(dirNames(alice.dir)).To(BeEmpty())
	})
})
