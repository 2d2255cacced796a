package client

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"chat/internal/wire"
)

// The connection state machine. States, by the fields that hold them:
//
//	waiting to reconnect   conn == nil, retryAt set (the loop's poll timeout)
//	connecting             conn.connecting (poll for POLLOUT, bounded by connectDeadline)
//	saying hello           a Hello pending; the connection counts as made (and is
//	                       reported) only when it is answered, its end before that
//	                       is a failed attempt
//	logging in again       an automatic Login or Claim pending (after a reconnection)
//	waiting to reclaim     reclaimAt set: the server still holds the guest name
//	re-entering            an automatic Enter pending
//	ready                  helloDone, no Hello/Login/Claim/automatic Enter pending, no reclaimAt
//
// Across them, from a disconnection while in a room until the replay of what
// was missed is complete, resuming is set: the room's messages are held and
// shown in order, each once, by finishResume.
//
// Requests typed while not ready wait in queue and go out, in order, once
// ready. Only one Login is in flight at a time and nothing is sent behind
// it, so that the server never sees a request that depends on a login
// before the login has been decided.

// startConnect begins a connection attempt.
func (c *Client) startConnect() {
	c.retryAt = time.Time{}
	cn, err := dial(c.cfg.Addr)
	if err != nil {
		c.connectFailed(err)
		return
	}
	c.conn = cn
	c.connectDeadline = c.now().Add(c.cfg.ConnectTimeout)
	if !cn.connecting {
		c.connected()
	}
}

// connected runs once the TCP connection is established: say hello first.
// The connection counts as made, and is reported, only when the server
// answers the Hello (helloReply): a proxy or a port forwarder accepts TCP
// connections even when the server behind it is down or unreachable.
func (c *Client) connected() {
	c.helloDone = false
	c.lastRecv = c.now()
	c.pingID = 0
	c.transmit(request{frame: wire.Frame{Type: wire.TypeHello, Version: wire.Version, Text: clientSoftware}, auto: true})
}

// connectFailed reports a failed attempt and schedules the next one.
func (c *Client) connectFailed(err error) {
	c.attemptFailed(errText(err))
}

// attemptFailed reports an attempt that failed before the server answered
// the Hello (reason says how) and schedules the next one.
func (c *Client) attemptFailed(reason string) {
	c.dropConn()
	c.failure = fmt.Sprintf("cannot connect to %s: %s", c.cfg.Addr, reason)
	if c.giveUp(c.failure) {
		return
	}
	d := c.backoff.Next()
	c.retryAt = c.now().Add(d)
	c.failed = true
	c.report(fmt.Sprintf("%s; retrying in %s", c.failure, pause(d)))
}

// lost handles the end of a connection that nobody asked for. A
// connection the server never answered the Hello on was not established:
// its end is a failed attempt, reported as one.
func (c *Client) lost(reason string) {
	up := c.helloDone
	c.dropConn()
	if c.quitting {
		// The user was leaving anyway.
		c.exit(ExitOK)
		return
	}
	if !up {
		c.attemptFailed(reason)
		return
	}
	c.failure = fmt.Sprintf("connection to %s lost: %s", c.cfg.Addr, reason)
	if c.giveUp(c.failure) {
		return
	}
	d := c.backoff.Next()
	c.retryAt = c.now().Add(d)
	c.failed = true
	c.report(fmt.Sprintf("%s; reconnecting in %s", c.failure, pause(d)))
}

// giveUp ends the client when there is nobody to reconnect for: the input
// has ended, so nothing more will be typed. Lines still waiting keep it
// trying, unless the server was never reached at all. failure says what
// went wrong.
func (c *Client) giveUp(failure string) bool {
	if !c.stdinEOF {
		return false
	}
	unsent := len(c.queue)
	if len(c.inbuf) > 0 {
		unsent++
	}
	if unsent > 0 && c.everConnected {
		return false
	}
	text := failure + "; the input has ended, so not retrying"
	if unsent > 0 {
		text += "; input not sent"
	}
	c.report(text + "; exiting")
	c.exit(ExitError)
	return true
}

// dropConn closes the connection and forgets the requests in flight: their
// answers will never come, and sending them again could deliver a message
// twice.
func (c *Client) dropConn() {
	if c.conn != nil {
		c.conn.close()
		c.conn = nil
	}
	for id, req := range c.pending {
		if req.frame.Type == wire.TypeLogin && !req.auto {
			c.report(fmt.Sprintf("the login as %s was not answered; log in again with: login %s", req.frame.Name, req.frame.Name))
		}
		if req.frame.Type == wire.TypeClaim && !req.auto {
			c.report(fmt.Sprintf("the name %s was not confirmed before the connection was lost; ask for it again", req.frame.Name))
		}
		if req.frame.Type == wire.TypeFetch {
			// Not sent again by itself: the owner may have been asked
			// already, and a second request would fetch the file twice.
			c.report(fmt.Sprintf("could not get %s from %s: the connection was lost before the server answered the request; ask for the file again", req.frame.Name, req.frame.To))
		}
		req.secret = ""
		delete(c.pending, id)
	}
	c.helloDone = false
	c.pingID = 0
	if c.loggedIn && c.room != "" && !c.resuming {
		// What the room says from now on is missed: remember where it
		// stopped, so that the re-entry asks for everything after it,
		// whatever arrives live meanwhile.
		c.resuming, c.resumeRoom, c.resumeFrom = true, c.room, c.lastSeq
	}
	// Messages held for the re-entry on this connection are replayed on
	// the next one (History from resumeFrom), or reported as gone.
	c.held, c.joinSeq = nil, 0
	// The next Hello claims the name again anyway.
	c.reclaimAt, c.reclaims = time.Time{}, 0
}

// ready reports whether a request can be sent now rather than queued.
func (c *Client) ready() bool {
	if c.conn == nil || c.conn.connecting || !c.helloDone || len(c.queue) > 0 || !c.reclaimAt.IsZero() {
		return false
	}
	return !c.holding()
}

// holding reports whether a request in flight must be answered before
// anything else is sent: a Hello, a Login or Claim, or the automatic
// re-entry.
func (c *Client) holding() bool {
	for _, req := range c.pending {
		switch {
		case req.frame.Type == wire.TypeHello, req.frame.Type == wire.TypeLogin, req.frame.Type == wire.TypeClaim,
			req.auto && (req.frame.Type == wire.TypeEnter || req.frame.Type == wire.TypeCreate):
			return true
		}
	}
	return false
}

// submit sends a request the user asked for, or queues it until the
// connection is ready.
func (c *Client) submit(req request) {
	if c.ready() {
		c.transmit(req)
		return
	}
	if len(c.queue) >= maxQueue {
		req.secret = ""
		c.report(fmt.Sprintf("not connected to %s and %d lines are already waiting; this line was dropped", c.cfg.Addr, maxQueue))
		return
	}
	c.queue = append(c.queue, req)
	if c.failed {
		// Only worth telling when the connection is really down, not while
		// a login is being checked.
		c.queuedTold++
		c.report(fmt.Sprintf("not connected: line queued (%d waiting); it will be sent after reconnecting", len(c.queue)))
	}
}

// flushQueue sends queued requests while the connection is ready.
func (c *Client) flushQueue() {
	sent := 0
	for len(c.queue) > 0 && c.conn != nil && !c.conn.connecting && c.helloDone && !c.holding() {
		req := c.queue[0]
		c.queue[0] = request{}
		c.queue = c.queue[1:]
		c.transmit(req)
		sent++
	}
	if len(c.queue) == 0 {
		c.queue = nil
		if c.queuedTold > 0 && sent > 0 {
			c.report(fmt.Sprintf("sent %s typed while disconnected", wire.Plural(c.queuedTold, "line", "lines")))
			c.queuedTold = 0
		}
	}
}

// transmit gives req an ID and writes it to the connection.
func (c *Client) transmit(req request) {
	c.nextID++
	if c.nextID == 0 {
		c.nextID = 1
	}
	f := req.frame
	f.ID = c.nextID
	if f.Type == wire.TypeLogin {
		f.Secret = req.secret
	}
	c.conn.send(&f)
	f.Secret = ""
	req.frame = f
	c.pending[f.ID] = &req
}

// frame handles one frame from the server.
func (c *Client) frame(f *wire.Frame) {
	now := c.now()
	switch f.Type {
	case wire.TypeReply:
		c.reply(f)
	case wire.TypeServerPing:
		c.conn.send(&wire.Frame{Type: wire.TypePong})
	case wire.TypeBye:
		c.bye(f)
	case wire.TypeMessage:
		if c.resuming && f.Room != "" && f.Room == c.resumeRoom {
			// Back in the room after a disconnection: the replay of what
			// was missed and the first live messages are shown together,
			// in order, once the replay is complete (finishResume).
			c.held = append(c.held, *f)
			return
		}
		if f.Room == c.room && f.Seq > c.lastSeq {
			c.lastSeq = f.Seq
		}
		for _, l := range c.mode.Show(f, nil, now) {
			c.r.Print(l)
		}
	case wire.TypePrivate, wire.TypeNotice:
		for _, l := range c.mode.Show(f, nil, now) {
			c.r.Print(l)
		}
	case wire.TypeFileOffer:
		c.offer(f)
	case wire.TypeFileFailed:
		c.fileFailed(f)
	default:
		// A newer server's frame: nothing to show.
	}
}

// reply handles the answer to a request: it updates what the client
// remembers (login, room) and shows the answer.
func (c *Client) reply(f *wire.Frame) {
	req := c.pending[f.ID]
	if req == nil {
		// Not an answer to anything in flight (the server's answer to a
		// malformed frame has ID 0): still worth showing.
		c.show(f, nil)
		return
	}
	delete(c.pending, f.ID)
	secret := req.secret
	req.secret = ""
	ok := f.Code == wire.OK
	switch req.frame.Type {
	case wire.TypeHello:
		if !ok {
			c.report(fmt.Sprintf("the server refused this client: %s; exiting", textOr(f.Text, "protocol version not supported")))
			c.exit(ExitError)
			return
		}
		// Only now is the connection really up: the server answered.
		if c.everConnected {
			c.report("reconnected to " + c.cfg.Addr)
		} else {
			c.report("connected to " + c.cfg.Addr)
		}
		c.everConnected = true
		c.helloDone = true
		c.failed = false
		c.backoff.Reset()
		switch {
		case c.loggedIn && c.secret != "":
			c.transmit(request{frame: wire.Frame{Type: wire.TypeLogin, Name: c.user}, secret: c.secret, auto: true})
		case c.loggedIn && c.claimed:
			c.transmit(request{frame: wire.Frame{Type: wire.TypeClaim, Name: c.user}, auto: true})
		}
	case wire.TypeLogin:
		c.loginReply(f, req, secret)
	case wire.TypeClaim:
		c.claimReply(f, req)
	case wire.TypeEnter:
		if ok && !req.auto {
			c.room = textOr(f.Room, req.frame.Room)
			c.lastSeq = f.Seq
		}
		if req.auto {
			switch {
			case ok && req.again:
				// A room made anew has a history of its own.
				c.report("back in " + c.room)
				c.lastSeq = f.Seq
				c.resumeFrom, c.joinSeq = 0, 0
				c.finishResume()
			case ok:
				c.report("back in " + c.room)
				if c.joinSeq == 0 {
					// Not taken over: the session joined the room now.
					c.joinSeq = f.Seq
				}
				if c.resuming && c.joinSeq > c.resumeFrom {
					// Messages were said while we were away: ask for them,
					// from the last one seen before the disconnection,
					// whatever arrived live since.
					c.transmit(request{frame: wire.Frame{Type: wire.TypeHistory, Room: c.room, Seq: c.resumeFrom}, auto: true})
				} else {
					c.finishResume()
				}
				c.lastSeq = max(c.lastSeq, f.Seq)
			case f.Code == wire.ErrNoSuchRoom && !req.again:
				// The server lost its rooms (a restart): make the room
				// again so the user is back where they were.
				c.transmit(request{frame: wire.Frame{Type: wire.TypeCreate, Room: req.frame.Room}, auto: true})
			default:
				c.report(fmt.Sprintf("could not re-enter %s: %s", req.frame.Room, f.Text))
				c.room, c.lastSeq = "", 0
				c.finishResume()
			}
		} else {
			c.show(f, req)
		}
	case wire.TypeCreate:
		if !req.auto {
			c.show(f, req)
			break
		}
		if ok || f.Code == wire.ErrRoomExists {
			if ok {
				c.report(req.frame.Room + " was gone from the server: created it again")
			}
			c.transmit(request{frame: wire.Frame{Type: wire.TypeEnter, Room: req.frame.Room}, auto: true, again: true})
		} else {
			c.report(fmt.Sprintf("could not re-enter %s: %s", req.frame.Room, f.Text))
			c.room, c.lastSeq = "", 0
			c.finishResume()
		}
	case wire.TypeLeave:
		if ok {
			c.room, c.lastSeq = "", 0
		}
		c.show(f, req)
	case wire.TypeLogout:
		// On the way out (c.quitting) only a success is worth showing; a
		// logout that keeps the connection (course) shows its answer
		// either way.
		if ok || !c.quitting {
			c.show(f, req)
		}
		c.forgetLogin()
		if c.quitting {
			c.exit(ExitOK)
			return
		}
	case wire.TypeSay:
		if ok && f.Seq > c.lastSeq {
			c.lastSeq = f.Seq
		}
		c.show(f, req)
	case wire.TypeHistory:
		if req.auto {
			// The replay is complete: show it, and what arrived live
			// meanwhile, before the account of it.
			c.finishResume()
			if ok && f.Count > 0 {
				c.report("missed while disconnected: " + textOr(f.Text, wire.Plural(int(f.Count), "message", "messages")) + " (shown above)")
			} else if ok && f.Text != "" {
				// None kept, but the server says what was lost.
				c.report("missed while disconnected: " + f.Text)
			} else if !ok {
				c.report("could not get the messages missed while disconnected: " + f.Text)
			}
		} else {
			c.show(f, req)
		}
	case wire.TypePing:
		if req.auto {
			c.pingID = 0
		} else {
			c.show(f, req)
		}
	case wire.TypeFetch:
		c.fetchReply(f, req)
	case wire.TypeRefuse:
		// The owner's refusal was passed on (or the transfer was over
		// already): nothing to show.
	default:
		c.show(f, req)
	}
	c.flushQueue()
}

func (c *Client) loginReply(f *wire.Frame, req *request, secret string) {
	ok := f.Code == wire.OK
	name := textOr(f.Name, req.frame.Name)
	if req.auto {
		if ok {
			c.reclaims = 0
			c.report("logged in as " + name + " again")
			if c.resuming && f.Room != "" && f.Room == c.resumeRoom {
				// A takeover: this connection is in the room since Seq,
				// and what comes later arrives live.
				c.joinSeq = f.Seq
			}
			if c.room != "" {
				c.transmit(request{frame: wire.Frame{Type: wire.TypeEnter, Room: c.room}, auto: true})
			}
			return
		}
		if f.Code == wire.ErrUnavailable && c.reclaims < maxReclaims {
			// The server is busy checking passwords (a reconnect storm):
			// the credentials are still good, so ask again after a pause,
			// as for a guest name still held. Lines typed meanwhile wait.
			c.reclaims++
			d := c.backoff.Next()
			c.reclaimAt = c.now().Add(d)
			c.report(fmt.Sprintf("could not log in as %s again yet: %s; trying again in %s", c.user, f.Text, pause(d)))
			return
		}
		c.report(fmt.Sprintf("could not log in as %s again: %s; log in with: login %s", c.user, f.Text, c.user))
		c.forgetLogin()
		return
	}
	c.show(f, req)
	if ok {
		// Kept only while logged in, to log in again after a reconnection
		// without asking (S0.7).
		c.user, c.secret, c.loggedIn, c.claimed = name, secret, true, false
		// A login that took over another session is in its room already.
		c.room, c.lastSeq = f.Room, f.Seq
	}
}

// claimReply handles the answer to a Claim: a guest name taken without a
// password (modes names and course). A claimed name is claimed again after
// a reconnection, as a password login is logged in again (S0.7).
func (c *Client) claimReply(f *wire.Frame, req *request) {
	ok := f.Code == wire.OK
	name := textOr(f.Name, req.frame.Name)
	if !req.auto {
		c.show(f, req)
		if ok {
			c.user, c.secret, c.loggedIn, c.claimed = name, "", true, true
			c.room, c.lastSeq = "", 0
		}
		return
	}
	switch {
	case ok:
		c.reclaims = 0
		c.report("you are " + name + " again")
		if c.room != "" {
			c.transmit(request{frame: wire.Frame{Type: wire.TypeEnter, Room: c.room}, auto: true})
		}
	case f.Code == wire.ErrNameTaken && c.reclaims < maxReclaims:
		// Most often the server has not yet noticed that the old
		// connection is gone (a silent peer is declared lost only after
		// its liveness timeout): ask again after a pause. Lines typed
		// meanwhile wait (ready is false), since they need the name.
		c.reclaims++
		d := c.backoff.Next()
		c.reclaimAt = c.now().Add(d)
		c.report(fmt.Sprintf("the name %s is still taken on the server (perhaps by the old connection); asking for it again in %s", c.user, pause(d)))
	default:
		c.report(fmt.Sprintf("could not get the name %s back: %s", c.user, textOr(refusalText(f), fmt.Sprintf("code %d", f.Code))))
		c.forgetLogin()
	}
}

func (c *Client) forgetLogin() {
	c.user, c.secret, c.loggedIn, c.room, c.lastSeq = "", "", false, "", 0
	c.claimed, c.reclaimAt, c.reclaims = false, time.Time{}, 0
	c.finishResume()
}

// finishResume ends a re-entry after a disconnection: it shows the room's
// messages held since the re-entry began (the replay of what was missed and
// the first live ones) in order of Seq, each once, and none already seen
// before the disconnection. Those said while the client was away (after
// resumeFrom, up to joinSeq, where this connection's session joined the
// room) are marked as missed.
func (c *Client) finishResume() {
	if !c.resuming {
		return
	}
	held := c.held
	slices.SortStableFunc(held, func(a, b wire.Frame) int { return cmp.Compare(a.Seq, b.Seq) })
	now := c.now()
	last := c.resumeFrom
	for i := range held {
		f := &held[i]
		if f.Seq <= last {
			continue // seen before the disconnection, or replayed and live both
		}
		last = f.Seq
		var lines []string
		if ms, ok := c.mode.(MissedShower); ok && f.Seq <= c.joinSeq {
			lines = ms.ShowMissed(f, now)
		} else {
			lines = c.mode.Show(f, nil, now)
		}
		for _, l := range lines {
			c.r.Print(l)
		}
	}
	if c.room != "" && c.room == c.resumeRoom {
		c.lastSeq = max(c.lastSeq, last, c.joinSeq)
	}
	c.resuming, c.resumeRoom, c.resumeFrom, c.joinSeq, c.held = false, "", 0, 0, nil
}

// bye handles the server's last word on this connection.
func (c *Client) bye(f *wire.Frame) {
	text := textOr(f.Text, fmt.Sprintf("reason %d", f.Code))
	switch {
	case f.Code == wire.ByeTakeover:
		c.dropConn()
		c.report(fmt.Sprintf("disconnected by %s: %s; not reconnecting, exiting", c.cfg.Addr, text))
		c.exit(ExitError)
	case f.Code == wire.ByeLogout || c.quitting:
		c.dropConn()
		c.exit(ExitOK)
	default:
		c.lost("the server said: " + text)
	}
}

// show prints the mode's rendering of a reply to req (nil: a reply to no
// request in flight).
func (c *Client) show(f *wire.Frame, req *request) {
	var lines []string
	switch {
	case req == nil:
		lines = c.mode.Show(f, nil, c.now())
	case req.quiet:
	case req.view != "":
		if vs, ok := c.mode.(ViewShower); ok {
			lines = vs.ShowView(req.view, f, &req.frame, c.now())
			break
		}
		lines = c.mode.Show(f, &req.frame, c.now())
	default:
		lines = c.mode.Show(f, &req.frame, c.now())
	}
	for _, l := range lines {
		c.r.Print(l)
	}
}

// readConn reads and handles what the server sent.
func (c *Client) readConn(buf []byte) {
	if err := c.conn.readSome(buf); err != nil {
		c.lost(errText(err))
		return
	}
	c.lastRecv = c.now()
	var f wire.Frame
	for c.conn != nil && !c.done {
		ok, err := c.conn.dec.Next(&f)
		if errors.Is(err, wire.ErrMalformed) {
			c.report("ignored a frame from the server that could not be read; going on")
			continue
		}
		if err != nil {
			c.lost("the server sent data that is not the chat protocol: " + err.Error())
			return
		}
		if !ok {
			return
		}
		c.frame(&f)
	}
}

// timers runs what is due: a reconnection attempt, a connect timeout, the
// liveness ping, a logout that was never answered.
func (c *Client) timers() {
	now := c.now()
	switch {
	case c.conn == nil && !c.retryAt.IsZero() && !now.Before(c.retryAt):
		c.startConnect()
	case c.conn != nil && c.conn.connecting && !now.Before(c.connectDeadline):
		c.connectFailed(fmt.Errorf("no answer after %s", pause(c.cfg.ConnectTimeout)))
	case c.conn != nil && !c.conn.connecting:
		silent := now.Sub(c.lastRecv)
		if silent >= 2*c.cfg.PingAfter {
			c.lost(fmt.Sprintf("no answer from the server for %s", silence(silent)))
		} else if silent >= c.cfg.PingAfter && c.pingID == 0 && c.helloDone {
			c.transmit(request{frame: wire.Frame{Type: wire.TypePing}, auto: true})
			c.pingID = c.nextID
		}
	}
	if !c.escAt.IsZero() && !now.Before(c.escAt) {
		c.escapeTimeout()
	}
	c.transferTimers(now)
	if !c.reclaimAt.IsZero() && !now.Before(c.reclaimAt) && c.conn != nil && !c.conn.connecting && c.helloDone && !c.quitting && !c.done {
		c.reclaimAt = time.Time{}
		if c.claimed {
			c.transmit(request{frame: wire.Frame{Type: wire.TypeClaim, Name: c.user}, auto: true})
		} else {
			c.transmit(request{frame: wire.Frame{Type: wire.TypeLogin, Name: c.user}, secret: c.secret, auto: true})
		}
	}
	if c.quitting && !c.done && !now.Before(c.quitDeadline) {
		c.report("the server did not answer the logout; exiting")
		c.exit(ExitOK)
	}
}

// nextTimer returns when timers has something to do, or the zero time.
func (c *Client) nextTimer() time.Time {
	var t time.Time
	earliest := func(u time.Time) {
		if !u.IsZero() && (t.IsZero() || u.Before(t)) {
			t = u
		}
	}
	switch {
	case c.conn == nil:
		earliest(c.retryAt)
	case c.conn.connecting:
		earliest(c.connectDeadline)
	default:
		if c.pingID == 0 && c.helloDone {
			earliest(c.lastRecv.Add(c.cfg.PingAfter))
		}
		earliest(c.lastRecv.Add(2 * c.cfg.PingAfter))
	}
	if c.quitting {
		earliest(c.quitDeadline)
	}
	earliest(c.reclaimAt)
	earliest(c.escAt)
	earliest(c.transferDeadline())
	return t
}

// logout ends the session as the user asked (logout, Ctrl-D, end of input):
// tell the server if there is a connection to tell, then exit 0.
func (c *Client) logout() {
	if n := len(c.queue); n > 0 {
		c.report(fmt.Sprintf("%s not sent", wire.Plural(n, "queued line", "queued lines")))
		for i := range c.queue {
			c.queue[i].secret = ""
		}
		c.queue = nil
	}
	if c.conn == nil || c.conn.connecting || !c.helloDone {
		if c.loggedIn {
			c.report(fmt.Sprintf("not connected to %s, so the server cannot be told of the logout; exiting", c.cfg.Addr))
		}
		c.exit(ExitOK)
		return
	}
	q, _ := c.mode.(QuietExiter)
	c.transmit(request{frame: wire.Frame{Type: wire.TypeLogout}, quiet: q != nil && q.QuietExit()})
	c.quitting = true
	c.quitDeadline = c.now().Add(logoutWait)
}

// hastyLogout tells the server the user is leaving without waiting for an
// answer (Ctrl-C, SIGTERM): the room hears that the user left, not that
// contact was lost.
func (c *Client) hastyLogout() {
	if c.conn == nil || c.conn.connecting || !c.helloDone || !c.loggedIn {
		return
	}
	c.transmit(request{frame: wire.Frame{Type: wire.TypeLogout}})
	_ = c.conn.flush()
}

// errText describes a connection error for a person: "connection refused"
// rather than "connect: connection refused".
func errText(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

func textOr(s, alt string) string {
	if s != "" {
		return s
	}
	return alt
}
