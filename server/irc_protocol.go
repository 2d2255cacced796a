package server

import (
	"slices"
	"time"

	"chat/internal/wire"
	"chat/server/irc"
)

// ircProtocol is a connection to the IRC listener: its lines go through an
// irc.Session, which makes requests of the hub on the client's behalf and
// renders the hub's frames as IRC lines.
type ircProtocol struct {
	sess *irc.Session
	// encs are shared by the listener's connections, for room messages:
	// one per rendering variant.
	encs *[irc.Variants]encoder
	// reqs are the session's requests not yet handed to the hub, from
	// reqs[taken] on: one line or one rendered frame may make several.
	reqs  []wire.Frame
	taken int
}

// newIRCProtocol starts an IRC conversation: its first request, the Hello
// said on the client's behalf, is waiting for the loop.
func newIRCProtocol(cfg *irc.Config, encs *[irc.Variants]encoder) *ircProtocol {
	p := &ircProtocol{sess: irc.NewSession(cfg), encs: encs}
	p.reqs = p.sess.Start()
	return p
}

func (p *ircProtocol) feed(b []byte) { p.sess.Feed(b) }

func (p *ircProtocol) next(out []byte, _ *wire.Frame) ([]byte, *wire.Frame, step, error) {
	if p.taken < len(p.reqs) {
		p.taken++
		return out, &p.reqs[p.taken-1], stepRequest, nil
	}
	out, ok := p.sess.HandleNext(out)
	if !ok {
		return out, nil, stepNone, nil
	}
	p.takeRequests()
	if p.taken < len(p.reqs) {
		p.taken++
		return out, &p.reqs[p.taken-1], stepRequest, nil
	}
	return out, nil, stepAnswered, nil
}

// takeRequests puts the session's new requests first in line: those made
// while rendering the answer to a request (the names after a JOIN) go to
// the hub before the rest of the line's (the next channel of the JOIN).
func (p *ircProtocol) takeRequests() {
	reqs := p.sess.TakeRequests()
	if len(reqs) == 0 {
		return
	}
	if p.taken == len(p.reqs) {
		// The hub is done with the old ones: the slice is the session's
		// own, made anew for each batch.
		p.reqs, p.taken = reqs, 0
		return
	}
	p.reqs = slices.Insert(p.reqs, p.taken, reqs...)
}

func (p *ircProtocol) settle()          {}
func (p *ircProtocol) leftover() []byte { return nil }
func (p *ircProtocol) buffered() int    { return p.sess.Buffered() }

// encode renders f for this session. A room message reads the same for
// every IRC member of one variant, so it is rendered once per frame and
// variant like the chat protocol's encoding; other frames depend on the
// session.
func (p *ircProtocol) encode(f *wire.Frame) []byte {
	enc := &p.encs[p.sess.Variant()]
	shared := f.Type == wire.TypeMessage && f.Room != "" && !p.sess.Replaying()
	if shared && f == enc.last {
		return enc.buf
	}
	enc.buf = p.sess.Render(enc.buf[:0], f)
	enc.last = nil
	if shared {
		enc.last = f
	}
	p.takeRequests()
	return enc.buf
}

func (p *ircProtocol) requested() bool { return p.taken < len(p.reqs) }
func (p *ircProtocol) greeted() bool   { return p.sess.Welcomed() }
func (p *ircProtocol) watched() bool   { return true }

// ended: the session closed the link, and the requests it made before
// that have gone to the hub.
func (p *ircProtocol) ended() bool { return p.taken == len(p.reqs) && p.sess.Closing() }

func (p *ircProtocol) timeoutText(why timeout, d time.Duration) string {
	if why == timeoutHello {
		return "Registration timed out: not registered within " + wire.RoundDuration(d).String()
	}
	return "Ping timeout: " + wire.RoundDuration(d).String()
}
