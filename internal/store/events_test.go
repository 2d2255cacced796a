package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// follower collects what Follow delivers, as "room/seq:text@streamSeq"
// for a message and "room!payload@streamSeq" for an event.
type follower struct {
	mu  sync.Mutex
	got []string
	seq []uint64
}

func follow(t testing.TB, s *Store, after uint64) *follower {
	t.Helper()
	f, _ := followStop(t, s, after)
	return f
}

func followStop(t testing.TB, s *Store, after uint64) (*follower, func()) {
	t.Helper()
	f := &follower{}
	stop, err := s.Follow(after, func(st Stored, err error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case err != nil:
			f.got = append(f.got, "error: "+err.Error())
		case st.Event != nil:
			f.got = append(f.got, fmt.Sprintf("%s!%s", st.Room, st.Event))
		default:
			f.got = append(f.got, fmt.Sprintf("%s/%d:%s", st.Room, st.Seq, st.Text))
		}
		f.seq = append(f.seq, st.StreamSeq)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return f, stop
}

// expect waits until exactly want was delivered, in that order, or
// with only rooms, want's order in each room.
func (f *follower) expect(t testing.TB, want string, rooms ...string) {
	t.Helper()
	eventually(t, "Follow delivers "+want, func() error {
		f.mu.Lock()
		defer f.mu.Unlock()
		have, wanted := strings.Join(f.got, " "), want
		for _, room := range rooms {
			if h, w := inRoom(f.got, room), inRoom(strings.Split(want, " "), room); h != w {
				return fmt.Errorf("delivered %q; in %s %q, want %q", have, room, h, w)
			}
			have, wanted = fmt.Sprint(len(f.got)), fmt.Sprint(len(strings.Split(want, " ")))
		}
		if have != wanted {
			return fmt.Errorf("delivered %q", strings.Join(f.got, " "))
		}
		if !slices.IsSorted(f.seq) || len(slices.Compact(slices.Clone(f.seq))) != len(f.seq) {
			return fmt.Errorf("stream sequences %v, not increasing", f.seq)
		}
		return nil
	})
}

// inRoom is what was delivered of room, in order.
func inRoom(got []string, room string) string {
	var in []string
	for _, g := range got {
		if strings.HasPrefix(g, room+"/") || strings.HasPrefix(g, room+"!") {
			in = append(in, g)
		}
	}
	return strings.Join(in, " ")
}

func eventAsync(t testing.TB, s *Store, room, data string) <-chan error {
	t.Helper()
	ch := make(chan error, 1)
	if err := s.PublishEvent(room, []byte(data), func(err error) { ch <- err }); err != nil {
		t.Fatalf("PublishEvent(%s, %q): %v", room, data, err)
	}
	return ch
}

// A room's events are stored with its messages in the order of the
// calls, none of them waited for (across rooms, as JetStream takes
// them), and Follow delivers both in the stream's order; the history reads and the rooms' numbering never see
// an event, even as the stream's last, nor after reopening.
func TestEventsFollowInOrderWithMessages(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Config{Dir: dir})
	f := follow(t, s, 0)
	var appends []<-chan result
	var events []<-chan error
	appends = append(appends, appendAsync(t, s, "lounge", "m1"))
	events = append(events, eventAsync(t, s, "Lounge", "ann-entered"))
	appends = append(appends, appendAsync(t, s, "lounge", "m2"))
	events = append(events, eventAsync(t, s, "den", "bob-entered"))
	appends = append(appends, appendAsync(t, s, "den", "d1"))
	events = append(events, eventAsync(t, s, "lounge", "")) // empty, still an event
	for i := range 10 {
		events = append(events, eventAsync(t, s, "den", fmt.Sprint("e", i)))
	}
	appends = append(appends, appendAsync(t, s, "den", "d2"))
	events = append(events, eventAsync(t, s, "lounge", "ann-left"))
	for i, ch := range appends {
		if r := await(t, ch, fmt.Sprint("append ", i)); r.err != nil {
			t.Fatalf("append %d: %v", i, r.err)
		}
	}
	for i, ch := range events {
		if err := await(t, ch, fmt.Sprint("event ", i)); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	f.expect(t, "lounge/1:m1 lounge!ann-entered lounge/2:m2 den!bob-entered den/1:d1 lounge! "+
		"den!e0 den!e1 den!e2 den!e3 den!e4 den!e5 den!e6 den!e7 den!e8 den!e9 den/2:d2 lounge!ann-left", "lounge", "den")

	expectPage(t, "lounge replayed", replayWait(t, s, "lounge", 0, 100), "1:m1 2:m2")
	expectPage(t, "den after 1, among its events", replayWait(t, s, "den", 1, 100), "2:d2")
	expectPage(t, "last 5 of den", lastWait(t, s, "den", 5), "1:d1 2:d2")
	for room, want := range map[string]uint64{"lounge": 2, "den": 2} {
		if seq, err := s.LastSeq(room); err != nil || seq != want {
			t.Errorf("LastSeq(%s) = %d, %v; want %d", room, seq, err, want)
		}
	}

	// An event as the stream's last is no message in an unknown encoding.
	if err := await(t, eventAsync(t, s, "lounge", "closing"), "event"); err != nil {
		t.Fatal(err)
	}
	last, err := s.LastStreamSeq()
	if err != nil || last != 19 {
		t.Errorf("LastStreamSeq = %d, %v; want 19, the last event's", last, err)
	}
	s.Close()
	s = open(t, Config{Dir: dir})
	if st := appendWait(t, s, "lounge", "m3"); st.Seq != 3 {
		t.Errorf("after reopening, lounge's next message has Seq %d, want 3", st.Seq)
	}
	follow(t, s, last-1).expect(t, "lounge!closing lounge/3:m3")
}

func TestPublishEventRefused(t *testing.T) {
	s := open(t, Config{})
	if err := s.PublishEvent("", []byte("x"), func(error) { t.Error("done called") }); !errors.Is(err, errNoRoom) {
		t.Errorf("an event without a room: %v", err)
	}
	s.Close()
	if err := s.PublishEvent("lounge", []byte("x"), func(error) { t.Error("done called") }); !errors.Is(err, ErrClosed) {
		t.Errorf("an event after Close: %v, want ErrClosed", err)
	}
}

// A store the previous version made has ROOMS on chat.room.* only: Open
// adds the events' subjects in place, keeping its messages.
func TestOpenUpgradesTheRoomsStreamForEvents(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Config{Dir: dir})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	old := s.streamConfigs()[0]
	old.Subjects = []string{roomPrefix + "*"}
	if _, err := s.js.UpdateStream(ctx, old); err != nil {
		t.Fatalf("make ROOMS as the previous version did: %v", err)
	}
	appendWait(t, s, "lounge", "before")
	s.Close()

	s = open(t, Config{Dir: dir})
	info, err := s.rooms.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(slices.Values(info.Config.Subjects)), []string{roomPrefix + "*", roomEventPrefix + "*"}; !slices.Equal(got, want) {
		t.Fatalf("ROOMS subjects after Open: %q, want %q", got, want)
	}
	expectPage(t, "the message kept", replayWait(t, s, "lounge", 0, 10), "1:before")
	f := follow(t, s, 0)
	if err := await(t, eventAsync(t, s, "lounge", "after"), "event"); err != nil {
		t.Fatalf("an event after the upgrade: %v", err)
	}
	f.expect(t, "lounge/1:before lounge!after")
}
