package wire

// Decoder turns a byte stream into frames. Feed it whatever a read returned,
// then call Next until it reports no more whole frames. Its buffer never holds
// more than one partial frame plus what the last Feed added.
type Decoder struct {
	buf    []byte
	off    int  // start of the unread bytes in buf
	shared bool // buf is the caller's (FeedShared), not the decoder's
}

// Feed appends p to the bytes waiting to be decoded.
func (d *Decoder) Feed(p []byte) {
	if d.shared {
		d.Unshare()
	}
	if d.off > 0 && d.off == len(d.buf) {
		d.buf, d.off = d.buf[:0], 0
	}
	if d.off > 0 && len(d.buf)+len(p) > cap(d.buf) {
		// Move the partial frame to the front rather than grow.
		n := copy(d.buf, d.buf[d.off:])
		d.buf, d.off = d.buf[:n], 0
	}
	d.buf = append(d.buf, p...)
}

// FeedShared is Feed for a caller that reads every stream into one buffer
// (a server with thousands of connections): when nothing is buffered, d
// decodes p where it is instead of copying it. Unshare must be called before
// p changes; it copies what is left undecoded, if anything, into a buffer of
// d's own, so an idle stream holds none.
func (d *Decoder) FeedShared(p []byte) {
	if d.Buffered() > 0 {
		d.Feed(p)
		return
	}
	d.buf, d.off, d.shared = p, 0, true
}

// Unshare ends FeedShared: d no longer refers to the caller's buffer, and
// holds a buffer of its own only for what is left undecoded, if anything.
func (d *Decoder) Unshare() {
	switch {
	case d.Buffered() == 0:
		d.buf, d.off = nil, 0
	case d.shared:
		d.buf, d.off = append([]byte(nil), d.buf[d.off:]...), 0
	}
	d.shared = false
}

// Next decodes the next whole frame into f. It returns ok false when only a
// partial frame is buffered. A framing error (ErrFrameSize, ErrEmptyFrame) is
// final: the stream cannot be resynchronised. ErrMalformed concerns one frame,
// which is consumed; decoding can go on after it.
func (d *Decoder) Next(f *Frame) (ok bool, err error) {
	body, _, err := Split(d.buf[d.off:])
	if err != nil || body == nil {
		return false, err
	}
	d.off += HeaderSize + len(body)
	if err := Unmarshal(body, f); err != nil {
		return false, err
	}
	return true, nil
}

// NextBody returns the body of the next whole frame (its type byte and
// fields) without decoding it, for a reader that wants one field of a
// frame it sees hundreds of thousands of times a second (loadgen's
// deliveries) rather than a Frame's copies of every string. The body is
// valid until the next Feed. ok false: only a partial frame is buffered;
// errors as for Next, except that a malformed body is found only by
// decoding it.
func (d *Decoder) NextBody() (body []byte, ok bool, err error) {
	body, _, err = Split(d.buf[d.off:])
	if err != nil || body == nil {
		return nil, false, err
	}
	d.off += HeaderSize + len(body)
	return body, true, nil
}

// Rest returns the bytes fed but not yet decoded, without copying them:
// they are valid until the next Feed.
func (d *Decoder) Rest() []byte { return d.buf[d.off:] }

// Buffered returns the number of bytes fed but not yet decoded.
func (d *Decoder) Buffered() int { return len(d.buf) - d.off }
