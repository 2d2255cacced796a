package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// S0.23 asks for poll(2) in both programs. The kernel says where each thread
// of a process is blocked (/proc/PID/task/TID/wchan): a thread waiting in
// poll(2) or ppoll(2) sleeps in poll_schedule_timeout (do_sys_poll on some
// kernels), while Go's own network poller sleeps in do_epoll_wait. An idle
// server and an idle client must each have a thread asleep in poll(2).
var _ = Describe("Waiting for input", func() {
	It("happens in poll(2), in the server for all clients and in the client for keyboard and socket [S0.23 S0.24]", func() {
		srv := startServer(accounts)
		alice := loginClient(srv, "alice")
		bob := loginClient(srv, "bob")
		createRoom(alice, "lounge")
		enterRoom(bob, "lounge")
		say(alice, "alice", "are you polling?", bob)

		for _, p := range []struct {
			what string
			pid  int
		}{{"server", srv.Pid()}, {"alice's client", alice.Pid()}, {"bob's client", bob.Pid()}} {
			Eventually(func() []string { return threadWaits(p.pid) }, deadline).
				Should(ContainElement(MatchRegexp(`^(poll_schedule_timeout|do_sys_poll)`)), "no thread of the %s (pid %d) waits in poll(2)", p.what, p.pid)
		}
		// The idle client still answers the keyboard and the socket at once.
		say(bob, "bob", "yes", alice)
	})
})

// threadWaits lists the kernel function each thread of pid sleeps in.
func threadWaits(pid int) []string {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", pid))
	Expect(err).NotTo(HaveOccurred())
	var waits []string
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err == nil {
			waits = append(waits, strings.TrimSpace(string(b)))
		}
	}
	return waits
}
