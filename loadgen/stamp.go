package loadgen

import (
	"strconv"
)

// A stamp is what a load message's text carries so that any receiver, in any
// loadgen process, can measure latency and check ordering without shared
// state: "lg SENDER SEQ INTENDED", decimal, INTENDED in Unix nanoseconds,
// optionally followed by a space and padding up to the requested size.
const stampPrefix = "lg "

// stamp is the decoded header of a load message.
type stamp struct {
	Sender   uint32 // global session index (churners count from -sessions up)
	Seq      uint32 // per-sender sequence number, from 1
	Intended int64  // when the message was meant to be sent, Unix ns
}

// appendStamp appends the text of a message to dst, padded with 'x' to at
// least size bytes, and returns the extended slice.
func appendStamp(dst []byte, s stamp, size int) []byte {
	start := len(dst)
	dst = append(dst, stampPrefix...)
	dst = strconv.AppendUint(dst, uint64(s.Sender), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, uint64(s.Seq), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, s.Intended, 10)
	if n := len(dst) - start; n < size {
		dst = append(dst, ' ')
		for range size - n - 1 {
			dst = append(dst, 'x')
		}
	}
	return dst
}

// parseStamp decodes the stamp at the start of text: a string, or the
// bytes of a frame read (wire.MessageText). It does not allocate: it runs
// once per delivery, hundreds of thousands of times a second.
func parseStamp[T ~string | ~[]byte](text T) (stamp, bool) {
	var s stamp
	if len(text) < len(stampPrefix) {
		return s, false
	}
	for i := range len(stampPrefix) {
		if text[i] != stampPrefix[i] {
			return s, false
		}
	}
	rest := text[len(stampPrefix):]
	sender, rest, ok := parseUint(rest, 1<<32-1)
	if !ok || len(rest) == 0 || rest[0] != ' ' {
		return s, false
	}
	seq, rest, ok := parseUint(rest[1:], 1<<32-1)
	if !ok || seq == 0 || len(rest) == 0 || rest[0] != ' ' {
		return s, false
	}
	at, rest, ok := parseUint(rest[1:], 1<<63-1)
	if !ok || (len(rest) > 0 && rest[0] != ' ') {
		return s, false
	}
	return stamp{Sender: uint32(sender), Seq: uint32(seq), Intended: int64(at)}, true
}

// parseUint reads a decimal number of at most max from the start of s and
// returns it with the rest of s.
func parseUint[T ~string | ~[]byte](s T, max uint64) (uint64, T, bool) {
	var v uint64
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if v > (max-d)/10 {
			return 0, s, false
		}
		v = v*10 + d
	}
	if i == 0 {
		return 0, s, false
	}
	return v, s[i:], true
}
