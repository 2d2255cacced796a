package loadgen

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func TestScheduleTotalsAndSpacing(t *testing.T) {
	tests := []struct {
		rate    float64
		d       time.Duration
		senders uint32
		total   uint64
	}{
		{rate: 100, d: time.Second, senders: 7, total: 100},
		{rate: 3, d: time.Second, senders: 2, total: 3},       // period 333.33 ms: 0, 333, 666
		{rate: 0.5, d: 3 * time.Second, senders: 5, total: 2}, // 0 s and 2 s
		{rate: 1000, d: 10 * time.Millisecond, senders: 100, total: 10},
		{rate: 0, d: time.Second, senders: 5, total: 0},
	}
	for _, tt := range tests {
		s := newSchedule(t0, tt.d, tt.rate, tt.senders)
		if s.total != tt.total {
			t.Errorf("rate %v for %v: total %d, want %d", tt.rate, tt.d, s.total, tt.total)
		}
		var sum uint64
		for i := range tt.senders {
			sum += s.count(i)
			for j := range s.count(i) {
				due := s.due(i, j)
				if due.Before(t0) || !due.Before(t0.Add(tt.d)) {
					t.Errorf("rate %v sender %d message %d due at %v, outside the run", tt.rate, i, j, due.Sub(t0))
				}
			}
		}
		if sum != tt.total {
			t.Errorf("rate %v: counts sum to %d, total %d", tt.rate, sum, tt.total)
		}
	}
}

func TestScheduleInterleavesSenders(t *testing.T) {
	s := newSchedule(t0, time.Second, 10, 4)
	// Message k of the run is sender k%4's message k/4, due at k*100ms.
	for k := range uint64(10) {
		if got, want := s.due(uint32(k%4), k/4), t0.Add(time.Duration(k)*100*time.Millisecond); !got.Equal(want) {
			t.Errorf("message %d due %v, want %v", k, got.Sub(t0), want.Sub(t0))
		}
	}
	if s.count(0) != 3 || s.count(1) != 3 || s.count(2) != 2 || s.count(3) != 2 {
		t.Errorf("counts %d %d %d %d, want 3 3 2 2", s.count(0), s.count(1), s.count(2), s.count(3))
	}
}

// fakeClock advances only when the pacer waits (or the test says so).
type fakeClock struct {
	now   time.Time
	waits []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Wait(d time.Duration, stop <-chan struct{}) bool {
	select {
	case <-stop:
		return false
	default:
	}
	c.waits = append(c.waits, d)
	if d > 0 {
		c.now = c.now.Add(d)
	}
	return true
}

func TestPaceSendsOnTime(t *testing.T) {
	s := newSchedule(t0, time.Second, 10, 2) // sender 1: 100ms, 300ms, ... 900ms
	clk := &fakeClock{now: t0}
	var sent []time.Duration
	n, err := pace(s, 1, clk, nil, func(seq uint32, due time.Time) error {
		if int(seq) != len(sent)+1 {
			t.Fatalf("seq %d after %d messages", seq, len(sent))
		}
		if !clk.now.Equal(due) {
			t.Fatalf("message %d sent at %v, due %v", seq, clk.now.Sub(t0), due.Sub(t0))
		}
		sent = append(sent, due.Sub(t0))
		return nil
	})
	if err != nil || n != 5 || len(sent) != 5 || sent[0] != 100*time.Millisecond || sent[4] != 900*time.Millisecond {
		t.Fatalf("sent %d (%v), err %v", n, sent, err)
	}
}

func TestPaceIsOpenLoop(t *testing.T) {
	// Every send takes 250 ms, two and a half periods: the pacer must not
	// wait, skip or re-time messages; each keeps its due time so the
	// latency shows the delay.
	s := newSchedule(t0, time.Second, 10, 1)
	clk := &fakeClock{now: t0}
	var dues []time.Duration
	n, err := pace(s, 0, clk, nil, func(seq uint32, due time.Time) error {
		dues = append(dues, due.Sub(t0))
		clk.now = clk.now.Add(250 * time.Millisecond)
		return nil
	})
	if err != nil || n != 10 {
		t.Fatalf("sent %d, err %v; want all 10", n, err)
	}
	for j, d := range dues {
		if d != time.Duration(j)*100*time.Millisecond {
			t.Fatalf("message %d stamped %v, want its due time %v", j, d, time.Duration(j)*100*time.Millisecond)
		}
	}
	for _, w := range clk.waits[1:] {
		if w > 0 {
			t.Fatalf("the pacer waited %v while behind: waits %v", w, clk.waits)
		}
	}
}

func TestPaceStops(t *testing.T) {
	s := newSchedule(t0, time.Second, 10, 1)
	stop := make(chan struct{})
	clk := &fakeClock{now: t0}
	n, err := pace(s, 0, clk, stop, func(seq uint32, _ time.Time) error {
		if seq == 3 {
			close(stop)
		}
		return nil
	})
	if n != 3 || err != nil {
		t.Fatalf("after stop: sent %d, err %v; want 3, nil", n, err)
	}
	boom := errors.New("boom")
	n, err = pace(s, 0, &fakeClock{now: t0}, nil, func(seq uint32, _ time.Time) error {
		if seq == 2 {
			return boom
		}
		return nil
	})
	if n != 1 || !errors.Is(err, boom) {
		t.Fatalf("after a send error: sent %d, err %v; want 1, boom", n, err)
	}
}
