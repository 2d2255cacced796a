package server

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"chat/internal/wire"
)

// conn is one client connection as the loop sees it: the descriptor, the
// bytes read but not yet decoded, and the bytes waiting to be written.
type conn struct {
	fd   int
	sid  SessionID
	addr string
	ip   string // addr without the port, for MaxPerAddr
	dec  wire.Decoder
	fed  int // bytes fed to dec since it was last replaced

	// Output queue: out[off:] is pending. Bounded by Config.MaxOutput.
	out []byte
	off int
	// queued: in Server.dirty, output appended this loop pass and not yet
	// written (flushPass writes it once, coalesced).
	queued bool

	// verifying: a password check is out; frames stay in dec (and in the
	// kernel: read interest is off) until its result is handled, so replies
	// keep request order.
	verifying bool
	// parked: out of the poll set because it hung up while verifying (a
	// hangup is reported whatever the interest, which would spin the loop).
	parked bool

	// closing: the connection is being closed: nothing more goes to or comes
	// from the hub; pending output is flushed, then the write side is shut
	// and input is read and dropped until EOF (so the close does not turn
	// into a reset that could destroy the Bye in flight), or until deadline.
	closing  bool
	deadline time.Time
	wrShut   bool
	eof      bool

	// Liveness: when the peer last sent anything, and whether a Ping is
	// out since then.
	lastHeard time.Time
	pinged    bool
	// lastAlive: when the server last sent a Ping during a password check
	// (sweep), so the client hears the server is alive meanwhile.
	lastAlive time.Time

	hubGone bool // hub.Disconnect done
	dead    bool // close now, nothing more can be sent
	why     string

	// data: set once the connection attached to a file transfer (relay.go).
	data *dataConn
	// irc: set for a connection to the IRC listener, whose lines it turns
	// into hub requests and back (irc_session.go); dec is unused then.
	irc *ircSession
	// lostWhy: why contact was lost, for the room's notice (a timeout).
	lostWhy string

	// Defences (defences.go): when it connected, whether the hub has its
	// Hello, frames decoded so far, and when the partial frame the decoder
	// holds began (zero: none).
	since        time.Time
	greeted      bool
	frames       int
	partialSince time.Time
}

func (c *conn) pending() int { return len(c.out) - c.off }

// buffered returns the bytes of a partial frame or IRC line held.
func (c *conn) buffered() int {
	if c.irc != nil {
		return c.irc.lines.buffered()
	}
	return c.dec.Buffered()
}

// errSlow reports an output queue over its bound.
var errSlow = errors.New("output queue full: the peer does not read")

// write sends b, queueing what the socket does not take at once. It tries
// the socket first only when nothing is queued, so bytes keep their order.
func (c *conn) write(b []byte, max int) error {
	if c.pending() == 0 {
		c.out, c.off = c.out[:0], 0
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
	if c.off > 0 && c.off >= len(c.out)/2 && len(c.out)+len(b) > cap(c.out) {
		n := copy(c.out, c.out[c.off:])
		c.out, c.off = c.out[:n], 0
	}
	c.out = append(c.out, b...)
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
	if c.pending() == 0 {
		c.out, c.off = c.out[:0], 0
	} else if c.off > 0 && c.off >= len(c.out)/2 && len(c.out)+len(b) > cap(c.out) {
		n := copy(c.out, c.out[c.off:])
		c.out, c.off = c.out[:n], 0
	}
	c.out = append(c.out, b...)
	return nil
}

// flush writes queued output until the socket would block.
func (c *conn) flush() error {
	for c.pending() > 0 {
		n, err := unix.Write(c.fd, c.out[c.off:])
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				return nil
			}
			return err
		}
		c.off += n
	}
	// Drop a big buffer once it has drained, so an idle session holds
	// little memory after a burst.
	if cap(c.out) > 64<<10 {
		c.out = nil
	} else {
		c.out = c.out[:0]
	}
	c.off = 0
	return nil
}
