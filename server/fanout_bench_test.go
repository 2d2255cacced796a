package server

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"chat/internal/poller"
	"chat/internal/wire"
	"chat/server/hub"
)

// BenchmarkLoopFanout is the loop's cost of delivering Says in a room of N
// over real sockets (socket pairs): the hub, encoding, queueing and the
// writes, with `per` Says handled in each loop pass (many senders ready at
// once), as in a busy room.
func BenchmarkLoopFanout(b *testing.B) {
	for _, n := range []int{100, 1000} {
		for _, per := range []int{1, 16} {
			for _, helpers := range []int{0, 1} {
				b.Run(fmt.Sprintf("room=%d/says-per-pass=%d/write-helpers=%d", n, per, helpers), func(b *testing.B) {
					benchLoopFanout(b, n, per, helpers)
				})
			}
		}
	}
}

func benchLoopFanout(b *testing.B, n, per, helpers int) {
	s, peers := socketServer(b, n, helpers)
	drain := func() {
		var buf [64 << 10]byte
		for _, fd := range peers {
			for {
				if m, err := unix.Read(fd, buf[:]); m <= 0 || err != nil {
					break
				}
			}
		}
	}
	say := &wire.Frame{Type: wire.TypeSay, Text: "hello, everybody in this room"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for j := range per {
			say.ID = uint32(i*per + j + 10)
			s.apply(s.hub.Handle(hub.SessionID(1+j%n), say, t0), t0)
		}
		s.flushPass(t0)
		if i%8 == 7 {
			b.StopTimer()
			drain()
			b.StartTimer()
		}
	}
	b.StopTimer()
	if len(s.dying) > 0 {
		b.Fatalf("%d connections died: %s", len(s.dying), s.dying[0].why)
	}
	b.ReportMetric(float64(b.N)*float64(per)*float64(n)/b.Elapsed().Seconds(), "deliveries/s")
}

// socketServer is a Server whose hub has n guest sessions in one room,
// each on a socket pair, with helpers write helpers, and no loop running:
// the caller drives apply and flushPass. peers are the other ends.
func socketServer(tb testing.TB, n, helpers int) (*Server, []int) {
	tb.Helper()
	cfg := Config{}
	cfg.defaults()
	s := &Server{
		cfg:        cfg,
		poll:       poller.New(),
		conns:      make(map[int]*conn),
		bySid:      make(map[hub.SessionID]*conn),
		closingSet: make(map[*conn]struct{}),
		hub:        hub.New(hub.Config{Guests: true, MsgRate: -1}),
		writers:    newWritePool(helpers),
		listeners:  []*listener{{fd: -1}},
	}
	tb.Cleanup(s.writers.stop)
	peers := make([]int, 0, n)
	for i := 1; i <= n; i++ {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
		c := &conn{fd: fds[0], sid: hub.SessionID(i), proto: &wireProtocol{enc: &s.listeners[0].enc}}
		s.conns[c.fd], s.bySid[c.sid] = c, c
		if err := s.poll.Add(c.fd); err != nil {
			tb.Fatal(err)
		}
		peers = append(peers, fds[1])
		s.hub.Connect(c.sid, "bench", t0)
		for _, f := range []wire.Frame{
			{Type: wire.TypeHello, ID: 1, Version: wire.Version},
			{Type: wire.TypeClaim, ID: 2, Name: fmt.Sprintf("g%d", i)},
			{Type: wire.TypeCreate, ID: 3, Room: "big"}, // refused but for the first
			{Type: wire.TypeEnter, ID: 4, Room: "big"},
		} {
			s.hub.Handle(c.sid, &f, t0)
		}
	}
	return s, peers
}
