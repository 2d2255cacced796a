package client

import "chat/internal/wire"

// The answers to the user's requests: what the client remembers of them
// (the login, the room, the last message seen) and what the user sees.
// The answers to the client's own requests are in resume.go and session.go.

// userReply handles the answer to a request the user typed. secret is the
// password of a Login, kept only if it succeeds.
func (c *Client) userReply(f *wire.Frame, req *request, secret string) {
	ok := f.Code == wire.OK
	switch req.frame.Type {
	case wire.TypeLogin:
		c.loginReply(f, req, secret)
	case wire.TypeClaim:
		c.claimReply(f, req)
	case wire.TypeEnter:
		if ok {
			c.room = textOr(f.Room, req.frame.Room)
			c.lastSeq = f.Seq
		}
		c.show(f, req)
		if ok {
			c.entered(f)
		}
	case wire.TypeHistory:
		c.pageReply(f, req)
	case wire.TypeLeave:
		if ok {
			c.room, c.lastSeq = "", 0
		}
		c.show(f, req)
	case wire.TypeLogout:
		c.logoutReply(f, req)
	case wire.TypeSay:
		if ok && f.Seq > c.lastSeq {
			c.lastSeq = f.Seq
		}
		c.show(f, req)
	case wire.TypeFetch:
		c.fetchReply(f, req)
	case wire.TypeRefuse:
		// The owner's refusal was passed on (or the transfer was over
		// already): nothing to show.
	default:
		c.show(f, req)
	}
}

// loginReply handles the answer to the user's Login. On success the name
// and password are kept, only while logged in, to log in again after a
// reconnection without asking; the resume token the reply may carry is
// kept by reply, for all logins alike.
func (c *Client) loginReply(f *wire.Frame, req *request, secret string) {
	c.show(f, req)
	if f.Code != wire.OK {
		return
	}
	c.user, c.secret, c.loggedIn, c.claimed = textOr(f.Name, req.frame.Name), secret, true, false
	// A login that took over another session is in its room already.
	c.room, c.lastSeq = f.Room, f.Seq
}

// claimReply handles the answer to the user's Claim: a guest name taken
// without a password (modes names and course). A claimed name is claimed
// again after a reconnection, as a password login is logged in again.
func (c *Client) claimReply(f *wire.Frame, req *request) {
	c.show(f, req)
	if f.Code != wire.OK {
		return
	}
	c.user, c.secret, c.token, c.loggedIn, c.claimed = textOr(f.Name, req.frame.Name), "", "", true, true
	c.room, c.lastSeq = "", 0
}

// logoutReply handles the answer to a Logout. On the way out (quitting)
// only a success is worth showing, and the answer ends the run; a logout
// that keeps the connection (mode course) shows its answer either way.
func (c *Client) logoutReply(f *wire.Frame, req *request) {
	quitting := c.state == stateQuitting
	if f.Code == wire.OK || !quitting {
		c.show(f, req)
	}
	c.forgetLogin()
	if quitting {
		c.exit(ExitOK)
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
