package server

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"chat/internal/wire"
	"chat/server/hub"
)

// socketConns returns n conns on socket pairs, each with its own output
// queued, and the peers' descriptors.
func socketConns(t *testing.T, n int) ([]*conn, []int) {
	t.Helper()
	conns := make([]*conn, n)
	peers := make([]int, n)
	for i := range n {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
		conns[i] = &conn{fd: fds[0], sid: hub.SessionID(i + 1)}
		conns[i].append(fmt.Appendf(nil, "output of connection %d\n", i))
		peers[i] = fds[1]
	}
	return conns, peers
}

// TestWritePoolFlushesEveryShare: however many helpers there are, each
// connection's output is written once, whole, to its own socket; a dead
// peer's error comes back for that connection alone; a full socket keeps
// its remainder queued, without error.
func TestWritePoolFlushesEveryShare(t *testing.T) {
	for _, helpers := range []int{1, 2, 3, 7} {
		for _, n := range []int{1, 2, 5, 64, 101} {
			t.Run(fmt.Sprintf("helpers=%d/conns=%d", helpers, n), func(t *testing.T) {
				p := newWritePool(helpers)
				defer p.stop()
				conns, peers := socketConns(t, n)
				dead := n / 2
				unix.Close(peers[dead])
				full := -1
				if n > 2 {
					// More than the socket's buffer holds.
					full = n - 1
					conns[full].append(bytes.Repeat([]byte("y"), 4<<20))
				}
				jobs := make([]flushJob, n)
				for i, c := range conns {
					jobs[i].c = c
				}
				p.flush(jobs)
				buf := make([]byte, 64<<10)
				for i, j := range jobs {
					if j.c != conns[i] {
						t.Fatalf("job %d is connection %d", i, j.c.sid)
					}
					switch i {
					case dead:
						if !errors.Is(j.err, unix.EPIPE) {
							t.Errorf("connection %d (peer closed): err %v, want EPIPE", i, j.err)
						}
						continue
					case full:
						if j.err != nil || j.c.pending() == 0 {
							t.Errorf("connection %d (socket full): err %v, %d pending", i, j.err, j.c.pending())
						}
						continue
					}
					if j.err != nil || j.c.pending() != 0 {
						t.Errorf("connection %d: err %v, %d pending", i, j.err, j.c.pending())
					}
					m, err := unix.Read(peers[i], buf)
					want := fmt.Sprintf("output of connection %d\n", i)
					if err != nil || string(buf[:max(m, 0)]) != want {
						t.Errorf("peer %d read %q (%v), want %q", i, buf[:max(m, 0)], err, want)
					}
				}
			})
		}
	}
}

// TestServerParallelWrites: a room big enough for the write helpers to take
// part in every pass (more than parallelWriteMin members); every member
// gets every message, in order, and one that hangs up mid-stream is told
// to the room as lost while the others go on. Run under -race, this also
// checks that the helpers and the loop never touch the same connection at
// once.
func TestServerParallelWrites(t *testing.T) {
	const members, says = 3 * parallelWriteMin, 20
	s := start(t, Config{Guests: true, MsgRate: -1, WriteHelpers: 2})
	cs := make([]*client, members)
	for i := range cs {
		c := dial(t, s.Addr())
		c.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
		if r := c.call(&wire.Frame{Type: wire.TypeClaim, Name: fmt.Sprintf("m%d", i)}); r.Code != wire.OK {
			t.Fatalf("claim: %+v", r)
		}
		if i == 0 {
			c.call(&wire.Frame{Type: wire.TypeCreate, Room: "big"})
		}
		if r := c.call(&wire.Frame{Type: wire.TypeEnter, Room: "big"}); r.Code != wire.OK {
			t.Fatalf("enter: %+v", r)
		}
		cs[i] = c
	}
	// Everyone sees the later members enter; skip those notices.
	for i, c := range cs {
		for range members - 1 - i {
			c.expect(wire.TypeNotice, wire.NoticeEntered, "")
		}
	}
	// Two senders, so passes carry messages from both.
	for k := range says {
		cs[0].send(&wire.Frame{Type: wire.TypeSay, Text: fmt.Sprintf("a%d", k)})
		cs[1].send(&wire.Frame{Type: wire.TypeSay, Text: fmt.Sprintf("b%d", k)})
	}
	gone := cs[members-1]
	gone.conn.Close()
	for i, c := range cs[:members-1] {
		// No message goes back to its sender; each sender has its replies.
		want := map[string]int{"a": says, "b": says}
		replies := 0
		if i < 2 {
			want[[]string{"a", "b"}[i]], replies = 0, says
		}
		got := map[string]int{}
		lost := false
		for got["a"] < want["a"] || got["b"] < want["b"] || replies > 0 || !lost {
			f := c.must()
			switch {
			case f.Type == wire.TypeReply && f.Code == wire.OK:
				replies--
			case f.Type == wire.TypeMessage:
				from := f.Text[:1]
				if w := fmt.Sprintf("%s%d", from, got[from]); f.Text != w {
					t.Fatalf("member %d got %q, want %q", i, f.Text, w)
				}
				got[from]++
			case f.Type == wire.TypeNotice && (f.Code == wire.NoticeLost || f.Code == wire.NoticeLeft):
				if f.Name != fmt.Sprintf("m%d", members-1) {
					t.Fatalf("member %d: notice about %q", i, f.Name)
				}
				lost = true
			default:
				t.Fatalf("member %d: unexpected %+v", i, f)
			}
		}
	}
}
