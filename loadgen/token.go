package loadgen

import (
	"time"

	"chat/internal/wire"
	"chat/internal/wireconn"
	"chat/server/auth"
)

// A session logged in to an account keeps the newest resume token the
// servers gave it (a Login reply's Secret) and logs in with it after a
// lost connection, as a client does (PROTOCOL.md, "Resume tokens"): a
// token is checked without argon2, on any server of a cluster, where the
// thousands of password checks of a server's sessions failing over at
// once would queue on the others' cores for minutes. A token the server
// refuses (expired, the password changed, tokens off where it was made)
// is dropped and the password used instead.

// errTokenRefused is the retry kind counted when a token was refused.
const errTokenRefused = "resume token refused"

// loginAccount logs c in to account name: with *token when it holds one,
// with password when it does not or the server refused the token (then
// on the same connection). A reply's token replaces *token; a reply
// without one (a server with tokens off) leaves it. tokenRefused reports
// that the token was refused, for the run's retry counts. Any other
// refusal of the token (the server busy, not serving logins yet) is an
// error, and the token is kept for the next attempt.
func loginAccount(c *wireconn.Conn, name, password string, token *string, timeout time.Duration) (r *wire.Frame, tokenRefused bool, err error) {
	if *token != "" {
		r, err := c.Call(&wire.Frame{Type: wire.TypeLogin, Name: name, Secret: *token}, timeout)
		switch {
		case err != nil:
			return nil, false, err
		case r.Code == wire.OK:
			keepToken(token, r)
			return r, false, nil
		case r.Code != wire.ErrBadLogin:
			return nil, false, &wireconn.RefusedError{Req: wire.TypeLogin, Code: r.Code, Text: r.Text}
		}
		*token, tokenRefused = "", true
	}
	r, err = c.CallOK(&wire.Frame{Type: wire.TypeLogin, Name: name, Secret: password}, timeout)
	if err != nil {
		return nil, tokenRefused, err
	}
	keepToken(token, r)
	return r, tokenRefused, nil
}

// keepToken keeps the token a Login reply gave, if it gave one.
func keepToken(token *string, r *wire.Frame) {
	if auth.IsToken(r.Secret) {
		*token = r.Secret
	}
}
