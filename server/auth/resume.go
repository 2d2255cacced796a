package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Resume tokens let a client that lost its connection log in again without
// its password: a password check is argon2id, tens of milliseconds of a
// core, so the thousands of clients of a server that died would otherwise
// queue for minutes on the one they fail over to. A token is
//
//	v1.<name>.<expiry, Unix seconds>.<MAC, base64url without padding>
//
// with the MAC an HMAC-SHA256, under the chat's key, of the name, the expiry
// and a fingerprint of the account's password hash: changing the password
// or removing the account (the users file rewritten) makes every token of
// the account wrong at once, and so does a new key. The name is the only
// part of variable length and may hold dots, so a token is read from its
// end.

// TokenPrefix begins every resume token.
const TokenPrefix = "v1."

// ResumeKeyBytes is the length of the key resume tokens are made with.
const ResumeKeyBytes = 32

// DefaultResumeTTL is how long a token is good for.
const DefaultResumeTTL = 24 * time.Hour

// macBytes is the length of a token's MAC (SHA-256).
const macBytes = sha256.Size

// Why a token is refused. The client is told only that it is not valid;
// these are for tests and the log.
var (
	// ErrTokenMalformed: the Secret does not have a token's shape.
	ErrTokenMalformed = errors.New("not a resume token")
	// ErrTokenExpired: the token's validity is over.
	ErrTokenExpired = errors.New("resume token expired")
	// ErrTokenWrong: the MAC does not match: forged, for another name, of
	// a password changed since, of an account removed, or made with
	// another key.
	ErrTokenWrong = errors.New("resume token not valid")
	// ErrTokensOff: this server gives and takes no tokens.
	ErrTokensOff = errors.New("resume tokens are off")
)

// HashLookup returns an account's stored password hash, false if there is
// no such account. It is called on the loop, so it must answer from memory.
type HashLookup func(name string) (hash string, ok bool)

// Resume makes and checks resume tokens. Its key is set before the server
// starts serving (SetKey) and only read after, so Issue and Check may be
// called from any goroutine; the loop calls them.
type Resume struct {
	key    []byte
	ttl    time.Duration
	hashOf HashLookup
}

// NewResume returns a Resume whose tokens are good for ttl (0 or less: none
// are given or taken), checked against the hashes hashOf gives. Its key is
// random until SetKey, so that tokens work at least until the process
// ends when no store keeps the chat's key.
func NewResume(ttl time.Duration, hashOf HashLookup) *Resume {
	return &Resume{key: NewResumeKey(), ttl: ttl, hashOf: hashOf}
}

// NewResumeKey returns a random key for resume tokens.
func NewResumeKey() []byte {
	key := make([]byte, ResumeKeyBytes)
	rand.Read(key) // never fails (crypto/rand's documented contract)
	return key
}

// SetKey sets the chat's key, shared by its servers. It must be called
// before the Resume is used.
func (r *Resume) SetKey(key []byte) error {
	if len(key) != ResumeKeyBytes {
		return errors.New("resume key: want " + strconv.Itoa(ResumeKeyBytes) + " bytes, have " + strconv.Itoa(len(key)))
	}
	r.key = append([]byte(nil), key...)
	return nil
}

// On reports whether tokens are given and taken.
func (r *Resume) On() bool { return r != nil && r.ttl > 0 }

// IsToken reports whether a Login's Secret is a resume token rather than a
// password: it has a token's shape. A password that merely begins with
// "v1." is still checked as a password.
func IsToken(secret string) bool {
	_, _, _, err := parseToken(secret)
	return err == nil
}

// Issue returns a token for name good for the TTL from now, "" when tokens
// are off or name is no account (any more).
func (r *Resume) Issue(name string, now time.Time) string {
	if !r.On() {
		return ""
	}
	hash, ok := r.hashOf(name)
	if !ok {
		return ""
	}
	expiry := now.Add(r.ttl).Unix()
	mac := r.mac(name, expiry, hash)
	return TokenPrefix + name + "." + strconv.FormatInt(expiry, 10) + "." + base64.RawURLEncoding.EncodeToString(mac)
}

// Check reports why token does not let name log in at now, nil if it does.
func (r *Resume) Check(name, token string, now time.Time) error {
	if !r.On() {
		return ErrTokensOff
	}
	tname, expiry, mac, err := parseToken(token)
	if err != nil {
		return err
	}
	hash, ok := r.hashOf(name)
	// The MAC is computed for a removed account too (over no hash), so
	// that the time taken does not tell which names exist.
	want := r.mac(name, expiry, hash)
	switch {
	case !hmac.Equal(mac, want) || tname != name || !ok:
		return ErrTokenWrong
	case now.Unix() >= expiry:
		return ErrTokenExpired
	}
	return nil
}

// mac is the token's MAC. The parts are length-prefixed, so that no two
// different (name, expiry, hash) give the same input.
func (r *Resume) mac(name string, expiry int64, hash string) []byte {
	fp := sha256.Sum256([]byte(hash))
	m := hmac.New(sha256.New, r.key)
	var b []byte
	b = append(b, TokenPrefix...)
	b = strconv.AppendInt(b, int64(len(name)), 10)
	b = append(b, ':')
	b = append(b, name...)
	b = strconv.AppendInt(b, expiry, 10)
	b = append(b, ':')
	b = append(b, fp[:]...)
	m.Write(b)
	return m.Sum(nil)
}

// parseToken splits a token into its name, expiry and MAC.
func parseToken(s string) (name string, expiry int64, mac []byte, err error) {
	rest, ok := strings.CutPrefix(s, TokenPrefix)
	if !ok {
		return "", 0, nil, ErrTokenMalformed
	}
	i := strings.LastIndexByte(rest, '.')
	if i < 0 {
		return "", 0, nil, ErrTokenMalformed
	}
	rest, macText := rest[:i], rest[i+1:]
	j := strings.LastIndexByte(rest, '.')
	if j <= 0 { // the name cannot be empty
		return "", 0, nil, ErrTokenMalformed
	}
	name, expiryText := rest[:j], rest[j+1:]
	if len(macText) != base64.RawURLEncoding.EncodedLen(macBytes) || expiryText == "" || expiryText[0] == '0' {
		return "", 0, nil, ErrTokenMalformed
	}
	for _, c := range expiryText {
		if c < '0' || c > '9' {
			return "", 0, nil, ErrTokenMalformed
		}
	}
	expiry, err = strconv.ParseInt(expiryText, 10, 64)
	if err != nil {
		return "", 0, nil, ErrTokenMalformed
	}
	mac, err = base64.RawURLEncoding.Strict().DecodeString(macText)
	if err != nil || len(mac) != macBytes {
		return "", 0, nil, ErrTokenMalformed
	}
	return name, expiry, mac, nil
}

// IsToken is the package's IsToken, for the hub (hub.Resumer).
func (r *Resume) IsToken(secret string) bool { return IsToken(secret) }
