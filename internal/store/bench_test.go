package store

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkAppend stores 100-byte messages in one room or spread over
// ten or a hundred, with up to MaxPending outstanding, and reports
// acknowledged messages per second. A writer has one message of a room
// published at a time (append.go), so one room measures a round trip
// per message, and more rooms how much of that is made up by publishing
// other rooms' meanwhile.
func BenchmarkAppend(b *testing.B) {
	for _, fsync := range []string{"", "always"} {
		for _, rooms := range []int{1, 10, 100} {
			name := fmt.Sprintf("fsync=%s/rooms=%d", fsync, rooms)
			if fsync == "" {
				name = fmt.Sprintf("fsync=default/rooms=%d", rooms)
			}
			b.Run(name, func(b *testing.B) { benchmarkAppend(b, open(b, Config{Fsync: fsync, MaxPending: 1024}), rooms) })
		}
	}
}

// BenchmarkAppendCluster is BenchmarkAppend through one node of a
// cluster of three embedded on loopback, every message kept on all
// three (R3) and acknowledged once two have it.
func BenchmarkAppendCluster(b *testing.B) {
	for _, rooms := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("rooms=%d", rooms), func(b *testing.B) {
			stores := openAll(b, clusterConfigs(b, 3, Config{MaxPending: 1024}))
			benchmarkAppend(b, stores[0], rooms)
		})
	}
}

func benchmarkAppend(b *testing.B, s *Store, rooms int) {
	cfg := s.cfg
	text := fmt.Sprintf("%100s", "x")
	slots := make(chan struct{}, cfg.MaxPending)
	errs := make(chan error, 1)
	names := make([]string, rooms)
	for i := range names {
		names[i] = fmt.Sprint("room", i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		slots <- struct{}{}
		room := names[i%rooms]
		err := s.Append(room, Message{From: "ann", Room: room, Text: text}, func(_ Stored, err error) {
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
			<-slots
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for range cap(slots) { // wait for the last acknowledgements
		slots <- struct{}{}
	}
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkPage reads pages of 50 from a room of 1,000,000 messages (the
// filling takes a while and is not timed), and reports the gets each
// page costs: a few binary searches and one per message.
func BenchmarkPage(b *testing.B) {
	const n, size = 1_000_000, 50
	s := open(b, Config{MaxPending: 1024})
	fill(b, s, []string{"lounge"}, n)
	var gets atomic.Int64
	s.rooms = countingStream{s.rooms, &gets}
	// The first reads after the filling also wait for the file store to
	// settle; they are not what a page costs.
	for range 100 {
		pageWait(b, s, "lounge", 0, size)
	}
	for _, before := range []uint64{0, n / 2, 100} {
		b.Run(fmt.Sprint("before=", before), func(b *testing.B) {
			gets.Store(0)
			for b.Loop() {
				if msgs := pageWait(b, s, "lounge", before, size); len(msgs) != size {
					b.Fatalf("page of %d", len(msgs))
				}
			}
			b.ReportMetric(float64(gets.Load())/float64(b.N), "gets/op")
		})
	}
}
