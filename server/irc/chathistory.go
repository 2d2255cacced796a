package irc

import (
	"strconv"
	"strings"
	"time"

	"chat/internal/wire"
)

// IRCv3 draft/chathistory (https://ircv3.net/specs/extensions/chathistory):
// a client asks for what was said in a channel it is in, by time, and gets
// it in a batch. The messages are the room history the hub keeps; they are
// referred to by timestamp or by msgid (MSGREFTYPES=msgid,timestamp).

// replay is a CHATHISTORY request under way: the hub's Message frames
// for its room that come before its Reply are the page (the hub's outputs
// for one request come together), kept within (after, before).
type replay struct {
	id            uint32 // the History request
	room          string
	after, before int64  // Unix ms bounds, exclusive; 0: none
	afterSeq      uint64 // a Seq bound, exclusive; 0: none
	batch         string
	opened        bool
}

// CHATHISTORY <subcommand> <target> <reference> [<reference>] <limit>
func chathistoryHandler(s *Session, dst []byte, m *message) []byte {
	p := m.Params
	sub := strings.ToUpper(p[0])
	fail := func(code, text string, ctx ...string) []byte {
		return appendLine(dst, s.cfg.Server, "FAIL", append(append([]string{"CHATHISTORY", code}, ctx...), text)...)
	}
	switch sub {
	case "LATEST", "BEFORE", "AFTER", "BETWEEN":
	default:
		return fail("INVALID_PARAMS", "Unknown subcommand (LATEST, BEFORE, AFTER and BETWEEN are supported)", sub)
	}
	need := 4
	if sub == "BETWEEN" {
		need = 5
	}
	if len(p) < need {
		return fail("NEED_MORE_PARAMS", "Missing parameters", sub)
	}
	room, ok := channelRoom(p[1])
	if !ok {
		return fail("INVALID_TARGET", "Only channels have history here", sub, p[1])
	}
	limit, err := strconv.Atoi(p[need-1])
	if err != nil || limit < 1 {
		return fail("INVALID_PARAMS", "Bad limit", sub, p[need-1])
	}
	refs := make([]int64, 0, 2)
	var bySeq uint64 // a msgid reference: the message's Seq
	for _, ref := range p[2 : need-1] {
		if ref == "*" && sub == "LATEST" {
			refs = append(refs, 0)
			continue
		}
		if id, isID := strings.CutPrefix(ref, "msgid="); isID {
			idRoom, seq, ok := parseMsgID(id)
			if !ok || !sameRoom(idRoom, room) || sub == "BETWEEN" {
				return fail("INVALID_PARAMS", "A msgid here is one of the channel's messages, and BETWEEN takes timestamps", sub, ref)
			}
			bySeq = seq
			refs = append(refs, 0)
			continue
		}
		ms, ok := timestampRef(ref)
		if !ok {
			return fail("INVALID_PARAMS", "Messages are referred to by timestamp=YYYY-MM-DDThh:mm:ss.sssZ or msgid= here", sub, ref)
		}
		refs = append(refs, ms)
	}
	f := wire.Frame{Type: wire.TypeHistory, Room: room, Count: uint64(min(limit, wire.MaxHistoryPage))}
	r := replay{room: room}
	switch sub {
	case "LATEST":
		f.Code, r.after = wire.HistoryBefore, refs[0]
	case "BEFORE":
		f.Code, f.At = wire.HistoryBefore, refs[0]
	case "AFTER":
		f.Code, f.At = wire.HistoryAfter, refs[0]
	case "BETWEEN":
		lo, hi := min(refs[0], refs[1]), max(refs[0], refs[1])
		if refs[0] <= refs[1] {
			f.Code, f.At, r.before = wire.HistoryAfter, lo, hi
		} else {
			f.Code, f.At, r.after = wire.HistoryBefore, hi, lo
		}
	}
	if bySeq != 0 {
		// A msgid bounds the page by the room's sequence numbers.
		f.At, f.Seq = 0, bySeq
		if sub == "LATEST" {
			f.Code, f.Seq, r.afterSeq = wire.HistoryBefore, 0, bySeq
		}
	}
	pend := s.request(kindHistory, p[1], false, f)
	r.id = pend.id
	r.batch = "h" + strconv.FormatUint(uint64(pend.id), 10)
	s.replay = &r
	return dst
}

// timestampRef reads "timestamp=2006-01-02T15:04:05.000Z" as Unix ms.
func timestampRef(ref string) (int64, bool) {
	v, ok := strings.CutPrefix(ref, "timestamp=")
	if !ok {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return 0, false
	}
	return t.UnixMilli(), true
}

// replayed renders a Message frame of the page under way, reporting false
// for one that is not part of it.
func (s *Session) replayed(dst []byte, f *wire.Frame) ([]byte, bool) {
	r := s.replay
	if r == nil || f.Type != wire.TypeMessage || !sameRoom(f.Room, r.room) {
		return dst, false
	}
	if (r.after != 0 && f.Time <= r.after) || (r.before != 0 && f.Time >= r.before) || (r.afterSeq != 0 && f.Seq <= r.afterSeq) {
		return dst, true
	}
	if !r.opened {
		dst = s.openBatch(dst, r)
	}
	return s.appendMessage(dst, r.batchTag(s), f, "#"+f.Room), true
}

// batchTag is the tag of the page's batch, for a client that asked for
// batches.
func (r *replay) batchTag(s *Session) string {
	if s.caps&capBatch == 0 {
		return ""
	}
	return r.batch
}

func (s *Session) openBatch(dst []byte, r *replay) []byte {
	r.opened = true
	if s.caps&capBatch == 0 {
		return dst
	}
	return appendLine(dst, s.cfg.Server, "BATCH", "+"+r.batch, "chathistory", "#"+r.room)
}

// historyDone ends the page with the hub's Reply: the batch closes, empty
// if nothing was said in the bounds.
func (s *Session) historyDone(dst []byte, p *pending, f *wire.Frame) []byte {
	r := s.replay
	s.replay = nil
	if f.Code != wire.OK {
		return appendLine(dst, s.cfg.Server, "FAIL", "CHATHISTORY", "INVALID_TARGET", p.target, f.Text)
	}
	if r == nil || r.id != p.id {
		return dst
	}
	if !r.opened {
		dst = s.openBatch(dst, r)
	}
	if s.caps&capBatch == 0 {
		return dst
	}
	return appendLine(dst, s.cfg.Server, "BATCH", "-"+r.batch)
}
