package store

import (
	"encoding/base32"
	"fmt"

	"chat/internal/wire"
)

// subjectPrefix is the start of every room subject; a room's subject is
// subjectPrefix + Token(room).
const subjectPrefix = "chat.room."

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

// Subject is the subject a room's messages are stored on.
func Subject(room string) string { return subjectPrefix + Token(room) }
