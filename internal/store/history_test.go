package store

import (
	"context"
	"fmt"
	"math/bits"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

func pageWait(t testing.TB, s *Store, room string, before uint64, n int) []Stored {
	t.Helper()
	type page struct {
		msgs []Stored
		err  error
	}
	ch := make(chan page, 1)
	if err := s.Page(room, before, n, func(m []Stored, err error) { ch <- page{m, err} }); err != nil {
		t.Fatalf("Page: %v", err)
	}
	p := await(t, ch, "page "+room)
	if p.err != nil {
		t.Fatalf("page of %s before %d, %d of them: %v", room, before, n, p.err)
	}
	return p.msgs
}

// appendSeq appends text to room with a floor of seq (see Append).
func appendSeq(t testing.TB, s *Store, room, text string, seq uint64) Stored {
	t.Helper()
	ch := make(chan result, 1)
	if err := s.Append(room, Message{Room: room, Text: text, Seq: seq}, func(st Stored, err error) { ch <- result{st, err} }); err != nil {
		t.Fatal(err)
	}
	r := await(t, ch, "append "+text)
	if r.err != nil {
		t.Fatalf("append %q: %v", text, r.err)
	}
	return r.st
}

func TestLastSeq(t *testing.T) {
	s := open(t, Config{})
	if seq, err := s.LastSeq("lounge"); err != nil || seq != 0 {
		t.Fatalf("LastSeq of a room never written: %d, %v; want 0", seq, err)
	}
	for i := 1; i <= 3; i++ {
		appendWait(t, s, "lounge", fmt.Sprint("m", i))
	}
	appendWait(t, s, "kitchen", "k1")
	if seq, err := s.LastSeq("LOUNGE"); err != nil || seq != 3 {
		t.Fatalf("LastSeq(LOUNGE) after 3 appends to lounge: %d, %v; want 3", seq, err)
	}
}

// TestPage reads pages back through a room whose Seqs have gaps: 1-5,
// then 10-12 (a caller's floor), then 20 (another).
func TestPage(t *testing.T) {
	s := open(t, Config{})
	for i := 1; i <= 5; i++ {
		appendSeq(t, s, "lounge", fmt.Sprint("m", i), 0)
	}
	appendSeq(t, s, "lounge", "m10", 10)
	appendSeq(t, s, "lounge", "m11", 0)
	appendSeq(t, s, "lounge", "m12", 0)
	appendSeq(t, s, "lounge", "m20", 20)
	appendWait(t, s, "kitchen", "k1") // another room between, in the stream

	for _, tc := range []struct {
		before uint64
		n      int
		want   string
	}{
		{0, 3, "11:m11 12:m12 20:m20"},
		{0, 100, "1:m1 2:m2 3:m3 4:m4 5:m5 10:m10 11:m11 12:m12 20:m20"},
		{0, 0, ""},
		{0, 1, "20:m20"},
		{100, 2, "12:m12 20:m20"},
		{21, 1, "20:m20"},
		{20, 1, "12:m12"},
		{20, 4, "5:m5 10:m10 11:m11 12:m12"},
		{12, 5, "3:m3 4:m4 5:m5 10:m10 11:m11"},
		{11, 3, "4:m4 5:m5 10:m10"},
		{10, 3, "3:m3 4:m4 5:m5"},
		{7, 2, "4:m4 5:m5"},
		{4, 10, "1:m1 2:m2 3:m3"},
		{2, 1, "1:m1"},
		{1, 5, ""},
	} {
		expectPage(t, fmt.Sprintf("page before %d, %d of them", tc.before, tc.n), pageWait(t, s, "Lounge", tc.before, tc.n), tc.want)
	}
	expectPage(t, "a room never written", pageWait(t, s, "attic", 0, 5), "")
	expectPage(t, "last 2 of lounge", lastWait(t, s, "lounge", 2), "12:m12 20:m20")
}

// countingStream counts the gets made of a stream.
type countingStream struct {
	jetstream.Stream
	gets *atomic.Int64
}

func (c countingStream) GetMsg(ctx context.Context, seq uint64, opts ...jetstream.GetMsgOpt) (*jetstream.RawStreamMsg, error) {
	c.gets.Add(1)
	return c.Stream.GetMsg(ctx, seq, opts...)
}

func (c countingStream) GetLastMsgForSubject(ctx context.Context, subj string) (*jetstream.RawStreamMsg, error) {
	c.gets.Add(1)
	return c.Stream.GetLastMsgForSubject(ctx, subj)
}

// fill appends n messages to rooms in turn, text their number from 1,
// up to MaxPending at once.
func fill(t testing.TB, s *Store, rooms []string, n int) {
	t.Helper()
	slots := make(chan struct{}, s.cfg.MaxPending)
	errs := make(chan error, 1)
	for i := 1; i <= n; i++ {
		slots <- struct{}{}
		room := rooms[i%len(rooms)]
		err := s.Append(room, Message{Room: room, Text: fmt.Sprint(i)}, func(_ Stored, err error) {
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
			<-slots
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for range cap(slots) {
		slots <- struct{}{}
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// A page anywhere in a long history costs a few binary searches and a
// get per message, not a walk over the history.
func TestPageFindsItsPlaceInALongHistory(t *testing.T) {
	s := open(t, Config{})
	const n = 12000 // room a: Seqs 1..4000 at stream sequences 3, 6, ...
	fill(t, s, []string{"a", "b", "c"}, n)
	var gets atomic.Int64
	s.rooms = countingStream{s.rooms, &gets}
	// Two ends, then two searches over the stream (one to find the last
	// message before the page, one its first), each about log2(n) gets,
	// then a get per message after the first.
	const size = 50
	budget := int64(2 + 2*(bits.Len(n)+1) + size)
	for _, before := range []uint64{0, 4001, 4000, 3000, 1234, 51, 50, 2} {
		gets.Store(0)
		got := pageWait(t, s, "a", before, size)
		end := min(before, 4001)
		if before == 0 {
			end = 4001
		}
		if len(got) != min(size, int(end-1)) || got[len(got)-1].Seq != end-1 || got[len(got)-1].Text != fmt.Sprint(3*(end-1)) {
			t.Fatalf("page before %d: %d messages, %s ... %s", before, len(got), summary(got[:1]), summary(got[len(got)-1:]))
		}
		if g := gets.Load(); g > budget {
			t.Errorf("page before %d: %d gets, want at most %d", before, g, budget)
		}
	}
	// The room's latest alone (a cluster's catch-up at every Enter), and
	// the messages since one behind it: no search through the stream.
	gets.Store(0)
	if got := lastWait(t, s, "a", 1); len(got) != 1 || got[0].Seq != 4000 {
		t.Fatalf("the last of a: %s", summary(got))
	}
	if g := gets.Load(); g != 1 {
		t.Errorf("the last of a: %d gets, want 1", g)
	}
	gets.Store(0)
	if got := replayWait(t, s, "a", 3999, size); len(got) != 1 || got[0].Seq != 4000 {
		t.Fatalf("a after 3999: %s", summary(got))
	}
	if g := gets.Load(); g != 2 {
		t.Errorf("a after 3999: %d gets, want 2 (its ends)", g)
	}
}
