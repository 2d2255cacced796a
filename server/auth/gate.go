package auth

import (
	"time"

	"chat/server/hub"
)

// Gate is the way from the hub's password checks to the Verifier and back,
// for the loop: each check first waits the delay the login throttle gives it
// (held here, not on a worker), then goes to the workers unless
// MaxPending checks are under way already, in which case it is answered at
// once as busy. It is not safe for concurrent use: the loop goroutine owns
// it, and calls Collect when its wake pipe says results are in.
type Gate struct {
	cfg        GateConfig
	ver        *Verifier
	throttle   *loginThrottle
	held       []heldCheck
	checking   int            // handed to the workers, not yet collected
	answered   []VerifyResult // answered without a check (busy), not yet collected
	busyLogged bool
}

// GateConfig holds the Gate's limits. Zero values take the defaults noted.
type GateConfig struct {
	// Login throttling: once Free attempts were made for an account or
	// from an address, the next one's check waits Delay, doubling with
	// each further attempt up to DelayMax; counts halve every Quiet
	// without an attempt. Delay zero or negative: no throttling.
	Free     int
	Delay    time.Duration
	DelayMax time.Duration
	Quiet    time.Duration
	// MaxPending bounds the checks queued or running (default: the
	// verifier's queue).
	MaxPending int
	// Logf receives the log (never a password). Nil discards it.
	Logf func(format string, args ...any)
	// Resume checks the resume tokens logins carry instead of a password
	// (hub.VerifyRequest.Token). Nil, or off: a token is wrong.
	Resume *Resume
}

// throttleKeys bounds the throttle's table of names and addresses.
const throttleKeys = 100000

// heldCheck is a password check waiting out its throttle delay.
type heldCheck struct {
	at  time.Time
	req hub.VerifyRequest
}

// DefaultGateConfig returns the defaults: 3 attempts free, then 1s
// doubling up to 30s, counts halving every minute; 4096 checks pending (the
// verifier's queue: a restart brings every client back at once, and a
// client whose automatic login is refused asks its user).
func DefaultGateConfig() GateConfig {
	return GateConfig{Free: 3, Delay: time.Second, DelayMax: 30 * time.Second, Quiet: time.Minute, MaxPending: verifierQueue}
}

// NewGate returns a Gate in front of ver.
func NewGate(ver *Verifier, cfg GateConfig) *Gate {
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = verifierQueue
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Gate{cfg: cfg, ver: ver,
		throttle: newLoginThrottle(cfg.Free, max(cfg.Delay, 0), cfg.DelayMax, cfg.Quiet, throttleKeys)}
}

// Check starts the check req for a connection from ip: now, or once the
// throttle's delay for that name and address is over.
func (g *Gate) Check(req hub.VerifyRequest, ip string, now time.Time) {
	if d := g.throttle.admit(req.Name, ip, now); d > 0 {
		g.cfg.Logf("session %d: login as %s held for %v: failed logins for that name or address", req.Session, req.Name, d)
		g.held = append(g.held, heldCheck{at: now.Add(d), req: req})
		return
	}
	g.submit(req, now)
}

// submit hands a check to the workers, or answers it busy. A resume
// token is checked here and now: an HMAC takes microseconds, and the point
// of a token is not to queue behind the password checks.
func (g *Gate) submit(req hub.VerifyRequest, now time.Time) {
	if req.Token {
		g.answered = append(g.answered, VerifyResult{VerifyRequest: req, Verdict: g.checkToken(req, now)})
		return
	}
	if g.checking >= g.cfg.MaxPending || !g.ver.Submit(req) {
		if !g.busyLogged {
			g.busyLogged = true
			g.cfg.Logf("login checks: %d under way; refusing more until some finish", g.checking)
		}
		g.answered = append(g.answered, VerifyResult{VerifyRequest: req, Verdict: hub.VerdictBusy})
		return
	}
	g.busyLogged = false
	g.checking++
}

// Release submits the held checks whose delay is over; those whose session
// no longer waits for them (wanted false: it ended or is closing) are
// dropped, though their attempt still counts.
func (g *Gate) Release(now time.Time, wanted func(hub.SessionID) bool) {
	kept := g.held[:0]
	for _, h := range g.held {
		if now.Before(h.at) {
			kept = append(kept, h)
			continue
		}
		if wanted(h.req.Session) {
			g.submit(h.req, now)
		}
	}
	clear(g.held[len(kept):])
	g.held = kept
}

// NextRelease returns when the first held check is due, zero if none is.
func (g *Gate) NextRelease() time.Time {
	var next time.Time
	for _, h := range g.held {
		if next.IsZero() || h.at.Before(next) {
			next = h.at
		}
	}
	return next
}

// Collect returns the next finished check, if any. The caller passes the
// verdict on to the hub and, while the connection is still there, calls
// Record so the throttle counts it.
func (g *Gate) Collect() (VerifyResult, bool) {
	if len(g.answered) > 0 {
		r := g.answered[0]
		g.answered = g.answered[1:]
		return r, true
	}
	select {
	case r := <-g.ver.Results():
		g.checking--
		return r, true
	default:
		return VerifyResult{}, false
	}
}

// Record takes a collected verdict for a login from ip into account.
func (g *Gate) Record(r VerifyResult, ip string, now time.Time) {
	if r.Token && r.Verdict == hub.VerdictWrong {
		g.throttle.tokenRefused(r.Name, now)
		return
	}
	g.throttle.result(r.Name, ip, r.Verdict, now)
}

// Elsewhere takes into account a checked login as name made on another
// server of a cluster (ok: its password was right), so that guesses
// spread over the servers wait as guesses made at one would.
func (g *Gate) Elsewhere(name string, ok bool, now time.Time) {
	g.throttle.elsewhere(name, ok, now)
}

// checkToken is the verdict on a login with a resume token. A wrong one
// is a wrong password to the connection's failures, but the throttle does
// not count it (Record, loginThrottle.tokenRefused).
func (g *Gate) checkToken(req hub.VerifyRequest, now time.Time) hub.Verdict {
	if err := g.cfg.Resume.Check(req.Name, req.Secret, now); err != nil {
		g.cfg.Logf("session %d: login as %s with a resume token refused: %v", req.Session, req.Name, err)
		return hub.VerdictWrong
	}
	return hub.VerdictOK
}
