package server

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"

	"chat/internal/poller"
	"chat/internal/tlspipe"
	"chat/internal/wire"
	"chat/server/hub"
)

// acceptRetryDelay is how long accepting pauses after the process ran out
// of descriptors, unless a connection closes first.
const acceptRetryDelay = 500 * time.Millisecond

// loop is the poll loop. It returns when the shutdown is complete.
func (s *Server) loop() error {
	var evs []poller.Event
	for {
		timeout := s.timeout(time.Now())
		var err error
		evs, err = s.poll.Wait(timeout, evs)
		if err != nil {
			s.cfg.Logf("%v: stopping", err)
			return err
		}
		now := time.Now()
		for _, ev := range s.passEvents(evs) {
			if ev.Fd == s.wakeup.r {
				s.wakeup.drain()
			} else if c := s.conns[ev.Fd]; c != nil {
				s.ready(c, ev, now)
			} else if l := s.listening(ev.Fd); l != nil {
				s.accept(l, now)
			}
			s.reap(now)
		}
		s.checks.Release(now, s.awaitsCheck)
		s.collect(now)
		s.collectStore(now)
		s.collectCluster(now)
		s.tlsPass(now)
		s.tlsTrim(now)
		s.saveState()
		if s.stop.Load() && !s.shutting {
			s.beginShutdown(now)
		}
		s.expire(now)
		s.guard(now)
		s.relayTick(now)
		s.flushPass(now)
		s.endPass(now)
		s.releaseNames()
		s.publishEvents()
		s.flushMembers(now)
		if s.shutting && (len(s.conns) == 0 || !now.Before(s.deadline)) {
			if n := len(s.conns); n > 0 {
				s.cfg.Logf("shutdown: closing %d connections that did not finish in time", n)
			}
			s.cfg.Logf("shutdown complete")
			return nil
		}
	}
}

// The events one pass handles are bounded, so that a burst (hundreds of
// connections saying Hello and logging in at once) cannot hold the loop
// for a whole pass while a ping that came meanwhile waits for all of it.
// The events left over are still ready (both pollers are level-triggered),
// so the next pass gets them again; each pass starts where the last one
// stopped, so none waits behind the others for good. The bound is
// maxEventsPerPass, or a passEventsShare-th of the connections if that is
// more: every poll(2) call costs time for each descriptor, so with tens of
// thousands of connections a small bound would make passes, not events,
// the cost.
const (
	maxEventsPerPass = 64
	passEventsShare  = 16
)

// passEvents returns the events this pass handles: all of them, or as
// many as the bound allows starting after those the last capped pass took.
// It reuses s.passEvs.
func (s *Server) passEvents(evs []poller.Event) []poller.Event {
	limit := max(maxEventsPerPass, len(s.conns)/passEventsShare)
	if len(evs) <= limit {
		return evs
	}
	start := s.nextEvent % len(evs)
	s.passEvs = append(s.passEvs[:0], evs[start:min(len(evs), start+limit)]...)
	if k := limit - len(s.passEvs); k > 0 {
		s.passEvs = append(s.passEvs, evs[:k]...)
	}
	s.nextEvent = start + limit
	return s.passEvs
}

// timeout is how long poll may wait: until the nearest deadline.
func (s *Server) timeout(now time.Time) time.Duration {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if s.acceptPaused {
		consider(s.acceptRetry)
	}
	if s.shutting {
		consider(s.deadline)
	} else if s.cfg.PingInterval > 0 {
		consider(s.nextSweep)
	}
	for c := range s.closingSet {
		consider(c.since.Add(c.closeBy))
	}
	consider(s.hub.TransferDeadline())
	if s.tls != nil && len(s.conns) > 0 {
		consider(s.tls.nextTrim)
	}
	consider(s.checks.NextRelease())
	consider(s.durable.nextUnshown())
	if s.cluster != nil {
		if len(s.cluster.releases) > 0 || len(s.cluster.events) > 0 {
			consider(now.Add(busyRetry)) // the store had no room for them
		}
		if waiting, retry := s.cluster.members.pending(); waiting {
			next := now.Add(busyRetry)
			if retry.After(next) {
				next = retry
			}
			consider(next)
		}
	}
	if !s.shutting && len(s.conns) > 0 && (s.cfg.HelloTimeout > 0 || s.cfg.FrameTimeout > 0) {
		consider(s.nextGuard)
	}
	if next.IsZero() {
		return -1
	}
	return max(next.Sub(now), 0)
}

// acceptBatch is the most connections one pass accepts from a listening
// socket. The socket stays readable while more wait, so the next pass takes
// the next batch; meanwhile the sessions already connected are served,
// rather than wait for a storm of connections to be accepted in one go.
const acceptBatch = 32

// listening returns the listener whose socket fd is, nil if none.
func (s *Server) listening(fd int) *listener {
	for _, l := range s.listeners {
		if l.fd == fd {
			return l
		}
	}
	return nil
}

// accept takes up to acceptBatch pending connections of a listening socket.
// Running out of descriptors pauses accepting (instead of spinning on a
// listening socket that stays readable) until a connection closes or
// acceptRetryDelay passes.
func (s *Server) accept(l *listener, now time.Time) {
	if l.fd < 0 {
		return
	}
	for range acceptBatch {
		fd, sa, err := unix.Accept4(l.fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err != nil {
			switch err {
			case unix.EAGAIN:
			case unix.EINTR, unix.ECONNABORTED, unix.EPROTO:
				continue
			case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
				if !s.acceptLogged {
					s.acceptLogged = true
					s.cfg.Logf("accept: %v: pausing new connections until descriptors are free", err)
				}
				s.acceptPaused = true
				s.acceptRetry = now.Add(acceptRetryDelay)
				s.setAccepting(false)
			default:
				s.cfg.Logf("accept: %v", err)
			}
			return
		}
		s.acceptLogged = false
		// Small frames go out at once rather than wait for more (Nagle).
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		if err := s.poll.Add(fd); err != nil {
			s.cfg.Logf("accept: %v", err)
			unix.Close(fd)
			continue
		}
		s.nextSid++
		c := &conn{fd: fd, sid: s.nextSid, addr: sockaddrString(sa), lastHeard: now, since: now, proto: l.speak()}
		c.ip, _, _ = net.SplitHostPort(c.addr)
		if l.tls {
			// Its handshake starts with the first bytes it sends.
			c.tls = tlspipe.NewServer(&s.tls.pipes, uint64(c.sid))
		}
		s.conns[fd] = c
		s.bySid[c.sid] = c
		s.perAddr[c.ip]++
		if n := s.perAddr[c.ip]; s.cfg.MaxPerAddr > 0 && n > s.cfg.MaxPerAddr {
			// Refused: the hub never sees this connection.
			s.cfg.Logf("session %d: refused %s: %d connections from that address", c.sid, c.addr, n-1)
			c.hubGone = true
			text := fmt.Sprintf("too many connections from your address (limit %d)", s.cfg.MaxPerAddr)
			if s.writeNow(c, byeFrame(wire.ByeLimit, text, now)) {
				s.startClosing(c, "too many connections from its address", now)
			}
			continue
		}
		s.hub.Connect(c.sid, c.addr, now)
		s.cfg.Logf("session %d: %sconnection from %s", c.sid, l.what, c.addr)
		s.process(c, now) // requests a protocol makes on its own (IRC's Hello)
	}
}

// setAccepting turns read interest on the listening sockets on or off.
func (s *Server) setAccepting(on bool) {
	for _, l := range s.listeners {
		if l.fd >= 0 {
			s.poll.SetRead(l.fd, on)
		}
	}
}

// resumeAccept turns accepting back on after a pause.
func (s *Server) resumeAccept() {
	if s.acceptPaused {
		s.acceptPaused = false
		s.setAccepting(true)
	}
}

// ready handles poll's report for one connection.
func (s *Server) ready(c *conn, ev poller.Event, now time.Time) {
	if d := c.link(); d != nil && !c.closing && !c.dead {
		s.relayReady(c, d, ev, now) // a file transfer's data connection (relay.go)
		return
	}
	if ev.Writable && c.wantsWrite() {
		if err := c.flush(); err != nil {
			s.kill(c, "write: "+err.Error())
			return
		}
		s.afterWrite(c)
	}
	if c.dead || (!ev.Readable && !ev.Hangup && !ev.Err) {
		return
	}
	if c.held && !c.closing {
		if ev.Hangup || ev.Err {
			// Not reading now; leave the poll set until the check is done.
			s.poll.Remove(c.fd)
			c.parked = true
		}
		return
	}
	s.read(c, now)
}

// read does one read and hands the whole frames to the hub.
func (s *Server) read(c *conn, now time.Time) {
	first := !c.heard
	b, err := s.recv(c, len(s.rbuf))
	switch {
	case err == errAgain:
		return
	case err == errNotTLS:
		s.refusePlain(c, now)
		return
	case first && c.tls == nil && !c.closing && looksLikeTLS(b):
		s.refuseTLS(c, now)
		return
	}
	s.received(c, b, err, now)
}

// received hands what was read from c (recv) to its protocol and the
// requests it makes to the hub, and ends the session at the end of its
// stream or on a read error.
func (s *Server) received(c *conn, b []byte, err error, now time.Time) {
	if err != nil && err != io.EOF {
		s.kill(c, "read: "+err.Error())
		return
	}
	if len(b) > 0 && !c.closing { // closing: input is dropped
		c.lastHeard, c.pinged = now, false
		c.proto.feed(b)
		s.process(c, now)
		c.proto.settle()
		if d := c.link(); d != nil {
			// It attached to a transfer: what followed its Attach is file data.
			s.relayBegin(c, d, now)
		}
	}
	if err == io.EOF && !c.dead {
		c.eof = true
		if c.closing {
			s.kill(c, c.why)
			return
		}
		s.lose(c, "connection closed by the peer", now)
	}
}

// process hands the requests a connection's protocol takes out of what it
// was fed to the hub, one by one, until none is whole, a password check
// holds the session, or the session closes.
func (s *Server) process(c *conn, now time.Time) {
	defer s.notePartial(c, c.frames, now)
	c.processing = true
	defer func() { c.processing = false }()
	for !c.held && !c.closing && !c.dead {
		out, req, st, err := c.proto.next(s.direct[:0], &s.frame)
		s.direct = out
		if len(out) > 0 && !s.enqueue(c, out) {
			return
		}
		switch st {
		case stepNone:
			return
		case stepRequest:
			typ := req.Type
			outs := s.hub.Handle(c.sid, req, now)
			s.stats.handled(typ, outs)
			s.apply(outs, now)
		case stepMalformed:
			s.apply(s.hub.BadFrame(c.sid, now), now)
		case stepBroken:
			s.broken(c, err, now)
			return
		}
		c.frames++
		if c.proto.ended() && !c.dead {
			s.startClosing(c, "link closed by the client", now)
		}
	}
}

// broken ends a connection whose stream cannot be decoded any further (a
// frame's length is bad and cannot be skipped): it says why and closes.
func (s *Server) broken(c *conn, err error, now time.Time) {
	s.cfg.Logf("session %d: %v", c.sid, err)
	if s.writeNow(c, byeFrame(wire.ByeMalformed, "bad frame: "+err.Error(), now)) {
		s.lose(c, "malformed stream", now)
	}
}

// writeNow writes a frame the loop itself sends (a Bye, a Ping) at once,
// ahead of what the pass has queued, with room for it past MaxOutput so
// that a Bye reaches even a peer that stopped reading. A failed write kills
// c (false).
func (s *Server) writeNow(c *conn, f *wire.Frame) bool {
	if err := c.write(c.proto.encode(f), s.cfg.MaxOutput+loopFrameRoom); err != nil {
		s.kill(c, "write: "+err.Error())
		return false
	}
	return true
}

// loopFrameRoom is the room past MaxOutput for a frame the loop sends.
const loopFrameRoom = 1024

// byeFrame is a Bye from the server.
func byeFrame(reason wire.Code, text string, now time.Time) *wire.Frame {
	return &wire.Frame{Type: wire.TypeBye, Code: reason, From: wire.ServerName, Text: text, Time: now.UnixMilli()}
}

// pingFrame is a Ping from the server.
func pingFrame(now time.Time) *wire.Frame {
	return &wire.Frame{Type: wire.TypeServerPing, From: wire.ServerName, Time: now.UnixMilli()}
}

// apply carries out the hub's outputs.
func (s *Server) apply(outs []hub.Output, now time.Time) {
	s.applying++
	for _, o := range outs {
		c := s.bySid[o.To]
		switch {
		case o.Relay != nil:
			if c != nil && c.queued && c.link() == nil && !c.dead {
				// What was queued for it goes out before it turns into a
				// data connection (relay.go writes those itself).
				s.flushConn(c)
			}
			s.relayOp(c, o.Relay, now)
			continue
		case o.Store != nil:
			if o.Store.Holds() && c != nil && !c.closing && !c.dead {
				c.held = true
				s.poll.SetRead(c.fd, false)
			}
			s.storeOp(o.Store)
			continue
		case o.Claim != nil:
			if c == nil || c.closing || c.dead {
				continue
			}
			c.held = true
			s.poll.SetRead(c.fd, false)
			s.claimOp(o.Claim)
			continue
		case o.Event != nil:
			s.publishEvent(o.Event)
			continue
		case o.Forward != nil:
			s.forward(o.Forward)
			continue
		case o.Verify != nil:
			if c == nil || c.closing || c.dead {
				continue
			}
			c.held = true
			s.poll.SetRead(c.fd, false)
			s.checks.Check(*o.Verify, c.ip, now)
			continue
		case o.Frame != nil && c != nil && !c.closing && !c.dead:
			s.send(c, o.Frame, now)
		}
		if o.Close && c != nil && !c.dead {
			// The hub has said Bye and forgotten the session's login.
			s.startClosing(c, "closed by the server", now)
		}
	}
	s.hub.Recycle(outs) // the next Handle reuses it
	if s.applying--; s.applying == 0 {
		s.applied(now)
	}
}

// send queues a hub frame for c in c's protocol.
func (s *Server) send(c *conn, f *wire.Frame, now time.Time) {
	if !s.enqueue(c, c.proto.encode(f)) {
		return
	}
	if f.Type == wire.TypeReply && !c.urgent {
		c.urgent = true
		s.urgent = append(s.urgent, c)
	}
	if c.proto.requested() && !c.processing {
		s.requested = append(s.requested, c)
	}
	if c.proto.ended() {
		s.startClosing(c, "link closed by the client", now)
	}
}

// applied runs when the outputs of a hub call are carried out, and those of
// the calls it led to: the encoders forget the frames they kept, and the
// requests that protocols made while encoding (IRC's names after a
// takeover) go to the hub, after the output that caused them rather than
// in the middle of it. A connection already handing its requests over
// (process) takes them itself.
func (s *Server) applied(now time.Time) {
	for _, l := range s.listeners {
		l.enc.reset()
		for i := range l.variants {
			l.variants[i].reset()
		}
	}
	for len(s.requested) > 0 {
		c := s.requested[0]
		s.requested[0] = nil
		s.requested = s.requested[1:]
		if !c.processing {
			s.process(c, now)
		}
	}
	s.requested = nil
}

// enqueue queues encoded output for c, to be written with the rest of
// this pass's; false if c was killed (its queue over the bound).
func (s *Server) enqueue(c *conn, enc []byte) bool {
	if c.out == nil && len(s.freeOut) > 0 {
		c.out = s.freeOut[len(s.freeOut)-1]
		s.freeOut[len(s.freeOut)-1] = nil
		s.freeOut = s.freeOut[:len(s.freeOut)-1]
		s.freeBytes -= cap(c.out.b)
	}
	s.queued += uint64(len(enc))
	if err := c.queue(enc, s.cfg.MaxOutput); err != nil {
		if err == errSlow {
			s.cfg.Logf("session %d: %v: closing it", c.sid, err)
		}
		s.kill(c, "write: "+err.Error())
		return false
	}
	if !c.queued {
		c.queued = true
		s.dirty = append(s.dirty, c)
	}
	return true
}

// flushPass writes the output queued during this loop pass: one write per
// connection however many messages it got, queueing only what the socket
// does not take (EAGAIN). Failed writes kill connections, whose
// disconnection may queue more, hence the loop.
func (s *Server) flushPass(now time.Time) {
	if len(s.dirty) > 0 {
		s.queuedOut.Store(s.queued)
	}
	for len(s.dirty) > 0 {
		s.flushQueued()
		s.reap(now)
	}
}

// flushQueued writes the output of every connection queued so far: with
// the write helpers when there are many (writers.go), else one by one.
//
// Connections with a reply queued go first, one by one: a request's answer
// (a ping's, a command's) does not wait behind the writes of a room's
// worth of messages and notices queued in the same pass (in a login storm
// each login's "entered" notice goes to every member of its room).
func (s *Server) flushQueued() {
	for i, c := range s.urgent {
		c.urgent = false
		s.flushConn(c)
		s.urgent[i] = nil
	}
	s.urgent = s.urgent[:0]
	batch := s.dirty
	s.dirty = s.dirtySpare[:0]
	if s.writers != nil && len(batch) >= parallelWriteMin {
		s.flushParallel(batch)
	} else {
		for _, c := range batch {
			s.flushConn(c)
		}
	}
	clear(batch)
	s.dirtySpare = batch[:0]
}

// flushParallel is flushConn for many connections at once: the helpers
// write, then the loop deals with each outcome in order.
func (s *Server) flushParallel(batch []*conn) {
	jobs := s.flushing[:0]
	for _, c := range batch {
		if c.queued {
			c.queued = false
			if !c.dead {
				jobs = append(jobs, flushJob{c: c})
			}
		}
	}
	s.writers.flush(jobs)
	s.flushing = jobs[:0]
	for i := range jobs {
		c, err := jobs[i].c, jobs[i].err
		jobs[i] = flushJob{}
		switch {
		case c.dead:
		case err != nil:
			s.kill(c, "write: "+err.Error())
		default:
			s.afterWrite(c)
		}
	}
}

// flushConn writes a connection's queued output now.
func (s *Server) flushConn(c *conn) {
	if !c.queued {
		return
	}
	c.queued = false
	if c.dead {
		return
	}
	if err := c.flush(); err != nil {
		s.kill(c, "write: "+err.Error())
		return
	}
	s.afterWrite(c)
}

// The pool of idle output buffers: buffers of at most maxPooledOut bytes
// (bigger ones are left to the garbage collector), maxFreeBytes in all, so
// a pass that writes to a room of thousands reuses them rather than
// allocating, and the pool stays small.
const (
	maxPooledOut = 8 << 10
	maxFreeBytes = 1 << 20
)

// afterWrite sets write interest to match the queue, and moves a closing
// connection on once its output is out.
func (s *Server) afterWrite(c *conn) {
	if c.closing && c.tls != nil && !c.wrShut {
		s.closeTLS(c)
	}
	s.poll.SetWrite(c.fd, c.wantsWrite())
	if c.pending() == 0 && c.out != nil && c.link() == nil {
		// An idle session holds no output buffer: it goes back to the
		// pool for the next one.
		if n := cap(c.out.b); n <= maxPooledOut && s.freeBytes+n <= maxFreeBytes {
			c.out.b, c.out.off = c.out.b[:0], 0
			s.freeOut = append(s.freeOut, c.out)
			s.freeBytes += n
		}
		c.out = nil
	}
	if c.closing && c.pending() == 0 && !c.wrShut {
		c.wrShut = true
		unix.Shutdown(c.fd, unix.SHUT_WR)
		if c.eof {
			s.kill(c, c.why)
		}
	}
}

// collect handles the password checks that finished.
func (s *Server) collect(now time.Time) {
	for {
		r, ok := s.checks.Collect()
		if !ok {
			return
		}
		c := s.bySid[r.Session]
		if c == nil || c.dead {
			continue
		}
		s.checks.Record(r, c.ip, now)
		s.loginChecked(r.Name, r.Verdict)
		s.stats.loginChecked(r.Verdict)
		switch r.Verdict {
		case hub.VerdictOK:
			s.cfg.Logf("session %d: logged in as %s", r.Session, r.Name)
		case hub.VerdictWrong:
			s.cfg.Logf("session %d: failed login as %s", r.Session, r.Name)
		case hub.VerdictBusy:
			s.cfg.Logf("session %d: login as %s refused: too many checks under way", r.Session, r.Name)
		default:
			s.cfg.Logf("session %d: login as %s could not be checked", r.Session, r.Name)
		}
		// In a cluster the login goes on to claim its name: the session
		// stays held until that is done.
		s.outcome(r.Session, true, func() []hub.Output { return s.hub.LoginResult(r.Session, r.ReqID, r.Name, r.Verdict, now) }, now)
	}
}

// awaitsCheck reports whether a session still waits for its password
// check: it is there, not closing, and its frames are held for the check.
func (s *Server) awaitsCheck(sid hub.SessionID) bool {
	c := s.bySid[sid]
	return c != nil && !c.dead && !c.closing && c.held
}

// resume lets a session's frames flow again after its password check.
func (s *Server) resume(c *conn, now time.Time) {
	if c.dead || !c.held {
		return
	}
	c.held = false
	if c.parked {
		c.parked = false
		if err := s.poll.Add(c.fd); err != nil {
			s.kill(c, err.Error())
			return
		}
		s.poll.SetWrite(c.fd, c.wantsWrite())
	} else {
		s.poll.SetRead(c.fd, true)
	}
	if !c.closing {
		s.process(c, now)
	}
}

// lose ends a session the peer left (EOF, malformed stream): the hub tells
// the room, then pending output is flushed before the socket closes.
func (s *Server) lose(c *conn, why string, now time.Time) {
	if !c.hubGone {
		c.hubGone = true
		s.apply(s.hub.DisconnectWhy(c.sid, hub.ReasonLost, c.lostWhy, now), now)
	}
	s.startClosing(c, why, now)
}

// startClosing begins an orderly close: flush, shut the write side, drain
// input until EOF, close; all within ShutdownTimeout.
func (s *Server) startClosing(c *conn, why string, now time.Time) {
	if c.closing || c.dead {
		return
	}
	c.closing, c.why = true, why
	deadline := now.Add(s.cfg.ShutdownTimeout)
	if s.shutting && s.deadline.Before(deadline) {
		deadline = s.deadline
	}
	c.closeBy = deadline.Sub(c.since)
	s.closingSet[c] = struct{}{}
	if c.held {
		// The check's result will be ignored; read again to see EOF.
		c.held = false
		if c.parked {
			c.parked = false
			s.poll.Add(c.fd)
		}
		s.poll.SetRead(c.fd, true)
	}
	s.afterWrite(c)
}

// kill marks a connection to be closed at once; reap does it, so closing
// never happens in the middle of applying outputs.
func (s *Server) kill(c *conn, why string) {
	if c.dead {
		return
	}
	c.dead, c.why = true, why
	s.dying = append(s.dying, c)
}

// reap closes the killed connections, telling the hub about each; that may
// kill more (a write to a room member failing), hence the loop.
func (s *Server) reap(now time.Time) {
	for len(s.dying) > 0 {
		c := s.dying[0]
		s.dying = s.dying[1:]
		if c.link() != nil && len(s.dirty) > 0 {
			// A data connection's close is seen by the client next to
			// its control connection's frames (a transfer's failure):
			// what was queued before goes out first.
			s.flushQueued()
		}
		if !c.hubGone {
			c.hubGone = true
			s.apply(s.hub.Disconnect(c.sid, hub.ReasonLost, now), now)
		}
		s.closeConn(c)
	}
	s.dying = s.dying[:0]
}

func (s *Server) closeConn(c *conn) {
	if !c.parked {
		s.poll.Remove(c.fd)
	}
	delete(s.conns, c.fd)
	delete(s.bySid, c.sid)
	delete(s.closingSet, c)
	if s.perAddr[c.ip]--; s.perAddr[c.ip] <= 0 {
		delete(s.perAddr, c.ip)
	}
	unix.Close(c.fd)
	c.fd = -1
	if c.tls != nil {
		c.tls.Close() // a handshake under way ends
	}
	s.cfg.Logf("session %d: closed (%s)", c.sid, c.why)
	s.resumeAccept()
}

// expire closes connections whose close took too long, and retries accept.
func (s *Server) expire(now time.Time) {
	for c := range s.closingSet {
		if !now.Before(c.since.Add(c.closeBy)) {
			s.kill(c, c.why+"; closed before the peer finished")
		}
	}
	s.reap(now)
	if !s.shutting && s.cfg.PingInterval > 0 && !now.Before(s.nextSweep) {
		s.sweep(now)
	}
	if s.acceptPaused && !now.Before(s.acceptRetry) {
		s.resumeAccept()
	}
}

// beginShutdown starts the graceful shutdown.
func (s *Server) beginShutdown(now time.Time) {
	s.shutting = true
	if s.cfg.Signals {
		// From here a second Ctrl-C kills the process at once, whatever
		// state the shutdown gets stuck in.
		signal.Reset(os.Interrupt)
	}
	s.cfg.Logf("shutting down: telling %d sessions", len(s.conns))
	s.deadline = now.Add(s.cfg.ShutdownTimeout)
	for _, l := range s.listeners {
		if l.fd >= 0 {
			s.poll.Remove(l.fd)
			l.close()
		}
	}
	s.apply(s.hub.Shutdown(now), now)
	for _, c := range s.conns {
		s.startClosing(c, "server shutdown", now)
	}
	s.reap(now)
}

// closeAll closes whatever connections remain when Run ends.
func (s *Server) closeAll() {
	for _, c := range s.conns {
		c.why = "server stopped"
		s.closeConn(c)
	}
}

// sweep pings connections that have been silent for PingInterval and
// declares lost those still silent PeerTimeout after the ping. It runs a
// few times per PingInterval rather than keeping a timer per connection.
func (s *Server) sweep(now time.Time) {
	step := max(min(s.cfg.PingInterval, s.cfg.PeerTimeout)/4, 10*time.Millisecond)
	s.nextSweep = now.Add(step)
	for _, c := range s.conns {
		if c.closing || c.dead || !c.proto.watched() {
			continue // data connections: see relay.go
		}
		if c.held {
			s.aliveWhileHeld(c, now)
			continue
		}
		silent := now.Sub(c.lastHeard)
		switch {
		case c.pinged && silent >= s.cfg.PingInterval+s.cfg.PeerTimeout:
			s.cfg.Logf("session %d: silent for %v", c.sid, silent.Round(time.Millisecond))
			text := c.proto.timeoutText(timeoutSilent, silent)
			c.lostWhy = "ping timeout: no sign of life for " + wire.RoundDuration(silent).String()
			if s.writeNow(c, byeFrame(wire.ByeTimeout, text, now)) {
				s.lose(c, "peer timed out", now)
			}
		case !c.pinged && silent >= s.cfg.PingInterval:
			c.pinged = true
			if s.writeNow(c, pingFrame(now)) {
				s.afterWrite(c)
			}
		}
	}
	s.reap(now)
}
