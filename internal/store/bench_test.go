package store

import (
	"fmt"
	"testing"
)

// BenchmarkAppend stores 100-byte messages in 10 rooms with up to
// MaxPending outstanding, and reports acknowledged messages per second.
func BenchmarkAppend(b *testing.B) {
	for _, fsync := range []string{"", "always"} {
		name := "fsync=" + fsync
		if fsync == "" {
			name = "fsync=default"
		}
		b.Run(name, func(b *testing.B) {
			s := open(b, Config{Fsync: fsync, MaxPending: 1024})
			text := fmt.Sprintf("%100s", "x")
			slots := make(chan struct{}, 1024)
			errs := make(chan error, 1)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				slots <- struct{}{}
				room := fmt.Sprint("room", i%10)
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
		})
	}
}
