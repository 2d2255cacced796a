package loadgen

import "time"

// deliver handles a room message that arrived at s, from its text in the
// bytes read (wire.MessageText).
func (w *worker) deliver(s *session, text []byte, now time.Time) {
	st, ok := parseStamp(text)
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
