package auth

import (
	"time"

	"chat/server/hub"
)

// loginThrottle slows password guessing down (time passed in, no clock
// read). It counts, per account name, the attempts since its last right
// password, and per remote address the wrong passwords; an attempt that
// finds free or more on either waits delay before its password is even
// checked, twice that for each further one, at most delayMax. A check that
// could not run does not count. Counts halve for every quiet period
// without a new one, so a user who mistyped is soon back to no delay.
//
// For an account an attempt counts from the moment it is made, not when
// its verdict is known, so guesses at one account sent in parallel over
// many connections wait like guesses in a row. For an address only wrong
// verdicts count: many users behind one address (a NAT, a restart that
// brings every client back at once) logging in together are not slowed
// down. The table is bounded (maxKeys): when full, counts that decayed to
// nothing are dropped first, then arbitrary ones.
type loginThrottle struct {
	free     int
	delay    time.Duration // 0: no throttling
	delayMax time.Duration
	quiet    time.Duration
	maxKeys  int
	keys     map[string]*attempts
}

type attempts struct {
	n    int
	last time.Time
}

func newLoginThrottle(free int, delay, delayMax, quiet time.Duration, maxKeys int) *loginThrottle {
	return &loginThrottle{free: free, delay: delay, delayMax: delayMax, quiet: quiet, maxKeys: maxKeys,
		keys: make(map[string]*attempts)}
}

func accountKey(name string) string { return "u " + name }
func addressKey(ip string) string   { return "a " + ip }

// admit records an attempt to log in as name from ip and returns how long
// its check must wait.
func (t *loginThrottle) admit(name, ip string, now time.Time) time.Duration {
	if t.delay <= 0 {
		return 0
	}
	byName := t.bump(accountKey(name), now)
	byAddr := time.Duration(0)
	if a := t.keys[addressKey(ip)]; a != nil {
		byAddr = t.wait(t.count(a, now))
	}
	return max(byName, byAddr)
}

// result takes the verdict of an admitted attempt into account.
func (t *loginThrottle) result(name, ip string, v hub.Verdict, now time.Time) {
	if t.delay <= 0 {
		return
	}
	switch v {
	case hub.VerdictOK:
		delete(t.keys, accountKey(name))
	case hub.VerdictWrong:
		t.bump(addressKey(ip), now)
	default: // not checked: it does not count
		t.takeBack(accountKey(name), now)
	}
}

// tokenRefused takes into account a login whose resume token was refused:
// it is no guess at a password, since a token's MAC cannot be guessed, so
// its attempt at the account is taken back and its address not counted.
// Every client's token is refused at once when the chat's key changes (a
// restart with no store): counted, they would hold up everyone behind one
// address as they log in again with their passwords.
func (t *loginThrottle) tokenRefused(name string, now time.Time) {
	if t.delay > 0 {
		t.takeBack(accountKey(name), now)
	}
}

// wait returns the delay an attempt made after n others waits.
func (t *loginThrottle) wait(n int) time.Duration {
	if n < t.free {
		return 0
	}
	shift := n - t.free
	if shift >= 30 {
		return t.delayMax
	}
	return min(t.delay<<shift, t.delayMax)
}

// count returns a's count decayed to now.
func (t *loginThrottle) count(a *attempts, now time.Time) int {
	if t.quiet <= 0 {
		return a.n
	}
	periods := now.Sub(a.last) / t.quiet
	if periods >= 62 {
		return 0
	}
	return a.n >> max(periods, 0)
}

func (t *loginThrottle) bump(key string, now time.Time) time.Duration {
	a := t.keys[key]
	if a == nil {
		if len(t.keys) >= t.maxKeys {
			t.prune(now)
		}
		a = &attempts{}
		t.keys[key] = a
	}
	n := t.count(a, now)
	a.n, a.last = n+1, now
	return t.wait(n)
}

func (t *loginThrottle) takeBack(key string, now time.Time) {
	if a := t.keys[key]; a != nil {
		if a.n = t.count(a, now) - 1; a.n <= 0 {
			delete(t.keys, key)
		}
	}
}

// prune makes room in a full table: the decayed counts go first, then, if
// that is not a quarter of it, arbitrary ones.
func (t *loginThrottle) prune(now time.Time) {
	for k, a := range t.keys {
		if t.count(a, now) == 0 {
			delete(t.keys, k)
		}
	}
	for k := range t.keys {
		if len(t.keys) < t.maxKeys*3/4 {
			break
		}
		delete(t.keys, k)
	}
}

// elsewhere counts a verdict on a login as name given on another server:
// a wrong password is one more attempt at the account, a right one ends
// its count, as here.
func (t *loginThrottle) elsewhere(name string, ok bool, now time.Time) {
	switch {
	case t.delay <= 0:
	case ok:
		delete(t.keys, accountKey(name))
	default:
		t.bump(accountKey(name), now)
	}
}
