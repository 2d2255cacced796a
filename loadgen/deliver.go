package loadgen

import (
	"time"

	"chat/internal/wire"
)

// deliver handles a room message that arrived at s.
func (w *worker) deliver(s *session, f *wire.Frame, now time.Time) {
	deliverText(w, s, f.Text, now)
}

// deliverText handles a room message's text, a string or the bytes read.
func deliverText[T ~string | ~[]byte](w *worker, s *session, text T, now time.Time) {
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
