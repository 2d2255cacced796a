package store

import (
	"encoding/base32"
	"fmt"

	"chat/internal/wire"
)

// Subject prefixes: a room's messages are on roomPrefix + Token(room), a
// user's private messages on privatePrefix or inboxPrefix +
// UserToken(user).
const (
	roomPrefix    = "chat.room."
	privatePrefix = "chat.pm."
	inboxPrefix   = "chat.inbox."
)

// tokenEncoding is base32hex without padding: its alphabet, 0-9 and A-V,
// is legal in a NATS subject token and in a KV key, and it keeps the
// order of the names it encodes.
var tokenEncoding = base32.HexEncoding.WithPadding(base32.NoPadding)

// Token returns the subject-safe form of a room name: base32hex of its
// folded name, so that names differing only in case share a room as they
// do in the hub.
func Token(room string) string {
	return tokenEncoding.EncodeToString([]byte(wire.FoldName(room)))
}

// RoomOf reverses Token: it returns the folded room name a token stands
// for.
func RoomOf(token string) (string, error) {
	b, err := tokenEncoding.DecodeString(token)
	if err != nil {
		return "", fmt.Errorf("room token %q: %w", token, err)
	}
	return string(b), nil
}

// UserToken returns the subject-safe form of a user name: base32hex of
// the exact name. User names are case sensitive, unlike room names: Bob
// and bob are two users with two inboxes.
func UserToken(name string) string {
	return tokenEncoding.EncodeToString([]byte(name))
}

// UserOf reverses UserToken.
func UserOf(token string) (string, error) {
	b, err := tokenEncoding.DecodeString(token)
	if err != nil {
		return "", fmt.Errorf("user token %q: %w", token, err)
	}
	return string(b), nil
}

// Subject is the subject a room's messages are stored on.
func Subject(room string) string { return roomPrefix + Token(room) }

// privateSubject is where a private message to user is stored: the
// record of those shown at once, or the inbox of those kept while away.
func privateSubject(user string, away bool) string {
	if away {
		return inboxPrefix + UserToken(user)
	}
	return privatePrefix + UserToken(user)
}
