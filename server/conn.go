package server

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"chat/internal/tlspipe"
	"chat/server/hub"
)

// conn is one client connection as the loop sees it: the descriptor, the
// protocol it speaks (which holds the bytes read but not yet decoded), and
// the bytes waiting to be written.
//
// Thousands of idle sessions each hold one, so its size counts: the flags
// share one word, output lives in a buffer only
// while some is queued, and the close deadline is an offset (8 bytes where a
// time.Time takes 24).
type conn struct {
	fd   int
	sid  hub.SessionID
	addr string
	ip   string // addr without the port, for MaxPerAddr
	// proto is what the connection speaks (protocol.go): the chat
	// protocol, IRC, or, once attached to a file transfer, its data.
	proto protocol
	// tls, on a TLS listener's connection, encrypts and decrypts what
	// goes through the socket (tls.go); out then holds plaintext.
	tls *tlspipe.Pipe

	// hub.Output queue: out.b[out.off:] is pending; nil when nothing is.
	// Bounded by Config.MaxOutput.
	out *outBuf

	// closeBy: when a closing connection is closed anyway, as an offset
	// from since.
	closeBy time.Duration

	// Liveness: when the peer last sent anything, and whether a Ping is
	// out since then (pinged, below).
	lastHeard time.Time
	// lastAlive: when the server last sent a Ping during a password check
	// (sweep), so the client hears the server is alive meanwhile.
	lastAlive time.Time

	why string

	// lostWhy: why contact was lost, for the room's notice (a timeout).
	lostWhy string

	// Defences (defences.go): when it connected, frames decoded so far,
	// and when the partial frame the decoder holds began (zero: none);
	// whether the hub has its Hello is greeted, below.
	since        time.Time
	frames       int
	partialSince time.Time

	// queued: in Server.dirty, output appended this loop pass and not yet
	// written (flushPass writes it once, coalesced).
	queued bool
	// processing: its requests are being handed to the hub (process).
	processing bool
	// urgent: a reply to this connection is queued this pass, so its
	// output is written before that of connections that only get room
	// messages and notices (Server.urgent).
	urgent bool
	// held: a password check or a message store op is out; frames stay
	// in dec (and in the kernel: read interest is off) until its result is
	// handled, so replies keep request order.
	held bool
	// parked: out of the poll set because it hung up while held (a
	// hangup is reported whatever the interest, which would spin the loop).
	parked bool
	// closing: the connection is being closed: nothing more goes to or comes
	// from the hub; pending output is flushed, then the write side is shut
	// (wrShut) and input is read and dropped until EOF (eof), so the close
	// does not turn into a reset that could destroy the Bye in flight, or
	// until closeBy.
	closing bool
	wrShut  bool
	eof     bool
	pinged  bool
	hubGone bool // hub.Disconnect done
	dead    bool // close now, nothing more can be sent
	greeted bool
	heard   bool // something was read from it
	// tlsUp: its TLS handshake ended well and the loop has seen it (tls.go);
	// tlsShut: its close_notify is queued.
	tlsUp   bool
	tlsShut bool
}

// outBuf is a connection's queued output: b[off:] is pending.
type outBuf struct {
	b   []byte
	off int
}

// pending is how many bytes wait to be written: under TLS, plaintext not
// yet encrypted and records not yet written.
func (c *conn) pending() int {
	n := c.plainPending()
	if c.tls != nil {
		n += c.tls.Pending()
	}
	return n
}

// plainPending is how many bytes of c.out wait.
func (c *conn) plainPending() int {
	if c.out == nil {
		return 0
	}
	return len(c.out.b) - c.out.off
}

// wantsWrite reports whether c waits for its socket to take more: it has
// output that a write could send now.
func (c *conn) wantsWrite() bool {
	if c.tls == nil {
		return c.pending() > 0
	}
	return c.tls.Pending() > 0 || (c.tlsUp && c.plainPending() > 0)
}

// errSlow reports an output queue over its bound.
var errSlow = errors.New("output queue full: the peer does not read")

// write sends b, queueing what the socket does not take at once. It tries
// the socket first only when nothing is queued, so bytes keep their order.
func (c *conn) write(b []byte, max int) error {
	if c.tls != nil {
		if c.pending()+len(b) > max {
			return errSlow
		}
		c.append(b)
		return c.flush()
	}
	if c.pending() == 0 {
		for len(b) > 0 {
			n, err := unix.Write(c.fd, b)
			if err != nil {
				if err == unix.EINTR {
					continue
				}
				if err == unix.EAGAIN {
					break
				}
				return err
			}
			b = b[n:]
		}
		if len(b) == 0 {
			return nil
		}
	}
	if c.pending()+len(b) > max {
		return errSlow
	}
	c.append(b)
	return nil
}

// queue appends b to the output without writing: the loop writes each
// connection's output once per pass (Server.flushPass), so the messages of
// one pass go out in one write. Over max, what is queued is written first
// and errSlow is returned only if the socket does not take enough.
func (c *conn) queue(b []byte, max int) error {
	if c.pending()+len(b) > max {
		if err := c.flush(); err != nil {
			return err
		}
		if c.pending()+len(b) > max {
			return errSlow
		}
	}
	c.append(b)
	return nil
}

// append adds b to the output queue, making one if there is none (the loop
// gives a connection a pooled one first: Server.enqueue).
func (c *conn) append(b []byte) {
	o := c.out
	switch {
	case o == nil:
		o = &outBuf{}
		c.out = o
	case o.off == len(o.b):
		o.b, o.off = o.b[:0], 0
	case o.off > 0 && o.off >= len(o.b)/2 && len(o.b)+len(b) > cap(o.b):
		n := copy(o.b, o.b[o.off:])
		o.b, o.off = o.b[:n], 0
	}
	o.b = append(o.b, b...)
}

// flush writes queued output until the socket would block.
func (c *conn) flush() error {
	if c.tls != nil {
		return c.flushTLS()
	}
	o := c.out
	if o == nil {
		return nil
	}
	for o.off < len(o.b) {
		n, err := unix.Write(c.fd, o.b[o.off:])
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				return nil
			}
			return err
		}
		o.off += n
	}
	o.drained()
	return nil
}

// drained empties the buffer, dropping a big one, so an idle session holds
// little memory after a burst.
func (o *outBuf) drained() {
	if cap(o.b) > 64<<10 {
		o.b = nil
	} else {
		o.b = o.b[:0]
	}
	o.off = 0
}

// flushTLS encrypts the queued plaintext, once the handshake is over, and
// writes the records until the socket would block; the handshake's own
// output goes out before.
func (c *conn) flushTLS() error {
	if err := c.tls.Flush(c.sockWrite); err != nil {
		return err
	}
	if o := c.out; c.tlsUp && o != nil && o.off < len(o.b) {
		err := c.tls.Write(o.b[o.off:], c.sockWrite)
		o.drained()
		return err
	}
	return nil
}

// sockWrite is one non-blocking write to the socket: 0 bytes and no error
// when it would block.
func (c *conn) sockWrite(b []byte) (int, error) {
	for {
		n, err := unix.Write(c.fd, b)
		switch err {
		case nil:
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		return 0, err
	}
}
