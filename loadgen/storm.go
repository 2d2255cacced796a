package loadgen

import "time"

// storm cuts every session at once at t0 and waits until all are back in
// their rooms or have given up. Each reconnect is bounded by its timeouts;
// the wait is bounded too, by the later of end and ten timeouts after t0.
func (w *worker) storm(t0, end time.Time) {
	w.phase.Store("storm")
	w.stormAt.Store(t0.UnixNano())
	var cut int64
	for _, s := range w.sessions {
		if s.up.Load() {
			s.reconnect.Store(true)
			cut++
		}
	}
	for _, s := range w.sessions {
		if s.reconnect.Load() {
			s.closeConn()
		}
	}
	w.stormCut = int(cut)
	deadline := t0.Add(max(end.Sub(t0), 10*w.cfg.Timeout))
	for time.Now().Before(deadline) && w.stormBack.Load()+w.stormLost.Load() < cut {
		time.Sleep(10 * time.Millisecond)
	}
	w.phase.Store("run")
}
