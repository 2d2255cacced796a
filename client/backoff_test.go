package client

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	s := time.Second
	tests := []struct {
		name     string
		min, max time.Duration
		rand     float64
		want     []time.Duration
	}{
		{"no jitter doubles to the cap", s, 30 * s, 0, []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 30 * s, 30 * s}},
		{"half jitter", s, 30 * s, 0.5, []time.Duration{1500 * time.Millisecond, 3 * s, 6 * s, 12 * s, 24 * s, 30 * s}},
		{"jitter never passes the cap", s, 5 * s, 0.999, []time.Duration{1999 * time.Millisecond, 3998 * time.Millisecond, 5 * s, 5 * s}},
		{"short pauses for tests", 10 * time.Millisecond, 50 * time.Millisecond, 0, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 50 * time.Millisecond}},
		{"max below min uses min", 2 * s, s, 0.5, []time.Duration{2 * s, 2 * s}},
		{"zero min means one second", 0, 10 * s, 0, []time.Duration{s, 2 * s}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Backoff{Min: tt.min, Max: tt.max, Rand: func() float64 { return tt.rand }}
			for i, want := range tt.want {
				if got := b.Next().Round(time.Millisecond); got != want {
					t.Errorf("pause %d = %v, want %v", i, got, want)
				}
			}
			b.Reset()
			if got := b.Next().Round(time.Millisecond); got != tt.want[0] {
				t.Errorf("after Reset = %v, want %v", got, tt.want[0])
			}
		})
	}
}

func TestBackoffDefaultRandomInRange(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 30 * time.Second}
	for range 100 {
		b.Reset()
		if d := b.Next(); d < time.Second || d >= 2*time.Second {
			t.Fatalf("first pause %v outside [1s, 2s)", d)
		}
	}
}
