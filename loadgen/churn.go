package loadgen

import (
	"sync"
	"time"

	"chat/internal/wire"
)

// churn starts this worker's share of the churn sessions, churn session c
// at t0 + c/ChurnRate, until the run's churn total is reached or stop.
// upMembers[r] is how many stable sessions are in room r: each message a
// churn session gets acknowledged is expected by all of them.
func (w *worker) churn(t0 time.Time, upMembers []uint64, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	cfg := &w.cfg
	total := cfg.churnTotal()
	inFlight := make(chan struct{}, maxChurnInFlight)
	var clk realClock
	for c := w.sh.Index; c < total; c += w.sh.Of {
		due := t0.Add(time.Duration(float64(c) / cfg.ChurnRate * float64(time.Second)))
		if !clk.Wait(time.Until(due), stop) {
			return
		}
		select {
		case inFlight <- struct{}{}:
		default:
			w.errs.add("churn session not started: too many still running")
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.churnOne(uint32(c), upMembers)
			<-inFlight
		}()
	}
}

// churnOne is one churn session: connect, log in, enter a room, send
// ChurnMsgs messages (each waiting for its reply: a churner is a person, not
// a firehose), log out and close.
func (w *worker) churnOne(c uint32, upMembers []uint64) {
	cfg := &w.cfg
	s := newSession(w, uint32(cfg.Sessions)+c, false)
	w.churnStarted.Add(1)
	defer func() {
		s.closeConn()
		w.churnDeliveries.Add(s.deliveries.Load())
		w.churnDuplicates.Add(s.chk.duplicates)
		w.churnReorder.Add(s.chk.outOfOrder)
	}()
	if w.closing.Load() {
		return
	}
	if err := s.setup(); err != nil {
		w.errs.add("churn setup: " + errKind(err))
		return
	}
	var text []byte
	for seq := uint32(1); seq <= uint32(cfg.ChurnMsgs); seq++ {
		text = appendStamp(text[:0], stamp{Sender: s.id, Seq: seq, Intended: time.Now().UnixNano()}, cfg.Size)
		w.churnSent.Add(1)
		if _, err := s.call(&wire.Frame{Type: wire.TypeSay, Text: string(text)}); err != nil {
			w.errs.add("churn say: " + errKind(err))
			return
		}
		w.churnAcked.Add(1)
		w.churnExpected.Add(upMembers[s.room])
	}
	if _, err := s.call(&wire.Frame{Type: wire.TypeLogout}); err != nil {
		w.errs.add("churn logout: " + errKind(err))
		return
	}
	w.churnDone.Add(1)
}
