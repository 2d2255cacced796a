package loadgen

import (
	"time"

	"chat/internal/wire"
)

// deliver handles a room message that arrived at s.
func (w *worker) deliver(s *session, f *wire.Frame, now time.Time) {
	st, ok := parseStamp(f.Text)
	if !ok {
		w.errs.add("message without a loadgen stamp")
		return
	}
	s.deliveries.Add(1)
	w.latency.record(s.id, now.Sub(time.Unix(0, st.Intended)))
	if !s.chk.inRoom(st.Sender) {
		w.misrouted.Add(1)
		return
	}
	if s.chk.observe(st.Sender, st.Seq) == deliveryDuplicate || !s.stable {
		return
	}
	if st.Sender < uint32(w.cfg.Sessions) {
		s.unique.Add(1)
	} else {
		s.uniqueChurn.Add(1)
	}
}
