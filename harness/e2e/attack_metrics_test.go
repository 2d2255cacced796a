package e2e_test

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
	"chat/internal/wire"
)

// Server memory and a well-behaved client's latency during an attack
// (docs/RELIABILITY.md). Memory is the server process's resident set from
// /proc; latency is the time from alice writing a Say to bob reading it.
// Latency is recorded, never bounded: the specs run on loaded machines.
// Memory gets a generous bound that only unbounded growth would pass.

// attackMemoryBound is the most the server's resident memory may grow
// during an attack. Each attack the server bounds costs it far less (a
// 1 MiB output queue, a 512 KiB frame, a few KiB per idle connection);
// growth without bound passes it within seconds. The resident memory
// before includes the Argon2id memory of the pair's password checks
// (19 MiB each), which the Go runtime keeps and reuses: growth smaller than
// that slack may not show at all.
const attackMemoryBound = 64 << 20

// serverMemory is a process's resident set (VmRSS) and its peak (VmHWM),
// in bytes.
type serverMemory struct{ rss, hwm int64 }

func (m serverMemory) String() string {
	return fmt.Sprintf("RSS %s (peak %s)", mib(m.rss), mib(m.hwm))
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// readServerMemory reads srv's VmRSS and VmHWM from /proc/PID/status. ok is
// false where there is no /proc (not Linux).
func readServerMemory(srv *harness.Server) (m serverMemory, ok bool) {
	GinkgoHelper()
	if runtime.GOOS != "linux" {
		return m, false
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", srv.Pid()))
	Expect(err).NotTo(HaveOccurred(), "the server is gone")
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, found := strings.Cut(sc.Text(), ":")
		if !found || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		fields := strings.Fields(val) // "12345 kB"
		Expect(fields).To(HaveLen(2), "%s:%s", key, val)
		Expect(fields[1]).To(Equal("kB"))
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		Expect(err).NotTo(HaveOccurred())
		if key == "VmRSS" {
			m.rss = kb << 10
		} else {
			m.hwm = kb << 10
		}
	}
	Expect(sc.Err()).NotTo(HaveOccurred())
	Expect(m.rss).To(BeNumerically(">", 0), "no VmRSS in /proc/%d/status", srv.Pid())
	return m, true
}

// latencies is a set of delivery times.
type latencies []time.Duration

// String gives the count, median and maximum.
func (l latencies) String() string {
	if len(l) == 0 {
		return "no messages"
	}
	s := slices.Clone(l)
	slices.Sort(s)
	return fmt.Sprintf("%d messages, median %v, max %v", len(s), s[len(s)/2].Round(10*time.Microsecond), s[len(s)-1].Round(10*time.Microsecond))
}

// attackMetrics measures one attack: the server's memory before it, and
// the latencies the spec records meanwhile.
type attackMetrics struct {
	name   string
	srv    *harness.Server
	before serverMemory
	ok     bool
	lat    latencies
}

// measureAttack reads the server's memory before the attack called name.
func measureAttack(srv *harness.Server, name string) *attackMetrics {
	GinkgoHelper()
	m := &attackMetrics{name: name, srv: srv}
	m.before, m.ok = readServerMemory(srv)
	return m
}

// record adds latencies seen by a well-behaved client during the attack.
func (m *attackMetrics) record(l ...time.Duration) { m.lat = append(m.lat, l...) }

// done reads the server's memory after the attack, reports both figures
// (GinkgoWriter and a report entry, for docs/RELIABILITY.md) and fails if
// the memory grew by attackMemoryBound or more during the attack (to a new
// peak, or to the resident memory after it). Call it once the attack is over and before the server is
// stopped.
func (m *attackMetrics) done() {
	GinkgoHelper()
	line := fmt.Sprintf("attack %q: latency alice to bob: %v", m.name, m.lat)
	if !m.ok {
		GinkgoWriter.Println(line + "; server memory: not measured (no /proc)")
		AddReportEntry("attack metrics", line)
		return
	}
	after, _ := readServerMemory(m.srv)
	// A new peak was reached during the attack: it grew by that much
	// over the memory before. Otherwise its peak is unknown (no higher
	// than one reached earlier, password checks' for instance): take
	// the memory after.
	growth := after.rss - m.before.rss
	if after.hwm > m.before.hwm {
		growth = after.hwm - m.before.rss
	}
	line += fmt.Sprintf("; server memory: before %v, after %v, growth %s", m.before, after, mib(growth))
	GinkgoWriter.Println(line)
	AddReportEntry("attack metrics", line)
	Expect(growth).To(BeNumerically("<", attackMemoryBound),
		"the server's memory grew by %s during %q: unbounded?", mib(growth), m.name)
}

// probe has alice say n messages one at a time and measures how long each
// takes to reach bob, who must get them all, in order. Other frames bob
// reads on the way (an attacker's messages, notices) are put back in his
// Events, in order, for the spec to read; alice's replies are read after
// bob got the message, so her other frames stay in her Events too. attack(i)
// runs after message i was said.
func (p *hostilePair) probe(n int, tag string, attack func(i int)) latencies {
	GinkgoHelper()
	var kept []wire.Frame
	defer func() { p.bob.Events = append(kept, p.bob.Events...) }()
	lat := make(latencies, 0, n)
	for i := range n {
		text := fmt.Sprintf("alice %s %d", tag, i)
		sent := time.Now()
		id, err := p.alice.Request(&wire.Frame{Type: wire.TypeSay, Text: text})
		Expect(err).NotTo(HaveOccurred())
		for {
			f, err := p.bob.NextEvent(deadline)
			Expect(err).NotTo(HaveOccurred(), "bob waiting for %q", text)
			if f.Type == wire.TypeMessage && f.From == "alice" {
				lat = append(lat, time.Since(sent))
				Expect(f.Text).To(Equal(text), "a message was lost or reordered")
				break
			}
			kept = append(kept, *f)
		}
		r, err := p.alice.Reply(id, deadline)
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Code).To(Equal(wire.OK), r.Text)
		if attack != nil {
			attack(i)
		}
	}
	return lat
}
