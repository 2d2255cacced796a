package loadgen

import (
	"math"
	"time"
)

// schedule is the open-loop sending plan shared by every loadgen process.
// Message k of the whole run is due at start + k*period and is sent by
// stable session k % senders, so the offered rate is exact whatever the
// server does, and any process can compute how many messages any sender
// sends (the expected deliveries) without asking it.
type schedule struct {
	start   time.Time
	period  float64 // nanoseconds between two messages of the whole run
	total   uint64  // messages due before the end
	senders uint32
}

// newSchedule plans rate messages per second from senders sessions over
// [start, start+d). A rate of zero plans nothing.
func newSchedule(start time.Time, d time.Duration, rate float64, senders uint32) schedule {
	s := schedule{start: start, senders: senders}
	if rate <= 0 || senders == 0 || d <= 0 {
		return s
	}
	s.period = 1e9 / rate
	// Messages k with k*period < d, computed the way due computes it so the
	// two can never disagree by a rounding.
	k := uint64(math.Ceil(float64(d) / s.period))
	for k > 0 && s.offset(k-1) >= d {
		k--
	}
	for s.offset(k) < d {
		k++
	}
	s.total = k
	return s
}

func (s schedule) offset(k uint64) time.Duration {
	return time.Duration(float64(k) * s.period)
}

// due returns when message j (from 0) of sender is due.
func (s schedule) due(sender uint32, j uint64) time.Time {
	return s.start.Add(s.offset(j*uint64(s.senders) + uint64(sender)))
}

// count returns how many messages sender sends in the run.
func (s schedule) count(sender uint32) uint64 {
	if uint64(sender) >= s.total {
		return 0
	}
	return (s.total-1-uint64(sender))/uint64(s.senders) + 1
}

// clock is the time source of the pacer, injected so tests run without
// sleeping.
type clock interface {
	Now() time.Time
	// Wait waits d or until stop is closed; it reports false when stopped.
	Wait(d time.Duration, stop <-chan struct{}) bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Wait(d time.Duration, stop <-chan struct{}) bool {
	if d <= 0 {
		select {
		case <-stop:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}

// pace sends sender's messages at their due times. It is open loop: a
// message whose time has passed (the sender or the server fell behind) goes
// at once, and none is skipped, so the lateness shows in the latency. It
// stops after the last message, at the first send error, or when stop is
// closed, and returns how many messages it sent.
func pace(s schedule, sender uint32, clk clock, stop <-chan struct{},
	send func(seq uint32, due time.Time) error) (uint64, error) {
	n := s.count(sender)
	for j := range n {
		due := s.due(sender, j)
		if !clk.Wait(due.Sub(clk.Now()), stop) {
			return j, nil
		}
		if err := send(uint32(j+1), due); err != nil {
			return j, err
		}
	}
	return n, nil
}
