package loadgen

import (
	"io"
	"sync"
	"testing"
	"time"
)

// gatedProtocol is a protocol whose setups wait for a gate, counting how
// many wait at once.
type gatedProtocol struct {
	mu         sync.Mutex
	cur, peak  int
	done       int
	gate       chan struct{}
	readLoopOK chan struct{}
}

func (p *gatedProtocol) setup(*session) error {
	p.mu.Lock()
	p.cur++
	p.peak = max(p.peak, p.cur)
	p.mu.Unlock()
	<-p.gate
	p.mu.Lock()
	p.cur--
	p.done++
	p.mu.Unlock()
	return nil
}

func (p *gatedProtocol) readLoop(*session) error    { <-p.readLoopOK; return io.EOF }
func (p *gatedProtocol) say(*session, []byte) error { return nil }

func (p *gatedProtocol) counts() (cur, peak, done int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur, p.peak, p.done
}

// TestSetupInFlightBoundsTheSetups starts ten sessions at once with at most
// three setting up at a time: three wait at the gate, the others for a
// slot, and all ten come up once the gate opens.
func TestSetupInFlightBoundsTheSetups(t *testing.T) {
	t.Parallel()
	cfg := Config{Sessions: 10, Rooms: 1, SetupInFlight: 3, Timeout: time.Second, Prefix: "lg"}
	w := newWorker(cfg, share{Index: 0, Of: 1}, nil)
	p := &gatedProtocol{gate: make(chan struct{}), readLoopOK: make(chan struct{})}
	w.proto = p
	ramped := make(chan struct{})
	go func() {
		w.ramp()
		close(ramped)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for cur, _, _ := p.counts(); cur < 3; cur, _, _ = p.counts() {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions setting up after 5s, want 3", cur)
		}
		time.Sleep(time.Millisecond)
	}
	close(p.gate)
	<-ramped
	if _, peak, done := p.counts(); peak != 3 || done != 10 || w.up.Load() != 10 {
		t.Errorf("peak %d setting up at once, %d done, %d up; want 3, 10, 10", peak, done, w.up.Load())
	}
	w.closing.Store(true)
	close(p.readLoopOK)
	w.readers.Wait()
}
