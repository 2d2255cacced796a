package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// A room's history is read with gets of single messages, no consumer:
// the room's last (by subject), and its first at or after a stream
// sequence (by subject); direct gets with one replica, gets answered by
// the stream's leader with several (setup.go). Since a room's Seqs grow with its stream
// sequences, a binary search over stream sequences finds any Seq in about
// log2 of the stream's length gets, whatever the length.

// LastSeq returns the room's last stored Seq, 0 when it has none. It
// blocks (one direct get): it is for the server's start.
func (s *Store) LastSeq(room string) (uint64, error) {
	ctx, cancel := s.timeout()
	defer cancel()
	last, err := s.lastStored(ctx, Subject(room))
	switch {
	case errors.Is(err, errBadEncoding):
		return 0, s.incompatible(fmt.Sprintf("room %q", room), err)
	case err != nil:
		return 0, fmt.Errorf("last of room %q: %w", room, err)
	case last == nil:
		return 0, nil
	}
	return last.Seq, nil
}

// Replay reads the room's stored messages with Seq above afterSeq, oldest
// first, at most limit of them, and calls done with them from the reader
// goroutine. It returns ErrBusy or ErrClosed at once (done not called)
// when it cannot queue the read.
func (s *Store) Replay(room string, afterSeq uint64, limit int, done func([]Stored, error)) error {
	return s.enqueue(roomJob(room), func() {
		ctx, cancel := s.timeout()
		defer cancel()
		subj := Subject(room)
		first, last, err := s.ends(ctx, subj)
		if err != nil || last == nil {
			done(nil, err)
			return
		}
		done(s.after(ctx, subj, first, last, afterSeq, limit))
	})
}

// Page reads the room's last n stored messages with Seq below beforeSeq
// (beforeSeq 0: the room's last n), oldest first, and calls done with
// them from a reader goroutine: a page of history going back. It
// returns ErrBusy or ErrClosed at once (done not called) when it cannot
// queue the read.
func (s *Store) Page(room string, beforeSeq uint64, n int, done func([]Stored, error)) error {
	return s.enqueue(roomJob(room), func() {
		ctx, cancel := s.timeout()
		defer cancel()
		done(s.page(ctx, room, beforeSeq, n))
	})
}

// Last reads the room's last n stored messages, oldest first: Page with
// no bound.
func (s *Store) Last(room string, n int, done func([]Stored, error)) error {
	return s.Page(room, 0, n, done)
}

// page finds the last message below beforeSeq, then reads forward from n
// Seqs below it. Seqs are consecutive but where an Append failed, so that
// read usually gives all n; where it gives fewer (a gap), it goes on
// from the last message below what it has, until it has n or reaches the
// room's first.
func (s *Store) page(ctx context.Context, room string, beforeSeq uint64, n int) ([]Stored, error) {
	subj := Subject(room)
	if beforeSeq == 0 && n == 1 {
		// The room's latest, as a catch-up asks of every Enter in a
		// cluster: one get.
		last, err := s.lastStored(ctx, subj)
		if err != nil || last == nil {
			return nil, err
		}
		return []Stored{*last}, nil
	}
	first, last, err := s.ends(ctx, subj)
	if err != nil || last == nil || n <= 0 {
		return nil, err
	}
	m := last
	if beforeSeq != 0 && beforeSeq <= last.Seq {
		if m, err = s.lastBelow(ctx, subj, first, last, beforeSeq); err != nil {
			return nil, err
		}
	}
	var out []Stored
	for m != nil {
		want := n - len(out)
		from := m.Seq - min(uint64(want), m.Seq) // read Seqs from+1 .. m.Seq
		got, err := s.after(ctx, subj, first, m, from, want)
		if err != nil {
			return nil, err
		}
		out = append(got, out...)
		if len(got) == 0 || len(out) >= n || from < first.Seq {
			break
		}
		if m, err = s.lastBelow(ctx, subj, first, &out[0], from+1); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ends are the room subject's first and last messages; nil when it has
// none.
func (s *Store) ends(ctx context.Context, subj string) (first, last *Stored, err error) {
	if last, err = s.lastStored(ctx, subj); err != nil || last == nil {
		return nil, nil, err
	}
	if first, err = s.nextStored(ctx, subj, 1); err != nil || first == nil {
		return nil, nil, err
	}
	return first, last, nil
}

// after reads, oldest first, up to limit of the room's messages with Seq
// above afterSeq, from its first up to last (by stream sequence).
func (s *Store) after(ctx context.Context, subj string, first, last *Stored, afterSeq uint64, limit int) ([]Stored, error) {
	if last.Seq <= afterSeq || limit <= 0 {
		return nil, nil
	}
	if last.Seq == afterSeq+1 {
		// The one message above afterSeq up to last is last: a room's
		// latest (a catch-up, a member one message behind) needs no
		// search through the stream.
		return []Stored{*last}, nil
	}
	// The wanted message is the room's first at or after stream sequence
	// p for the least p in [lo, hi] whose first is above afterSeq; at is
	// the room's first message at or after hi.
	lo, hi, at := first.StreamSeq, last.StreamSeq, last
	if first.Seq > afterSeq {
		hi, at = lo, first
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		m, err := s.nextStored(ctx, subj, mid)
		if err != nil {
			return nil, err
		}
		if m == nil { // the room's messages went meanwhile (age, limits)
			return nil, nil
		}
		if m.Seq > afterSeq {
			hi, at = mid, m
		} else {
			lo = m.StreamSeq + 1
		}
	}
	out := []Stored{*at}
	for len(out) < limit && at.StreamSeq < last.StreamSeq {
		next, err := s.nextStored(ctx, subj, at.StreamSeq+1)
		if err != nil {
			return out, err
		}
		if next == nil || next.StreamSeq > last.StreamSeq {
			break
		}
		at = next
		out = append(out, *at)
	}
	return out, nil
}

// lastBelow is the room's last message with Seq below seq, found between
// first and above, a message of the room with Seq at least seq; nil when
// there is none.
func (s *Store) lastBelow(ctx context.Context, subj string, first, above *Stored, seq uint64) (*Stored, error) {
	if first.Seq >= seq {
		return nil, nil
	}
	// Invariant: the room's first message at or after stream sequence lo
	// is below (it is below), and its first at or after hi is not.
	lo, hi, below := first.StreamSeq, above.StreamSeq, first
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		m, err := s.nextStored(ctx, subj, mid)
		if err != nil {
			return nil, err
		}
		if m != nil && m.Seq < seq {
			lo, below = m.StreamSeq, m
		} else {
			hi = mid
		}
	}
	return below, nil
}

// lastStored is the subject's last message; nil when it has none.
func (s *Store) lastStored(ctx context.Context, subj string) (*Stored, error) {
	raw, err := s.streamOf(subj).GetLastMsgForSubject(ctx, subj)
	return stored(raw, err)
}

// nextStored is the subject's first message at or after stream sequence
// seq; nil when there is none.
func (s *Store) nextStored(ctx context.Context, subj string, seq uint64) (*Stored, error) {
	raw, err := s.streamOf(subj).GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subj))
	return stored(raw, err)
}

func stored(raw *jetstream.RawStreamMsg, err error) (*Stored, error) {
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, classify(err)
	}
	m, err := decodeMessage(raw.Data)
	if err != nil {
		return nil, fmt.Errorf("stream sequence %d: %w", raw.Sequence, err)
	}
	return &Stored{Message: m, StreamSeq: raw.Sequence}, nil
}
