package client

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"chat/internal/wire"
)

// The resume protocol: after a reconnection the client restores the session
// the user had, by itself, and reports each step.
//
//  1. relogin: log in again with the resume token of the latest login, or
//     with the password kept since the user's login when there is no token
//     or the server refused it; or claim the guest name again (modes names
//     and course). If the server still holds the name for the old
//     connection (or is too busy to check a password), ask again after a
//     pause (reclaimWait), at most maxReclaims times.
//  2. reentering: enter the room the user was in; if the server lost its
//     rooms (a restart), create it and enter it.
//  3. replay: ask for the room's messages said since the last one seen
//     before the disconnection (History from resume.from), and show them
//     with the first live ones, in order, each once (finishResume).
//
// A login that took over the old session (the server had not noticed it
// was gone) is in the room already: its reply says since which message.

// resumeState is the re-entry of a room after a disconnection. It is active
// from the disconnection until the replay of what was missed is complete;
// meanwhile the room's messages are held, to be shown in order, each once.
type resumeState struct {
	active  bool
	room    string       // the room to re-enter
	from    uint64       // the last Seq of room seen before the disconnection
	joinSeq uint64       // the Seq this connection's session joined room at (0: not yet)
	held    []wire.Frame // room's messages since the re-entry began
}

// startResume runs when a connection ends: if the user was in a room, what
// the room says from now on is missed. It remembers where it stopped, so
// that the re-entry asks for everything after it, whatever arrives live
// meanwhile.
func (c *Client) startResume() {
	if c.loggedIn && c.room != "" && !c.resume.active {
		c.resume = resumeState{active: true, room: c.room, from: c.lastSeq}
	}
	// Messages held for the re-entry on the connection that ended are
	// replayed on the next one (History from resume.from), or reported as
	// gone.
	c.resume.held, c.resume.joinSeq = nil, 0
}

// holdForResume keeps a message of the room being re-entered, to be shown
// in order with the replay of what was missed, once it is complete
// (finishResume). It reports whether it kept f.
func (c *Client) holdForResume(f *wire.Frame) bool {
	if !c.resume.active || f.Room == "" || f.Room != c.resume.room {
		return false
	}
	c.resume.held = append(c.resume.held, *f)
	return true
}

// relogin starts restoring the session once the server answered the Hello
// of a new connection. It reports whether there is a login to restore.
func (c *Client) relogin() bool {
	switch {
	case c.loggedIn && c.secret != "":
		c.sendRelogin()
	case c.loggedIn && c.claimed:
		c.transmit(request{frame: wire.Frame{Type: wire.TypeClaim, Name: c.user}, auto: true})
	default:
		return false
	}
	c.to(stateRelogin)
	return true
}

// reclaim asks for the login or the name again, after the pause of
// reclaimWait.
func (c *Client) reclaim() {
	if c.claimed {
		c.transmit(request{frame: wire.Frame{Type: wire.TypeClaim, Name: c.user}, auto: true})
	} else {
		c.sendRelogin()
	}
	c.to(stateRelogin)
}

// sendRelogin sends the automatic Login: with the resume token when the
// server gave one, which spares the server a password check (argon2id)
// for each of the clients that come back at once after a failure; with
// the password otherwise.
func (c *Client) sendRelogin() {
	req := request{frame: wire.Frame{Type: wire.TypeLogin, Name: c.user}, secret: c.secret, auto: true}
	if c.token != "" {
		req.secret, req.token = c.token, true
	}
	c.transmit(req)
}

// reloginReply handles the answer to the automatic Login.
func (c *Client) reloginReply(f *wire.Frame, req *request) {
	switch {
	case f.Code == wire.ErrBadLogin && req.token:
		// The token is not good any more (expired, the password changed,
		// a server of another cluster, or one that takes none), but the
		// password may still be: ask again with it at once. The user
		// hears only of that answer.
		c.token = ""
		c.sendRelogin()
	case f.Code == wire.OK:
		c.report("logged in as " + textOr(f.Name, c.user) + " again")
		if c.resume.active && f.Room != "" && f.Room == c.resume.room {
			// A takeover: this connection is in the room since Seq, and
			// what comes later arrives live.
			c.resume.joinSeq = f.Seq
		}
		c.relogged()
	case f.Code == wire.ErrUnavailable && c.reclaims < maxReclaims:
		// The server is busy checking passwords (a reconnect storm): the
		// credentials are still good, so ask again after a pause, as for
		// a guest name still held. Lines typed meanwhile wait.
		d := c.reclaimLater()
		c.report(fmt.Sprintf("could not log in as %s again yet: %s; trying again in %s", c.user, f.Text, pause(d)))
	default:
		c.report(fmt.Sprintf("could not log in as %s again: %s; log in with: login %s", c.user, f.Text, c.user))
		c.forgetLogin()
		c.to(stateReady)
	}
}

// reclaimReply handles the answer to the automatic Claim of a guest name.
func (c *Client) reclaimReply(f *wire.Frame) {
	switch {
	case f.Code == wire.OK:
		c.report("you are " + textOr(f.Name, c.user) + " again")
		c.relogged()
	case f.Code == wire.ErrNameTaken && c.reclaims < maxReclaims:
		// Most often the server has not yet noticed that the old
		// connection is gone (a silent peer is declared lost only after
		// its liveness timeout): ask again after a pause. Lines typed
		// meanwhile wait, since they need the name.
		d := c.reclaimLater()
		c.report(fmt.Sprintf("the name %s is still taken on the server (perhaps by the old connection); asking for it again in %s", c.user, pause(d)))
	default:
		c.report(fmt.Sprintf("could not get the name %s back: %s", c.user, textOr(refusalText(f), fmt.Sprintf("code %d", f.Code))))
		c.forgetLogin()
		c.to(stateReady)
	}
}

// reclaimLater schedules the next automatic Login or Claim and returns the
// pause before it.
func (c *Client) reclaimLater() time.Duration {
	c.reclaims++
	d := c.backoff.Next()
	c.toFor(stateReclaimWait, d)
	return d
}

// relogged goes on once the login is back: re-enter the room, if any.
func (c *Client) relogged() {
	c.reclaims = 0
	if c.room == "" {
		c.to(stateReady)
		return
	}
	c.transmit(request{frame: wire.Frame{Type: wire.TypeEnter, Room: c.room}, auto: true})
	c.to(stateReentering)
}

// reenterReply handles the answer to the automatic Enter.
func (c *Client) reenterReply(f *wire.Frame, req *request) {
	switch {
	case f.Code == wire.OK && req.again:
		// A room made anew has a history of its own.
		c.report("back in " + c.room)
		c.lastSeq = f.Seq
		c.resume.from, c.resume.joinSeq = 0, 0
		c.finishResume()
	case f.Code == wire.OK:
		c.report("back in " + c.room)
		if c.resume.joinSeq == 0 {
			// Not taken over: the session joined the room now.
			c.resume.joinSeq = f.Seq
		}
		if c.resume.active && c.resume.joinSeq > c.resume.from {
			// Messages were said while we were away: ask for them, from
			// the last one seen before the disconnection, whatever
			// arrived live since. The replay goes on in state ready.
			c.transmit(request{frame: wire.Frame{Type: wire.TypeHistory, Room: c.room, Seq: c.resume.from}, auto: true})
		} else {
			c.finishResume()
		}
		c.lastSeq = max(c.lastSeq, f.Seq)
	case f.Code == wire.ErrNoSuchRoom && !req.again:
		// The server lost its rooms (a restart): make the room again so
		// the user is back where they were.
		c.transmit(request{frame: wire.Frame{Type: wire.TypeCreate, Room: req.frame.Room}, auto: true})
		return
	default:
		c.reenterFailed(req.frame.Room, f.Text)
	}
	c.to(stateReady)
}

// recreateReply handles the answer to the automatic Create of a room the
// server had lost.
func (c *Client) recreateReply(f *wire.Frame, req *request) {
	if f.Code != wire.OK && f.Code != wire.ErrRoomExists {
		c.reenterFailed(req.frame.Room, f.Text)
		c.to(stateReady)
		return
	}
	if f.Code == wire.OK {
		c.report(req.frame.Room + " was gone from the server: created it again")
	}
	c.transmit(request{frame: wire.Frame{Type: wire.TypeEnter, Room: req.frame.Room}, auto: true, again: true})
}

// reenterFailed gives up the re-entry of room: the user is in no room.
func (c *Client) reenterFailed(room, why string) {
	c.report(fmt.Sprintf("could not re-enter %s: %s", room, why))
	c.room, c.lastSeq = "", 0
	c.finishResume()
}

// replayReply handles the answer to the automatic History: the replay is
// complete. It shows the replay, and what arrived live meanwhile, before
// the account of it.
func (c *Client) replayReply(f *wire.Frame) {
	c.finishResume()
	switch {
	case f.Code == wire.OK && f.Count > 0:
		c.report("missed while disconnected: " + textOr(f.Text, wire.Plural(int(f.Count), "message", "messages")) + " (shown above)")
	case f.Code == wire.OK && f.Text != "":
		// None kept, but the server says what was lost.
		c.report("missed while disconnected: " + f.Text)
	case f.Code != wire.OK:
		c.report("could not get the messages missed while disconnected: " + f.Text)
	}
}

// forgetLogin forgets the session the client would restore: after a logout,
// or when the login cannot be restored.
func (c *Client) forgetLogin() {
	c.user, c.secret, c.token, c.loggedIn, c.room, c.lastSeq = "", "", "", false, "", 0
	c.claimed, c.reclaims = false, 0
	c.finishResume()
}

// finishResume ends a re-entry after a disconnection: it shows the room's
// messages held since the re-entry began (the replay of what was missed and
// the first live ones) in order of Seq, each once, and none already seen
// before the disconnection. Those said while the client was away (after
// resume.from, up to resume.joinSeq, where this connection's session joined
// the room) are marked as missed.
func (c *Client) finishResume() {
	if !c.resume.active {
		return
	}
	held := c.resume.held
	slices.SortStableFunc(held, func(a, b wire.Frame) int { return cmp.Compare(a.Seq, b.Seq) })
	now := c.now()
	last := c.resume.from
	var oldestMissed uint64
	for i := range held {
		f := &held[i]
		if f.Seq <= last {
			continue // seen before the disconnection, or replayed and live both
		}
		last = f.Seq
		var lines []string
		if ms, ok := c.mode.(MissedShower); ok && f.Seq <= c.resume.joinSeq {
			if oldestMissed == 0 {
				oldestMissed = f.Seq
			}
			lines = ms.ShowMissed(f, now)
		} else {
			lines = c.mode.Show(f, nil, now)
		}
		for _, l := range lines {
			c.r.Print(l)
		}
	}
	if c.room != "" && c.room == c.resume.room {
		c.lastSeq = max(c.lastSeq, last, c.resume.joinSeq)
		if oldestMissed > 0 {
			// After a long absence the server replays the latest of what
			// was missed: history more goes back from the oldest shown.
			c.pages.room, c.pages.oldest = c.room, oldestMissed
		}
	}
	c.resume = resumeState{}
}
