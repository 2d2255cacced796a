package auth

import "time"

// The Verifier's hashes as a resume token check needs them: read from
// memory on the loop (PasswordHash), and kept current by a goroutine that
// re-reads a changed users file (KeepCurrent), since the workers re-read it
// only when they check a password, and a login with a token checks none.

// PasswordHash returns name's hash in the users file as last read, false if
// name is no account. It reads no file, so the loop may call it.
func (v *Verifier) PasswordHash(name string) (string, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.users.Hash(name)
}

// Checked returns how many password checks the workers have made.
func (v *Verifier) Checked() int64 { return v.checked.Load() }

// KeepCurrent re-reads the users file every period, if it changed, on a
// goroutine of its own until Close, so that a password changed (passwd,
// useradd rewriting the file) or an account removed ends its resume tokens
// within a period. Call it once, before Close.
func (v *Verifier) KeepCurrent(period time.Duration) {
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		var told string // the failure logged last: said once, not every period
		for {
			select {
			case <-v.quit:
				return
			case <-t.C:
			}
			err := v.refresh()
			switch {
			case err != nil && err.Error() != told:
				told = err.Error()
				v.logf("users file %s: %v (still using the last good copy)", v.path, err)
			case err == nil:
				told = ""
			}
		}
	}()
}
