package server

import (
	"errors"
	"time"

	"chat/internal/wire"
)

// A protocol is what one connection speaks, as the loop sees it. The loop
// owns the socket, the output queue, the clock and the hub; a protocol
// turns the bytes read into requests for the hub and the hub's frames into
// bytes to write, and tells the loop what it needs to bound the peer. The
// loop never asks which protocol a connection speaks: the chat protocol
// (wireProtocol), IRC (ircProtocol) and a file transfer's data connection
// (dataConn, relay.go) each answer these calls in their own way.
type protocol interface {
	// feed takes bytes read from the socket. They are the loop's read
	// buffer: the protocol may decode them in place until settle.
	feed(b []byte)
	// next takes the next request out of what was fed. It appends to out
	// what goes back to the peer without the hub (IRC answers some
	// commands itself) and returns the request for the hub, if any, and
	// what became of the input (a step), with the error that broke the
	// stream for stepBroken. scratch is the loop's frame to decode into;
	// the request is valid until the next call.
	next(out []byte, scratch *wire.Frame) ([]byte, *wire.Frame, step, error)
	// settle ends a read: what is left undecoded is copied out of the
	// loop's read buffer.
	settle()
	// leftover returns a copy of the bytes fed and not decoded (those that
	// followed the Attach of a transfer's data connection).
	leftover() []byte
	// encode returns f as this protocol sends it, valid until the next
	// encode of any connection: the loop queues the bytes at once.
	encode(f *wire.Frame) []byte
	// requested reports whether encoding made requests of the hub (IRC
	// asks for a channel's names after a takeover); next returns them.
	requested() bool
	// buffered returns the bytes of an incomplete request it holds.
	buffered() int
	// greeted reports whether the peer has done its part of the greeting
	// (IRC's registration) once the hub has its Hello.
	greeted() bool
	// ended reports whether the protocol has ended the conversation (IRC's
	// QUIT before registration): close once the output is written.
	ended() bool
	// watched reports whether the liveness pings and the Hello and frame
	// deadlines apply (not to a data connection, which the transfer's
	// chat sessions vouch for).
	watched() bool
	// timeoutText says, in the protocol's words, why the loop cuts the
	// connection after d: no greeting, or silence.
	timeoutText(why timeout, d time.Duration) string
}

// step is what next made of the input.
type step uint8

const (
	// stepNone: nothing whole is buffered.
	stepNone step = iota
	// stepRequest: a request for the hub.
	stepRequest
	// stepAnswered: input taken and answered without the hub.
	stepAnswered
	// stepMalformed: a frame that did not parse; the hub answers it.
	stepMalformed
	// stepBroken: the stream cannot be decoded any further; the loop says
	// why and closes the connection.
	stepBroken
)

// timeout names the loop's reasons to cut a connection that the protocol
// words for its peer.
type timeout uint8

const (
	timeoutHello  timeout = iota // not greeted within the Hello deadline
	timeoutSilent                // silent after a Ping
)

// encoder keeps the encoding of the frame encoded last, so that a frame
// sent to many connections of one protocol (a room message) is encoded
// once. The loop clears it when it has applied a hub call's outputs:
// frames are not reused while the outputs that hold them are applied.
type encoder struct {
	last *wire.Frame
	buf  []byte
}

// reset forgets the last frame, and a buffer grown large.
func (e *encoder) reset() {
	e.last = nil
	if cap(e.buf) > 64<<10 {
		e.buf = nil
	}
}

// wireProtocol is the chat protocol (internal/wire, docs/PROTOCOL.md).
type wireProtocol struct {
	dec wire.Decoder
	enc *encoder // shared by every chat connection of the server
}

func (p *wireProtocol) feed(b []byte) {
	// Frames are decoded where they were read; the decoder keeps a copy
	// only of what is left (a partial frame, or frames waiting out a
	// password check), so an idle session holds no input buffer.
	p.dec.FeedShared(b)
}

func (p *wireProtocol) next(out []byte, f *wire.Frame) ([]byte, *wire.Frame, step, error) {
	ok, err := p.dec.Next(f)
	switch {
	case err == nil && ok:
		return out, f, stepRequest, nil
	case err == nil:
		return out, nil, stepNone, nil
	case errors.Is(err, wire.ErrMalformed):
		return out, nil, stepMalformed, nil
	}
	return out, nil, stepBroken, err // a bad length cannot be skipped
}

func (p *wireProtocol) settle()       { p.dec.Unshare() }
func (p *wireProtocol) buffered() int { return p.dec.Buffered() }

func (p *wireProtocol) leftover() []byte {
	rest := append([]byte(nil), p.dec.Rest()...)
	p.dec = wire.Decoder{}
	return rest
}

func (p *wireProtocol) encode(f *wire.Frame) []byte {
	if f != p.enc.last {
		p.enc.buf = wire.Append(p.enc.buf[:0], f)
		p.enc.last = f
	}
	return p.enc.buf
}

func (p *wireProtocol) requested() bool { return false }
func (p *wireProtocol) greeted() bool   { return true }
func (p *wireProtocol) ended() bool     { return false }
func (p *wireProtocol) watched() bool   { return true }

func (p *wireProtocol) timeoutText(why timeout, d time.Duration) string {
	if why == timeoutHello {
		return "no Hello within " + wire.RoundDuration(d).String() + " of connecting"
	}
	return "no sign of life from your side for " + wire.RoundDuration(d).String()
}
