package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A frame on the wire is a four-byte big-endian body length followed by the
// body. The body is one type byte followed by fields; each field is a uvarint
// key (field number << 1 | kind) and a value: kind 0 is a uvarint, kind 1 is a
// uvarint length followed by that many bytes. Unknown fields are skipped, so
// newer peers can add fields without breaking older ones.

// HeaderSize is the size of the length prefix.
const HeaderSize = 4

// Field numbers. They never change meaning once released.
const (
	fieldID      = 1
	fieldVersion = 2
	fieldCode    = 3
	fieldFrom    = 4
	fieldTo      = 5
	fieldName    = 6
	fieldSecret  = 7
	fieldRoom    = 8
	fieldText    = 9
	fieldTime    = 10
	fieldSeq     = 11
	fieldUser    = 12 // repeated, nested: Name, Room
	fieldRoomRow = 13 // repeated, nested: Name, Count (members)
	fieldCount   = 14
	fieldToken   = 15
	fieldWords   = 16
	fieldMode    = 17
	fieldIdent   = 18
	fieldReal    = 19
	fieldBy      = 20
	fieldPrefix  = 21 // nested only
	fieldAt      = 22
	fieldTags    = 23
)

const (
	kindVarint = 0
	kindBytes  = 1
)

// Errors returned by the decoder. A peer that sends ErrFrameSize or
// ErrEmptyFrame cannot be resynchronised and is disconnected; ErrMalformed
// concerns one body only and the connection can go on.
var (
	// ErrFrameSize means a length field is over MaxFrameSize.
	ErrFrameSize = errors.New("frame length over the limit")
	// ErrEmptyFrame means a length field of zero: a body needs its type byte.
	ErrEmptyFrame = errors.New("frame length zero")
	// ErrMalformed means a body that does not parse as fields.
	ErrMalformed = errors.New("malformed frame body")
)

// Split looks for one whole frame at the start of buf. It returns the frame's
// body and the bytes after it; a nil body with a nil error means buf holds
// only part of a frame so far. The body aliases buf.
func Split(buf []byte) (body, rest []byte, err error) {
	if len(buf) < HeaderSize {
		return nil, buf, nil
	}
	n := binary.BigEndian.Uint32(buf)
	switch {
	case n == 0:
		return nil, buf, ErrEmptyFrame
	case n > MaxFrameSize:
		return nil, buf, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameSize, n, MaxFrameSize)
	}
	end := HeaderSize + int(n)
	if len(buf) < end {
		return nil, buf, nil
	}
	return buf[HeaderSize:end], buf[end:], nil
}

// Append encodes f as a whole frame (length prefix included) at the end of
// dst and returns the extended slice.
func Append(dst []byte, f *Frame) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, byte(f.Type))
	dst = appendUint(dst, fieldID, uint64(f.ID))
	dst = appendUint(dst, fieldVersion, uint64(f.Version))
	dst = appendUint(dst, fieldCode, uint64(f.Code))
	dst = appendString(dst, fieldFrom, f.From)
	dst = appendString(dst, fieldTo, f.To)
	dst = appendString(dst, fieldName, f.Name)
	dst = appendString(dst, fieldSecret, f.Secret)
	dst = appendString(dst, fieldRoom, f.Room)
	dst = appendString(dst, fieldText, f.Text)
	dst = appendUint(dst, fieldTime, uint64(f.Time))
	dst = appendUint(dst, fieldSeq, f.Seq)
	dst = appendUint(dst, fieldCount, f.Count)
	dst = appendString(dst, fieldToken, f.Token)
	dst = appendString(dst, fieldWords, f.Words)
	dst = appendString(dst, fieldMode, f.Mode)
	dst = appendString(dst, fieldIdent, f.Ident)
	dst = appendString(dst, fieldReal, f.Real)
	dst = appendString(dst, fieldBy, f.By)
	dst = appendUint(dst, fieldAt, uint64(f.At))
	dst = appendString(dst, fieldTags, f.Tags)
	for _, u := range f.Users {
		var inner [256]byte
		row := appendString(inner[:0], fieldName, u.Name)
		row = appendString(row, fieldRoom, u.Room)
		row = appendString(row, fieldPrefix, u.Prefix)
		row = appendString(row, fieldWords, u.Away)
		row = appendString(row, fieldIdent, u.Ident)
		row = appendString(row, fieldReal, u.Real)
		dst = appendBytes(dst, fieldUser, row)
	}
	for _, r := range f.Rooms {
		var inner [256]byte
		row := appendString(inner[:0], fieldName, r.Name)
		row = appendUint(row, fieldCount, r.Members)
		row = appendString(row, fieldWords, r.Topic)
		row = appendString(row, fieldMode, r.Mode)
		row = appendString(row, fieldPrefix, r.Prefix)
		dst = appendBytes(dst, fieldRoomRow, row)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-HeaderSize))
	return dst
}

// Encode returns f as a new frame.
func Encode(f *Frame) []byte { return Append(nil, f) }

// MessageText returns the Text of a room message's body (from
// Decoder.NextBody) without copying it; ok false if the body is not a
// well-formed TypeMessage.
func MessageText(body []byte) (text []byte, ok bool) {
	if len(body) == 0 || Type(body[0]) != TypeMessage {
		return nil, false
	}
	err := eachField(body[1:], func(num uint64, v uint64, b []byte) error {
		if num == fieldText {
			text = b
		}
		return validField(num, v, b)
	})
	return text, err == nil
}

// validField checks what eachField cannot: a number's range, a nested
// row's fields. Unmarshal and MessageText refuse the same bodies.
func validField(num uint64, v uint64, b []byte) error {
	switch num {
	case fieldID, fieldVersion:
		if v > 1<<32-1 {
			return ErrMalformed
		}
	case fieldCode:
		if v > 1<<16-1 {
			return ErrMalformed
		}
	case fieldTime, fieldAt:
		if v > 1<<63-1 {
			return ErrMalformed
		}
	case fieldUser, fieldRoomRow:
		return eachField(b, func(uint64, uint64, []byte) error { return nil })
	}
	return nil
}

// Unmarshal parses a frame body (as returned by Split) into f, which it
// resets first. Strings are copied out of body.
func Unmarshal(body []byte, f *Frame) error {
	*f = Frame{}
	if len(body) == 0 {
		return ErrMalformed
	}
	f.Type = Type(body[0])
	return eachField(body[1:], func(num uint64, v uint64, b []byte) error {
		if err := validField(num, v, b); err != nil {
			return err
		}
		switch num {
		case fieldID:
			f.ID = uint32(v)
		case fieldVersion:
			f.Version = uint32(v)
		case fieldCode:
			f.Code = Code(v)
		case fieldFrom:
			f.From = string(b)
		case fieldTo:
			f.To = string(b)
		case fieldName:
			f.Name = string(b)
		case fieldSecret:
			f.Secret = string(b)
		case fieldRoom:
			f.Room = string(b)
		case fieldText:
			f.Text = string(b)
		case fieldTime:
			f.Time = int64(v)
		case fieldSeq:
			f.Seq = v
		case fieldCount:
			f.Count = v
		case fieldToken:
			f.Token = string(b)
		case fieldWords:
			f.Words = string(b)
		case fieldMode:
			f.Mode = string(b)
		case fieldIdent:
			f.Ident = string(b)
		case fieldReal:
			f.Real = string(b)
		case fieldBy:
			f.By = string(b)
		case fieldAt:
			f.At = int64(v)
		case fieldTags:
			f.Tags = string(b)
		case fieldUser:
			var u User
			err := eachField(b, func(num uint64, _ uint64, b []byte) error {
				switch num {
				case fieldName:
					u.Name = string(b)
				case fieldRoom:
					u.Room = string(b)
				case fieldPrefix:
					u.Prefix = string(b)
				case fieldWords:
					u.Away = string(b)
				case fieldIdent:
					u.Ident = string(b)
				case fieldReal:
					u.Real = string(b)
				}
				return nil
			})
			if err != nil {
				return err
			}
			f.Users = append(f.Users, u)
		case fieldRoomRow:
			var r Room
			err := eachField(b, func(num uint64, v uint64, b []byte) error {
				switch num {
				case fieldName:
					r.Name = string(b)
				case fieldCount:
					r.Members = v
				case fieldWords:
					r.Topic = string(b)
				case fieldMode:
					r.Mode = string(b)
				case fieldPrefix:
					r.Prefix = string(b)
				}
				return nil
			})
			if err != nil {
				return err
			}
			f.Rooms = append(f.Rooms, r)
		}
		return nil
	})
}

// fieldKinds says which kind each known field must have; a known field sent
// with the other kind is malformed.
var fieldKinds = [...]int8{
	fieldID: kindVarint, fieldVersion: kindVarint, fieldCode: kindVarint,
	fieldFrom: kindBytes, fieldTo: kindBytes, fieldName: kindBytes,
	fieldSecret: kindBytes, fieldRoom: kindBytes, fieldText: kindBytes,
	fieldTime: kindVarint, fieldSeq: kindVarint, fieldUser: kindBytes,
	fieldRoomRow: kindBytes, fieldCount: kindVarint, fieldToken: kindBytes,
	fieldWords: kindBytes, fieldMode: kindBytes, fieldIdent: kindBytes,
	fieldReal: kindBytes, fieldBy: kindBytes, fieldPrefix: kindBytes, fieldAt: kindVarint,
	fieldTags: kindBytes,
}

// eachField walks the fields of b, calling fn with the field number and the
// value (v for varints, b for byte strings). Unknown fields are skipped.
func eachField(b []byte, fn func(num, v uint64, b []byte) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return ErrMalformed
		}
		b = b[n:]
		num, kind := key>>1, int8(key&1)
		var v uint64
		var val []byte
		if kind == kindVarint {
			v, n = binary.Uvarint(b)
			if n <= 0 {
				return ErrMalformed
			}
			b = b[n:]
		} else {
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return ErrMalformed
			}
			val, b = b[n:n+int(l)], b[n+int(l):]
		}
		if num < uint64(len(fieldKinds)) && num != 0 {
			if fieldKinds[num] != kind {
				return ErrMalformed
			}
			if err := fn(num, v, val); err != nil {
				return err
			}
		}
	}
	return nil
}

func appendUint(dst []byte, num int, v uint64) []byte {
	if v == 0 {
		return dst
	}
	dst = binary.AppendUvarint(dst, uint64(num)<<1|kindVarint)
	return binary.AppendUvarint(dst, v)
}

func appendString(dst []byte, num int, s string) []byte {
	if s == "" {
		return dst
	}
	dst = binary.AppendUvarint(dst, uint64(num)<<1|kindBytes)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst []byte, num int, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(num)<<1|kindBytes)
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}
