package hub

import (
	"fmt"
	"testing"

	"chat/internal/wire"
)

// benchHub returns a hub with n guests (sessions 1..n) in one room.
func benchHub(b testing.TB, n int) *Hub {
	b.Helper()
	h := New(Config{Guests: true, MsgRate: -1})
	for i := 1; i <= n; i++ {
		sid := SessionID(i)
		h.Connect(sid, "bench", t0)
		h.Handle(sid, &wire.Frame{Type: wire.TypeHello, ID: 1, Version: wire.Version}, t0)
		h.Handle(sid, &wire.Frame{Type: wire.TypeClaim, ID: 2, Name: fmt.Sprintf("g%d", i)}, t0)
		if i == 1 {
			h.Handle(sid, &wire.Frame{Type: wire.TypeCreate, ID: 3, Room: "big"}, t0)
		}
		h.Handle(sid, &wire.Frame{Type: wire.TypeEnter, ID: 4, Room: "big"}, t0)
	}
	return h
}

// BenchmarkHubFanout is the hub's cost of one Say in a room of N: the
// outputs for every member, no encoding, no system calls.
func BenchmarkHubFanout(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("room=%d", n), func(b *testing.B) {
			h := benchHub(b, n)
			say := &wire.Frame{Type: wire.TypeSay, Text: "hello, everybody in this room"}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				say.ID = uint32(i + 10)
				outs := h.Handle(1, say, t0)
				if len(outs) != n {
					b.Fatalf("%d outputs", len(outs))
				}
				h.Recycle(outs)
			}
			b.ReportMetric(float64(b.N)*float64(n-1)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
