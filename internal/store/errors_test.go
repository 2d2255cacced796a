package store

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
)

// What NATS says is read as what it means for the caller: not stored (a
// publish while the connection is away is never sent), or not known.
func TestClassifySaysWhetherItWasStored(t *testing.T) {
	for _, c := range []struct {
		err  error
		want error
	}{
		{nats.ErrReconnectBufExceeded, ErrUnavailable},
		{nats.ErrConnectionReconnecting, ErrUnavailable},
		{nats.ErrNoResponders, ErrUnavailable},
		{fmt.Errorf("get: %w", nats.ErrDisconnected), ErrUnavailable},
		{context.DeadlineExceeded, ErrTimeout},
		{nats.ErrTimeout, ErrTimeout},
	} {
		if got := classify(c.err); !errors.Is(got, c.want) {
			t.Errorf("classify(%v) = %v; want %v", c.err, got, c.want)
		}
	}
}
