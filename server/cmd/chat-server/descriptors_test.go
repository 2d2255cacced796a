package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"chat/internal/wire"
)

// TestBinaryOutOfDescriptorsPairKeepsTalking runs the server with a low
// descriptor limit, logs a well-behaved pair (alice and bob) into a room,
// then opens more connections than the limit allows. While the server has
// no descriptor left (it said it paused accepting, and /proc shows every
// descriptor in use), alice says messages one at a time and bob must get
// every one, in order; then descriptors are freed, the waiting connections
// are served, and the pair goes on. The latency of alice's messages to bob
// and the server's resident memory are logged (docs/RELIABILITY.md), not
// bounded, except memory by a margin only unbounded growth would pass.
func TestBinaryOutOfDescriptorsPairKeepsTalking(t *testing.T) {
	bin := buildBinary(t)
	const limit = 32
	cmd := exec.Command("sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, limit), bin, "-demo", "-addr", "127.0.0.1:0", "-tls-addr", "")
	errs := captureStderr(t, cmd)
	addr, before := startBinary(t, cmd)
	m := regexp.MustCompile(`(?m)demo accounts \(passwords shown once\): alice (\S{12}), bob (\S{12})$`).FindStringSubmatch(strings.Join(before, "\n"))
	if m == nil {
		t.Fatalf("demo line: %q", before)
	}
	pid := cmd.Process.Pid

	alice := dialPeer(t, addr, "alice", m[1])
	bob := dialPeer(t, addr, "bob", m[2])
	alice.callOK(t, &wire.Frame{Type: wire.TypeCreate, Room: "lounge"})
	alice.callOK(t, &wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	bob.callOK(t, &wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	talk := func(n int, tag string) []time.Duration {
		t.Helper()
		lat := make([]time.Duration, 0, n)
		for i := range n {
			text := fmt.Sprintf("%s %d", tag, i)
			sent := time.Now()
			id := alice.request(t, &wire.Frame{Type: wire.TypeSay, Text: text})
			for {
				f := readFrame(t, bob.c, bob.d)
				if f.Type == wire.TypeMessage && f.From == "alice" {
					lat = append(lat, time.Since(sent))
					if f.Text != text {
						t.Fatalf("bob got %q, want %q: a message was lost or reordered", f.Text, text)
					}
					break
				}
			}
			if r := alice.reply(t, id); r.Code != wire.OK {
				t.Fatalf("say %q: %+v", text, r)
			}
		}
		return lat
	}
	talk(10, "before")
	rss0 := residentMemory(t, pid)

	// More connections than descriptors: those past the limit wait in the
	// kernel's backlog.
	var idle []net.Conn
	for i := 0; i < limit+8; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(wire.Encode(&wire.Frame{Type: wire.TypeHello, ID: 1, Version: wire.Version})); err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	errs.waitLine(t, "pausing new connections until descriptors are free")
	if n := openDescriptors(t, pid, limit); n != limit {
		t.Fatalf("the server has %d descriptors open, want all %d", n, limit)
	}
	during := talk(50, "at the limit")
	if n := openDescriptors(t, pid, limit); n != limit {
		t.Fatalf("the server had %d descriptors open after the messages, want all %d still", n, limit)
	}
	rss1 := residentMemory(t, pid)
	t.Logf("out of descriptors: latency alice to bob: %s; server memory: RSS %.1f MiB before, %.1f MiB at the limit",
		latencySummary(during), float64(rss0)/(1<<20), float64(rss1)/(1<<20))
	if rss1-rss0 >= 64<<20 {
		t.Fatalf("server memory grew from %d to %d bytes at the descriptor limit", rss0, rss1)
	}

	// Free descriptors: every connection still open is served, and the
	// pair goes on.
	keep := idle[limit-2:] // more than were accepted before the limit: some waited
	for _, c := range idle[:limit-2] {
		c.Close()
	}
	for _, c := range keep {
		if f := readFrame(t, c, &wire.Decoder{}); f.Type != wire.TypeReply || f.Code != wire.OK {
			t.Fatalf("hello: %+v", f)
		}
	}
	talk(10, "after the limit")
	for _, c := range keep {
		c.Close()
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

// peer is a logged-in raw connection whose events are kept while waiting for
// replies.
type peer struct {
	c  net.Conn
	d  *wire.Decoder
	id uint32
}

func dialPeer(t *testing.T, addr, name, password string) *peer {
	t.Helper()
	c, d := rawLogin(t, addr, name, password)
	return &peer{c: c, d: d, id: 10}
}

func (p *peer) request(t *testing.T, f *wire.Frame) uint32 {
	t.Helper()
	p.id++
	f.ID = p.id
	if _, err := p.c.Write(wire.Encode(f)); err != nil {
		t.Fatal(err)
	}
	return p.id
}

// reply reads until the Reply to id, skipping events (the pair's notices).
func (p *peer) reply(t *testing.T, id uint32) *wire.Frame {
	t.Helper()
	for {
		f := readFrame(t, p.c, p.d)
		if f.Type != wire.TypeReply {
			continue
		}
		if f.ID != id {
			t.Fatalf("reply to %d while waiting for %d: %+v", f.ID, id, f)
		}
		return f
	}
}

func (p *peer) callOK(t *testing.T, f *wire.Frame) {
	t.Helper()
	if r := p.reply(t, p.request(t, f)); r.Code != wire.OK {
		t.Fatalf("%v: %+v", f.Type, r)
	}
}

// openDescriptors counts the descriptors process pid has open under limit
// (one inherited above it, from before the limit was set, does not count).
func openDescriptors(t *testing.T, pid, limit int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	n := 0
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd < limit {
			n++
		}
	}
	return n
}

// residentMemory reads process pid's VmRSS in bytes.
func residentMemory(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				t.Fatalf("VmRSS: %q", line)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

func latencySummary(l []time.Duration) string {
	s := slices.Clone(l)
	slices.Sort(s)
	if len(s) == 0 {
		return "no messages"
	}
	return fmt.Sprintf("%d messages, median %v, max %v", len(s), s[len(s)/2].Round(10*time.Microsecond), s[len(s)-1].Round(10*time.Microsecond))
}
