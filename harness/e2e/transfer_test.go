package e2e_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

// File transfer between real clients through the real server's relay
// (docs/PROTOCOL.md, "File transfer"): mode rooms with get OWNER FILE,
// each client serving its own directory (-share) and storing what it gets
// in it (-download).

// transferDeadline bounds one transfer of a few megabytes; bigDeadline the
// 200 MiB one on a slow machine.
const (
	transferDeadline = 20 * time.Second
	bigDeadline      = 90 * time.Second
)

// fileUser is a client in mode rooms logged in as name, in room lounge,
// sharing and storing files in dir.
type fileUser struct {
	name string
	dir  string
	term *harness.Terminal
}

// startFileUser starts a rooms client for name with its own directory,
// connected to addr, logs it in and enters lounge (creating it when create).
func startFileUser(addr, name string, create bool) *fileUser {
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
	if create {
		createRoom(term, "lounge")
	} else {
		enterRoom(term, "lounge")
	}
	return &fileUser{name: name, dir: dir, term: term}
}

func (u *fileUser) path(name string) string { return filepath.Join(u.dir, name) }

// writeFile writes data to name in dir and returns its SHA-256.
func writeFile(dir, name string, data []byte) string {
	GinkgoHelper()
	Expect(os.WriteFile(filepath.Join(dir, name), data, 0o644)).To(Succeed())
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// writeRandomFile writes size bytes of a seeded pseudo-random stream to
// name in dir, hashing as it writes, and returns the SHA-256.
func writeRandomFile(dir, name string, size int64, seed uint64) string {
	GinkgoHelper()
	f, err := os.Create(filepath.Join(dir, name))
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	_, err = io.Copy(w, io.LimitReader(rand.NewChaCha8(key), size))
	Expect(err).NotTo(HaveOccurred())
	Expect(w.Flush()).To(Succeed())
	return hex.EncodeToString(h.Sum(nil))
}

// fileSum returns the SHA-256 of a file.
func fileSum(path string) string {
	GinkgoHelper()
	f, err := os.Open(path)
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	Expect(err).NotTo(HaveOccurred())
	return hex.EncodeToString(h.Sum(nil))
}

// dirNames lists a directory, sorted.
func dirNames(dir string) []string {
	GinkgoHelper()
	entries, err := os.ReadDir(dir)
	Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// got waits for the requester's line that file arrived from owner, of the
// given size text.
func got(u *fileUser, file, owner, size string, within time.Duration) {
	GinkgoHelper()
	expectWithin(u.term, client(regexp.QuoteMeta(fmt.Sprintf("received %s from %s (%s, sha256 ok)", file, owner, size))), within)
}

// printed waits until u's terminal has printed the client's line text
// anywhere, before the cursor of Expect or after it.
func printed(u *fileUser, text string, within time.Duration) {
	GinkgoHelper()
	re := client(regexp.QuoteMeta(text))
	Expect(u.term.WaitUntil(func() bool { return u.term.Contains(re) }, within)).To(Succeed(), "never printed %q; tail:\n%s", text, u.term.Tail(2000))
}

var _ = Describe("File transfer", func() {
	var srv *harness.Server
	var alice, bob *fileUser

	BeforeEach(func() {
		srv = startServer(accounts, "-guests")
		alice = startFileUser(srv.Addr, "alice", true)
		bob = startFileUser(srv.Addr, "bob", false)
	})

	It("moves an empty file, a 1-byte file and every byte value exactly [S2.7 S2.8 S2.9 S2.12]", func() {
		every := make([]byte, 256*64)
		for i := range every {
			every[i] = byte(i)
		}
		files := []struct {
			name string
			data []byte
			size string
		}{
			{"empty.bin", nil, "0 bytes"},
			{"one.bin", []byte{0x00}, "1 byte"},
			{"every byte.bin", every, "16 KiB"},
		}
		for _, f := range files {
			sum := writeFile(bob.dir, f.name, f.data)
			send(alice.term, "get bob "+f.name)
			got(alice, f.name, "bob", f.size, transferDeadline)
			expect(bob.term, client(regexp.QuoteMeta("sent "+f.name+" to alice ("+f.size+")")))
			Expect(fileSum(alice.path(f.name))).To(Equal(sum), f.name)
		}
		Expect(dirNames(alice.dir)).To(Equal([]string{"empty.bin", "every byte.bin", "one.bin"}))
	})

	It("moves a 200 MiB file byte for byte, with progress, without holding it in memory [S2.7 S2.12]", func() {
		const size = 200 << 20
		start := time.Now()
		sum := writeRandomFile(bob.dir, "big.bin", size, 7)
		made := time.Since(start)
		start = time.Now()
		send(alice.term, "get bob big.bin")
		expect(alice.term, client(regexp.QuoteMeta("receiving big.bin from bob (200 MiB)")))
		got(alice, "big.bin", "bob", "200 MiB", bigDeadline)
		took := time.Since(start)
		Expect(fileSum(alice.path("big.bin"))).To(Equal(sum))
		fmt.Fprintf(GinkgoWriter, "200 MiB: generated in %v, transferred in %v\n", made, took)
		Expect(dirNames(alice.dir)).To(Equal([]string{"big.bin"}))
	})

	It("runs several transfers at once in both directions while both users chat [S2.8 S2.11]", func() {
		sums := map[string]string{}
		for i := range 3 {
			name := fmt.Sprintf("from-bob-%d.bin", i)
			sums[name] = writeRandomFile(bob.dir, name, 8<<20+int64(i), uint64(10+i))
			name = fmt.Sprintf("from-alice-%d.bin", i)
			sums[name] = writeRandomFile(alice.dir, name, 8<<20+int64(i), uint64(20+i))
		}
		for i := range 3 {
			send(alice.term, fmt.Sprintf("get bob from-bob-%d.bin", i))
			send(bob.term, fmt.Sprintf("get alice from-alice-%d.bin", i))
		}
		for i := range 5 {
			say(alice.term, "alice", fmt.Sprintf("still here %d", i), bob.term)
			say(bob.term, "bob", fmt.Sprintf("me too %d", i), alice.term)
		}
		// The chat above may have moved the terminals' cursors past these
		// lines: look at everything printed.
		for i := range 3 {
			printed(alice, fmt.Sprintf("received from-bob-%d.bin from bob (8 MiB, sha256 ok)", i), transferDeadline)
			printed(bob, fmt.Sprintf("received from-alice-%d.bin from alice (8 MiB, sha256 ok)", i), transferDeadline)
		}
		for name, sum := range sums {
			Expect(fileSum(alice.path(name))).To(Equal(sum), name)
			Expect(fileSum(bob.path(name))).To(Equal(sum), name)
		}
		say(alice.term, "alice", "all done", bob.term)
	})

	It("tells the requester that a file does not exist, and the owner goes on [S2.10]", func() {
		send(alice.term, "get bob nothing.txt")
		expect(alice.term, client(regexp.QuoteMeta("could not get nothing.txt from bob: bob has no file named nothing.txt")))
		expect(bob.term, client(regexp.QuoteMeta("refused alice's request for nothing.txt: bob has no file named nothing.txt")))
		Expect(dirNames(alice.dir)).To(BeEmpty())
		say(bob.term, "bob", "still here", alice.term)
		writeFile(bob.dir, "later.txt", []byte("later"))
		send(alice.term, "get bob later.txt")
		got(alice, "later.txt", "bob", "5 bytes", transferDeadline)
	})

	It("serves nothing outside the owner's directory: ../x, /etc/passwd, a symlink out [S2.16]", func() {
		outside := filepath.Dir(bob.dir)
		writeFile(outside, "secret.txt", []byte("secret"))
		DeferCleanup(os.Remove, filepath.Join(outside, "secret.txt"))
		Expect(os.Symlink(filepath.Join(outside, "secret.txt"), bob.path("link.txt"))).To(Succeed())
		Expect(os.Symlink("/dev/null", bob.path("null"))).To(Succeed())
		Expect(os.Mkdir(bob.path("docs"), 0o755)).To(Succeed())
		for _, c := range []struct{ name, why string }{
			{"../secret.txt", "../secret.txt has a .. in it: only files in bob's shared directory are served"},
			{"/etc/passwd", "/etc/passwd is an absolute path: only files in bob's shared directory are served"},
			{"link.txt", "link.txt leads outside bob's shared directory, so it is not served"},
			{"null", "null leads outside bob's shared directory, so it is not served"},
			{"docs", "docs is a directory, not a file"},
			{"docs/", ""},
			{"docs/../link.txt", "docs/../link.txt has a .. in it"},
		} {
			send(alice.term, "get bob "+c.name)
			if c.why == "" {
				// Refused by the requester itself: no file name at the end.
				expect(alice.term, client(regexp.QuoteMeta("no file requested: "+c.name+" does not end in a file name")))
				continue
			}
			expect(alice.term, client(regexp.QuoteMeta("could not get "+c.name+" from bob: "+c.why)))
			expect(bob.term, client(regexp.QuoteMeta("refused alice's request for "+c.name+": "+c.why)))
		}
		Expect(dirNames(alice.dir)).To(BeEmpty())
		say(alice.term, "alice", "ok", bob.term)
	})

	It("keeps an existing file and saves the new one under another name [S2.12]", func() {
		writeFile(alice.dir, "notes.txt", []byte("alice's own notes"))
		sum := writeFile(bob.dir, "notes.txt", []byte("bob's notes"))
		send(alice.term, "get bob notes.txt")
		expect(alice.term, client(regexp.QuoteMeta("received notes.txt from bob (11 bytes, sha256 ok); notes.txt exists already, so it was saved as notes (1).txt")))
		b, err := os.ReadFile(alice.path("notes.txt"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(b)).To(Equal("alice's own notes"))
		Expect(fileSum(alice.path("notes (1).txt"))).To(Equal(sum))
	})
})

var _ = Describe("File transfer from an owner that goes away", func() {
	It("removes the partial file and tells the requester; the others carry on [S2.10 S2.12 S2.13]", func() {
		srv := startServer(accounts, "-guests")
		// The owner's connections (chat and data) go through a throttled
		// proxy, so that the transfer is surely under way when it dies.
		proxy, err := harness.StartProxy(srv.Addr)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(proxy.Close)
		proxy.SetThrottle(1 << 20)
		alice := startFileUser(srv.Addr, "alice", true)
		bob := startFileUser(proxy.Addr(), "bob", false)
		carol := startFileUser(srv.Addr, "carol", false)
		writeRandomFile(bob.dir, "big.bin", 16<<20, 3)

		send(alice.term, "get bob big.bin")
		expect(alice.term, client(regexp.QuoteMeta("receiving big.bin from bob (16 MiB)")))
		Expect(bob.term.Signal(syscall.SIGKILL)).To(Succeed())
		_, err = bob.term.Wait(deadline)
		Expect(err).NotTo(HaveOccurred())

		m := expect(alice.term, client(`could not get big\.bin from bob: ([^\n]*)\n`))
		Expect(m[1]).To(HaveSuffix("; the partial file was removed"))
		fmt.Fprintf(GinkgoWriter, "the requester was told: %s", m[0])
		Expect(dirNames(alice.dir)).To(BeEmpty())
		say(alice.term, "alice", "bob is gone", carol.term)
		writeFile(carol.dir, "c.txt", []byte("carol"))
		send(alice.term, "get carol c.txt")
		got(alice, "c.txt", "carol", "5 bytes", transferDeadline)
	})
})
