package e2e_test

import (
	"os"
	"path/filepath"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

var _ = Describe("A server restart", func() {
	for _, overTLS := range []bool{false, true} {
		Context(overName(overTLS)+", messages in the embedded store", func() { restartSpecs(overTLS, false) })
	}
	Context("in plain TCP, messages in memory", func() { restartSpecs(false, true) })
})

// restartSpecs are the specs of "A server restart", over TLS or not, the
// server keeping its messages in its embedded store or in memory only.
func restartSpecs(overTLS, inMemory bool) {
	var (
		r          *rig
		alice, bob *harness.Terminal
	)

	// Both clients only know the proxy's address; the restarted server
	// listens on a new port behind it.
	BeforeEach(func() {
		var args []string
		if inMemory {
			args = storeMemory
		}
		r = startRigOver(overTLS, args...)
		alice, bob = r.client(), r.client()
		inRoom("lounge", []string{"alice", "bob"}, alice, bob)
		say(alice, "alice", "before the restart", bob)
		// The sender is shown nothing for her own message, but the answer
		// to her next request comes after the message's: once it shows,
		// her client knows the message's number, which the counts of
		// missed messages after the restart depend on (cut before that,
		// she rightly counts her own message as missed too).
		send(alice, "who")
		expect(alice, server(`\d+ users? connected`))
	})

	// Both clients reconnect to the same room, which the restarted server
	// kept; they talk again.
	bothBack := func() {
		GinkgoHelper()
		for _, c := range []struct {
			t    *harness.Terminal
			name string
		}{{alice, "alice"}, {bob, "bob"}} {
			shown := backIn(c.t, c.name, "lounge")
			Expect(shown).NotTo(ContainSubstring("created it again"), "%s's room was not kept", c.name)
		}
		say(bob, "bob", "after the restart", alice)
		say(alice, "alice", "still here", bob)
	}

	It("after SIGTERM and a longer downtime: clients keep retrying, then log in again and re-enter the kept room [S0.6 S0.7]", func() {
		marks := map[*harness.Terminal]int{alice: len(alice.Output()), bob: len(bob.Output())}
		r.stop(syscall.SIGTERM)
		for _, t := range []*harness.Terminal{alice, bob} {
			expect(t, server(`the server is shutting down`))
			expect(t, client(`connection to 127\.0\.0\.1:\d+ lost: the server said: the server is shutting down; reconnecting in \d+ms`))
			// Down for several backoff steps. The proxy accepts each
			// attempt and resets it (no server behind it): a failed
			// attempt, never "reconnected" and then "lost".
			for range 3 {
				expect(t, client(`cannot connect to 127\.0\.0\.1:\d+: [^;\n]+; retrying in \d+ms`))
			}
			down := t.Output()[marks[t]:]
			Expect(down).NotTo(ContainSubstring("reconnected to"))
			Expect(count(down, ` lost: `)).To(Equal(1), "%s", down)
		}
		r.start()
		bothBack()
		// A graceful stop recorded exact sequence numbers: nobody missed
		// anything, so nothing is reported missed.
		for _, t := range []*harness.Terminal{alice, bob} {
			Expect(t.Contains(`missed while disconnected`)).To(BeFalse(), "a loss was reported:\n%s", t.Output())
		}
	})

	It("after kill -9: clients log in again and re-enter the kept room, and no loss count is made up [S0.6 S0.7 I16.2]", func() {
		// Without a store a crash loses what the writer had not yet put on
		// disk: the spec is about rooms that were saved.
		r.roomsSaved("lounge")
		r.stop(syscall.SIGKILL)
		for _, t := range []*harness.Terminal{alice, bob} {
			expect(t, client(`connection to 127\.0\.0\.1:\d+ lost: [^;\n]+; reconnecting in \d+ms`))
		}
		r.start()
		bothBack()
		for _, t := range []*harness.Terminal{alice, bob} {
			if inMemory {
				// After a crash the server cannot know what was said after
				// its last save: it says so rather than invent a number
				// (its numbers jumped past every one it could have used).
				shows(t, client(`missed while disconnected: 0 messages from lounge; the server restarted and keeps no messages from before it\n`))
			} else {
				// The store knows the room's last message: nobody missed
				// anything, so nothing is reported missed or gone.
				Expect(t.Contains(`missed while disconnected|restarted`)).To(BeFalse(), "%s", t.Output())
			}
			Expect(t.Output()).NotTo(MatchRegexp(`\d+ older messages? (is|are) no longer kept`))
			Expect(count(t.Output(), `before the restart\n`)).To(BeNumerically("<=", 1))
		}
	})

	It("tells a client away across the restart exactly what was said before it, or how many messages [S0.6 S0.7 I16.2]", func() {
		r.proxy.SetRefuse(true)
		r.proxy.Cut(harness.CutReset) // both are cut and kept out
		for _, t := range []*harness.Terminal{alice, bob} {
			expect(t, client(retryReport))
		}
		carol := r.direct()
		login(carol, "carol")
		enterRoom(carol, "lounge")
		say(carol, "carol", "gone with the restart 1")
		say(carol, "carol", "gone with the restart 2")
		send(carol, "who")
		expect(carol, server(`\d+ users? connected`))
		if inMemory {
			r.restart(syscall.SIGTERM)
		} else {
			// What the store acknowledged survives even a crash.
			r.restart(syscall.SIGKILL)
		}
		r.proxy.SetRefuse(false)
		for _, c := range []struct {
			t    *harness.Terminal
			name string
		}{{alice, "alice"}, {bob, "bob"}} {
			backIn(c.t, c.name, "lounge")
			if inMemory {
				expect(c.t, client(`missed while disconnected: 0 messages from lounge; 2 older messages are no longer kept \(the server restarted\)`))
				continue
			}
			// Each missed message once, in order, marked as missed.
			expect(c.t, `carol \d\d:\d\d:\d\d \(missed\) gone with the restart 1\ncarol \d\d:\d\d:\d\d \(missed\) gone with the restart 2\n`)
			expect(c.t, client(`missed while disconnected: 2 messages from lounge \(shown above\)`))
			Expect(count(c.t.Output(), `gone with the restart 1\n`)).To(Equal(1))
			// history more goes back from the oldest message missed.
			send(c.t, "history more")
			expect(c.t, `│ alice \d\d:\d\d:\d\d before the restart\n`)
			expect(c.t, server(`end of history: that is the first message of lounge`))
		}
		say(bob, "bob", "after the restart", alice)
	})
}

var _ = Describe("The server's state directory", func() {
	It("is refused when the room list is corrupt: the server names the file and exits 1 [S0.6 S0.7]", func() {
		dir := GinkgoT().TempDir()
		users := filepath.Join(dir, "users.db")
		Expect(harness.WriteUsers(binDir(), users, nil)).To(Succeed())
		state := filepath.Join(dir, "state")
		Expect(os.Mkdir(state, 0o700)).To(Succeed())
		file := filepath.Join(state, "rooms.json")
		Expect(os.WriteFile(file, []byte(`{"version": 1, "rooms": [{"name": "lou`), 0o600)).To(Succeed())

		code, stdout, stderr, err := harness.RunServer(5*time.Second, "-addr", "127.0.0.1:0", "-users", users, "-state", state)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(1))
		Expect(stdout).NotTo(ContainSubstring("listening"))
		Expect(stderr).To(ContainSubstring("chat-server: corrupt state file " + file))
		data, err := os.ReadFile(file)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(data)).To(HavePrefix(`{"version": 1, "rooms"`), "the corrupt file was overwritten")
	})
})
