package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// A server's start reads the store again while it does not answer, up to
// the open timeout, and at once gives up on any other error.
func TestRetryWaitsForAnAnswerOnly(t *testing.T) {
	other := errors.New("bucket holds something else")
	cases := []struct {
		name  string
		fails []error // the reads' errors in turn; then nil
		calls int
		want  error
	}{
		{"answered at once", nil, 1, nil},
		{"a timeout, then an answer", []error{fmt.Errorf("list rooms: %w", ErrTimeout)}, 2, nil},
		{"unavailable twice, then an answer", []error{ErrUnavailable, ErrUnavailable}, 3, nil},
		{"another error is not retried", []error{other}, 1, other},
		{"an incompatible store is not retried", []error{ErrIncompatible}, 1, ErrIncompatible},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Store{cfg: Config{OpenTimeout: time.Minute}}
			calls := 0
			err := s.Retry(func() error {
				calls++
				if calls <= len(c.fails) {
					return c.fails[calls-1]
				}
				return nil
			})
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) || calls != c.calls {
				t.Fatalf("Retry: %v after %d reads; want %v after %d", err, calls, c.want, c.calls)
			}
		})
	}
}

func TestRetryGivesUpAtTheOpenTimeout(t *testing.T) {
	s := &Store{cfg: Config{OpenTimeout: 3 * startRetry}}
	calls := 0
	err := s.Retry(func() error { calls++; return ErrUnavailable })
	if !errors.Is(err, ErrUnavailable) || calls < 2 || calls > 3 {
		t.Fatalf("Retry of a store that never answers: %v after %d reads; want ErrUnavailable after 2 or 3", err, calls)
	}
}
