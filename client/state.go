package client

import (
	"fmt"
	"slices"
	"time"
)

// The connection state machine. The client's connection is in exactly one
// connState, held in Client.state; Client.until is when the state's timer
// runs out, for the states that have one. Every change of state goes
// through Client.to, which allows only the transitions in nextStates:
//
//	offline → connecting → hello → ready            the first connection
//	hello → relogin → reentering → ready            a reconnection (relogin ⇄ reclaimWait)
//	any → offline → backingOff → connecting         a failure or loss, then a pause
//	relogin … ready → quitting → offline            the user logs out
//
//	offline      no connection and none under way: before the first attempt,
//	             and at the end (given up, told to go, logged out)
//	connecting   the TCP connection is being made (poll waits for POLLOUT),
//	             until the connect timeout
//	hello        the Hello is sent and not answered: the connection counts as
//	             made (and is reported) only when it is, its end before that
//	             is a failed attempt
//	relogin      after a reconnection, the automatic Login (or Claim of a
//	             guest name) is in flight
//	reclaimWait  the server still holds the name for the old connection (or
//	             was too busy to check a password): the Login or Claim is
//	             asked again when the timer runs out
//	reentering   the automatic Enter of the room the user was in (or the
//	             Create of it, when the server lost its rooms) is in flight
//	ready        the session is as the user left it: requests go out as typed
//	backingOff   the last attempt failed or the connection was lost: the next
//	             attempt starts when the timer runs out (at once when another
//	             server of the round is still to be tried: servers.go)
//	quitting     a Logout is sent: the run ends on its answer, on the end of
//	             the connection, or when the timer runs out
//
// Requests typed in any state but ready (and quitting) wait in Client.queue
// and go out, in order, once ready. Two facts cut across the states:
//
//   - a Login or Claim the user asked for holds everything behind it until
//     it is answered (loginInFlight), so that the server never sees a
//     request that depends on a login before the login has been decided;
//   - from a disconnection while in a room until the replay of what was
//     missed is complete, Client.resume is active (resume.go): the room's
//     messages are held and then shown in order, each once.
type connState uint8

const (
	stateOffline connState = iota
	stateConnecting
	stateHello
	stateRelogin
	stateReclaimWait
	stateReentering
	stateReady
	stateBackingOff
	stateQuitting
)

var stateNames = [...]string{
	stateOffline: "offline", stateConnecting: "connecting", stateHello: "hello",
	stateRelogin: "relogin", stateReclaimWait: "reclaimWait", stateReentering: "reentering",
	stateReady: "ready", stateBackingOff: "backingOff", stateQuitting: "quitting",
}

func (s connState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("connState(%d)", uint8(s))
}

// nextStates lists the states each state may become. Every state may also
// become offline (dropConn: the connection ended or was closed).
var nextStates = [...][]connState{
	stateOffline:     {stateConnecting, stateBackingOff},
	stateConnecting:  {stateHello},
	stateHello:       {stateRelogin, stateReady},
	stateRelogin:     {stateReentering, stateReclaimWait, stateReady, stateQuitting},
	stateReclaimWait: {stateRelogin, stateQuitting},
	stateReentering:  {stateReady, stateQuitting},
	stateReady:       {stateQuitting},
	stateBackingOff:  {stateConnecting},
	stateQuitting:    nil,
}

// established reports whether the server has answered the Hello on the
// current connection.
func (s connState) established() bool {
	switch s {
	case stateRelogin, stateReclaimWait, stateReentering, stateReady, stateQuitting:
		return true
	}
	return false
}

// to moves the connection to state s, with no timer. On the way out
// (quitting) the answers to the automatic re-login and re-entry still come
// and are acted on, but the state stays quitting: the Logout's answer ends
// the run whatever else is answered first. It panics on a transition that
// nextStates does not allow: that is a bug in the client, not an event.
func (c *Client) to(s connState) {
	if c.state == stateQuitting && s.established() {
		return
	}
	c.until = time.Time{}
	if s != c.state && s != stateOffline && !slices.Contains(nextStates[c.state], s) {
		panic(fmt.Sprintf("client: connection state %v cannot become %v", c.state, s))
	}
	c.state = s
}

// toFor moves the connection to state s, whose timer runs out after d.
func (c *Client) toFor(s connState, d time.Duration) {
	if c.state == stateQuitting && s.established() {
		return
	}
	c.to(s)
	c.until = c.now().Add(d)
}

// due reports whether the current state's timer has run out at now.
func (c *Client) due(now time.Time) bool {
	return !c.until.IsZero() && !now.Before(c.until)
}
