package client

import "time"

// Backoff computes the pauses between reconnection attempts: the first is
// between Min and 2×Min, each next one doubles, every pause is jittered
// (a uniform random point in [base, 2×base)) so that many clients cut off
// together do not come back together, and none is longer than Max.
type Backoff struct {
	Min, Max time.Duration
	// Rand returns a uniform random number in [0, 1). Tests inject a fixed
	// source; nil means math/rand/v2.
	Rand func() float64
	n    int // pauses handed out since the last Reset
}

// Next returns the pause before the next attempt.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = time.Second
	}
	if hi < lo {
		hi = lo
	}
	base := lo
	for i := 0; i < b.n && base < hi; i++ {
		base *= 2
	}
	b.n++
	if base >= hi {
		return hi
	}
	d := base + time.Duration(b.random()*float64(base))
	return min(d, hi)
}

// Reset starts again from the shortest pause, after a connection succeeded.
func (b *Backoff) Reset() { b.n = 0 }

func (b *Backoff) random() float64 {
	if b.Rand != nil {
		return b.Rand()
	}
	return randFloat()
}
