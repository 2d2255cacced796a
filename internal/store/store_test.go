package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"chat/server/hub"
)

// wait bounds every wait on a callback.
const wait = 10 * time.Second

func open(t testing.TB, cfg Config) *Store {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	if s.srv.Addr() != nil {
		t.Fatalf("the embedded NATS server listens on %v; it must open no port", s.srv.Addr())
	}
	return s
}

type result struct {
	st  Stored
	err error
}

// appendAsync queues an Append whose result arrives on the returned
// channel.
func appendAsync(t testing.TB, s *Store, room, text string) <-chan result {
	t.Helper()
	ch := make(chan result, 1)
	err := s.Append(room, Message{From: "ann", Room: room, Text: text, Time: 1700000000000}, func(st Stored, err error) {
		ch <- result{st, err}
	})
	if err != nil {
		t.Fatalf("Append(%s, %q): %v", room, text, err)
	}
	return ch
}

func await[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("%s: no callback within %v", what, wait)
		panic("unreachable")
	}
}

func appendWait(t testing.TB, s *Store, room, text string) Stored {
	t.Helper()
	r := await(t, appendAsync(t, s, room, text), "append "+text)
	if r.err != nil {
		t.Fatalf("append %q to %s: %v", text, room, r.err)
	}
	return r.st
}

func replayWait(t testing.TB, s *Store, room string, after uint64, limit int) []Stored {
	t.Helper()
	type page struct {
		msgs []Stored
		err  error
	}
	ch := make(chan page, 1)
	if err := s.Replay(room, after, limit, func(m []Stored, err error) { ch <- page{m, err} }); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	p := await(t, ch, "replay "+room)
	if p.err != nil {
		t.Fatalf("replay %s after %d: %v", room, after, p.err)
	}
	return p.msgs
}

func lastWait(t testing.TB, s *Store, room string, n int) []Stored {
	t.Helper()
	type page struct {
		msgs []Stored
		err  error
	}
	ch := make(chan page, 1)
	if err := s.Last(room, n, func(m []Stored, err error) { ch <- page{m, err} }); err != nil {
		t.Fatalf("Last: %v", err)
	}
	p := await(t, ch, "last "+room)
	if p.err != nil {
		t.Fatalf("last %d of %s: %v", n, room, p.err)
	}
	return p.msgs
}

// summary shows a page as "seq:text ..." for comparisons and failures.
func summary(msgs []Stored) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d:%s", m.Seq, m.Text)
	}
	return b.String()
}

func expectPage(t testing.TB, what string, got []Stored, want string) {
	t.Helper()
	if s := summary(got); s != want {
		t.Fatalf("%s:\n got %s\nwant %s", what, s, want)
	}
}

func TestTokenRoundTrip(t *testing.T) {
	for _, name := range []string{"lounge", "Lounge", "#ops.*>", "zürich", "a/b\\c", "日本語"} {
		tok := Token(name)
		if strings.Trim(tok, "0123456789ABCDEFGHIJKLMNOPQRSTUV") != "" {
			t.Errorf("Token(%q) = %q: not only base32hex characters", name, tok)
		}
		back, err := RoomOf(tok)
		if err != nil || back != strings.ToLower(name) && back != name {
			t.Errorf("RoomOf(Token(%q)) = %q, %v", name, back, err)
		}
	}
	if Token("Lounge") != Token("lounge") {
		t.Errorf("Lounge and lounge have different tokens: a room's case must not split it")
	}
}

func TestAppendReplayInOrderPerRoom(t *testing.T) {
	s := open(t, Config{})
	var chans []<-chan result
	for i := 1; i <= 5; i++ {
		chans = append(chans, appendAsync(t, s, "lounge", fmt.Sprint("l", i)), appendAsync(t, s, "Kitchen", fmt.Sprint("k", i)))
	}
	lastStream := make(map[string]uint64)
	for i, ch := range chans {
		r := await(t, ch, fmt.Sprint("append ", i))
		if r.err != nil {
			t.Fatalf("append %d: %v", i, r.err)
		}
		if want := uint64(i/2 + 1); r.st.Seq != want {
			t.Errorf("append %d (%s): room seq %d, want %d", i, r.st.Text, r.st.Seq, want)
		}
		if r.st.StreamSeq <= lastStream[r.st.Room] {
			t.Errorf("append %d: stream seq %d after %d in its room", i, r.st.StreamSeq, lastStream[r.st.Room])
		}
		lastStream[r.st.Room] = r.st.StreamSeq
	}
	expectPage(t, "lounge", replayWait(t, s, "lounge", 0, 100), "1:l1 2:l2 3:l3 4:l4 5:l5")
	expectPage(t, "kitchen (asked as KITCHEN)", replayWait(t, s, "KITCHEN", 0, 100), "1:k1 2:k2 3:k3 4:k4 5:k5")
	expectPage(t, "lounge after 2, 2 of them", replayWait(t, s, "lounge", 2, 2), "3:l3 4:l4")
	expectPage(t, "lounge after 5", replayWait(t, s, "lounge", 5, 10), "")
	expectPage(t, "a room never written", replayWait(t, s, "attic", 0, 10), "")
	expectPage(t, "last 2 of lounge", lastWait(t, s, "lounge", 2), "4:l4 5:l5")
	expectPage(t, "last 9 of kitchen", lastWait(t, s, "kitchen", 9), "1:k1 2:k2 3:k3 4:k4 5:k5")

	got := replayWait(t, s, "lounge", 0, 1)[0]
	want := Message{From: "ann", Room: "lounge", Text: "l1", Time: 1700000000000, Seq: 1}
	if got.Message != want {
		t.Errorf("stored message %+v, want %+v", got.Message, want)
	}
}

func TestReplayFindsItsPlaceInALongHistory(t *testing.T) {
	s := open(t, Config{})
	var chans []<-chan result
	for i := 1; i <= 300; i++ {
		room := []string{"a", "b", "c"}[i%3]
		chans = append(chans, appendAsync(t, s, room, fmt.Sprint(i)))
	}
	for i, ch := range chans {
		if r := await(t, ch, fmt.Sprint("append ", i)); r.err != nil {
			t.Fatalf("append %d: %v", i, r.err)
		}
	}
	// Room a holds 3, 6, ... 300 as its Seqs 1..100.
	for _, after := range []uint64{0, 1, 37, 98, 99} {
		got := replayWait(t, s, "a", after, 2)
		want := fmt.Sprintf("%d:%d", after+1, 3*(after+1))
		if after < 99 {
			want += fmt.Sprintf(" %d:%d", after+2, 3*(after+2))
		}
		expectPage(t, fmt.Sprint("a after ", after), got, want)
	}
}

func TestMaxMsgsPerSubjectDropsOnlyThatRoomsOldest(t *testing.T) {
	s := open(t, Config{MaxMsgsPerSubject: 3})
	for i := 1; i <= 5; i++ {
		appendWait(t, s, "busy", fmt.Sprint("b", i))
	}
	for i := 1; i <= 2; i++ {
		appendWait(t, s, "quiet", fmt.Sprint("q", i))
	}
	expectPage(t, "busy keeps its last 3", replayWait(t, s, "busy", 0, 100), "3:b3 4:b4 5:b5")
	expectPage(t, "quiet keeps all", replayWait(t, s, "quiet", 0, 100), "1:q1 2:q2")
	expectPage(t, "busy after 1 (gone)", replayWait(t, s, "busy", 1, 100), "3:b3 4:b4 5:b5")
}

func TestReopenKeepsMessagesAndRooms(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Config{Dir: dir})
	for i := 1; i <= 20; i++ {
		appendWait(t, s, "lounge", fmt.Sprint("m", i))
	}
	saved := make(chan error, 1)
	if err := s.SaveRoom(hub.RoomState{Name: "Lounge", Seq: 20, Topic: "tea", Modes: "+nt"}, func(err error) { saved <- err }); err != nil {
		t.Fatal(err)
	}
	if err := await(t, saved, "save room"); err != nil {
		t.Fatalf("save room: %v", err)
	}
	s.Close()
	s.Close() // idempotent
	if err := s.Append("lounge", Message{}, func(Stored, error) {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}

	s = open(t, Config{Dir: dir})
	msgs := replayWait(t, s, "lounge", 0, 100)
	if len(msgs) != 20 || msgs[0].Text != "m1" || msgs[19].Seq != 20 {
		t.Fatalf("after reopening: %s", summary(msgs))
	}
	if st := appendWait(t, s, "lounge", "m21"); st.Seq != 21 {
		t.Errorf("the first message after reopening has Seq %d, want 21", st.Seq)
	}
	rooms, err := s.LoadRooms()
	if err != nil {
		t.Fatal(err)
	}
	if len(rooms) != 1 || rooms[0].Name != "Lounge" || rooms[0].Topic != "tea" || rooms[0].Seq != 20 {
		t.Fatalf("rooms after reopening: %+v", rooms)
	}
}

func TestSeqFloorFromCaller(t *testing.T) {
	s := open(t, Config{})
	ch := make(chan result, 1)
	s.Append("lounge", Message{Text: "x", Seq: 1000}, func(st Stored, err error) { ch <- result{st, err} })
	if r := await(t, ch, "append with floor"); r.err != nil || r.st.Seq != 1000 {
		t.Fatalf("append with a floor of 1000: seq %d, %v", r.st.Seq, r.err)
	}
	if st := appendWait(t, s, "lounge", "y"); st.Seq != 1001 {
		t.Fatalf("next append: seq %d, want 1001", st.Seq)
	}
}

// A write refused for lack of room leaves the store working: once room is
// made, by whatever means, the next write is stored, with no reopening.
// An embedded JetStream at its MaxStore refuses writes (insufficient
// resources) and keeps answering: it stays enabled.
func TestFullStoreRefusesAndRecovers(t *testing.T) {
	big := strings.Repeat("x", 1000)
	purgeRooms := func(t *testing.T, s *Store) {
		ctx, cancel := s.timeout()
		defer cancel()
		if err := s.rooms.Purge(ctx); err != nil {
			t.Fatal(err)
		}
	}
	clearBob := func(t *testing.T, s *Store) {
		msgs := inboxWait(t, s, "bob")
		if len(msgs) == 0 {
			t.Fatal("bob's full inbox reads as empty")
		}
		clearWait(t, s, "bob", msgs[len(msgs)-1].StreamSeq)
	}
	for _, tc := range []struct {
		name     string
		cfg      Config
		write    func(t *testing.T, s *Store) <-chan result
		want     error // the refusal
		makeRoom func(t *testing.T, s *Store)
	}{
		{"the room stream's MaxBytes with DiscardNew", Config{MaxBytes: 4 << 10, DiscardNew: true},
			func(t *testing.T, s *Store) <-chan result { return appendAsync(t, s, "lounge", big[:200]) },
			ErrFull, purgeRooms},
		{"JetStream's MaxStore, room messages", Config{MaxStore: 256 << 10},
			func(t *testing.T, s *Store) <-chan result { return appendAsync(t, s, "lounge", big) },
			ErrFull, purgeRooms},
		{"JetStream's MaxStore, an inbox", Config{MaxStore: 256 << 10, InboxLimit: 1000},
			func(t *testing.T, s *Store) <-chan result { return privateAsync(t, s, "bob", big, true) },
			ErrFull, clearBob},
		{"the inbox's InboxLimit", Config{InboxLimit: 5},
			func(t *testing.T, s *Store) <-chan result { return privateAsync(t, s, "bob", "hi", true) },
			ErrInboxFull, clearBob},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, tc.cfg)
			var full error
			n := 0
			for ; n < 1000 && full == nil; n++ {
				full = await(t, tc.write(t, s), "write").err
			}
			if !errors.Is(full, tc.want) {
				t.Fatalf("after %d writes: %v, want %v", n, full, tc.want)
			}
			t.Logf("refused after %d writes: %v", n-1, full)
			if tc.want == ErrInboxFull {
				if errors.Is(full, ErrFull) {
					t.Errorf("a full inbox is an ErrFull: %v", full)
				}
				// Only bob's inbox is full: Bob's is another.
				if r := await(t, privateAsync(t, s, "Bob", "hi", true), "private to Bob"); r.err != nil {
					t.Errorf("away message to Bob while bob's inbox is full: %v", r.err)
				}
				if msgs := inboxWait(t, s, "bob"); len(msgs) != 5 {
					t.Errorf("bob's full inbox holds %d messages, want 5", len(msgs))
				}
			}
			if r := await(t, tc.write(t, s), "write again"); !errors.Is(r.err, tc.want) {
				t.Fatalf("writing again while full: %v, want %v", r.err, tc.want)
			}
			if !s.srv.JetStreamEnabled() {
				t.Fatalf("the embedded JetStream disabled itself")
			}
			tc.makeRoom(t, s)
			if r := await(t, tc.write(t, s), "write once room is made"); r.err != nil {
				t.Fatalf("write once room was made: %v", r.err)
			}
			seen := make(chan error, 1)
			if err := s.SaveSeen("ann", "lounge", 1, func(err error) { seen <- err }); err != nil {
				t.Fatal(err)
			}
			if err := await(t, seen, "save seen"); err != nil {
				t.Fatalf("save seen once room was made: %v", err)
			}
		})
	}
}

// A server restarted on a full store starts: Open and the start-up reads
// need no room, and writes are refused until room is made.
func TestOpenWhileFull(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, MaxStore: 256 << 10}
	s := open(t, cfg)
	big := strings.Repeat("x", 1000)
	var full error
	for i := 0; i < 1000 && full == nil; i++ {
		full = await(t, appendAsync(t, s, "lounge", big), "append").err
	}
	if !errors.Is(full, ErrFull) {
		t.Fatalf("filling the store: %v, want ErrFull", full)
	}
	s.Close()
	s = open(t, cfg)
	if _, err := s.LoadRooms(); err != nil {
		t.Fatalf("LoadRooms on a full store: %v", err)
	}
	if _, err := s.LoadSeen(); err != nil {
		t.Fatalf("LoadSeen on a full store: %v", err)
	}
	if seq, err := s.LastSeq("lounge"); err != nil || seq == 0 {
		t.Fatalf("LastSeq on a full store: %d, %v", seq, err)
	}
	if r := await(t, appendAsync(t, s, "lounge", big), "append"); !errors.Is(r.err, ErrFull) {
		t.Fatalf("append to a full store reopened: %v, want ErrFull", r.err)
	}
}

func TestManyAppendsCallbacksOnAnotherGoroutine(t *testing.T) {
	s := open(t, Config{MaxPending: 256})
	const n = 5000
	results := make(chan result, n)
	// slots bounds the Appends outstanding to what the store queues, so
	// Append never says ErrBusy; each callback frees one.
	slots := make(chan struct{}, 256)
	go func() {
		for i := 1; i <= n; i++ {
			slots <- struct{}{}
			room := []string{"a", "b"}[i%2]
			err := s.Append(room, Message{Room: room, Text: fmt.Sprint(i)}, func(st Stored, err error) {
				<-slots
				results <- result{st, err}
			})
			if err != nil {
				results <- result{err: err}
				return
			}
		}
	}()
	// Each room's callbacks come in its calls' order: a has the even
	// texts, b the odd ones.
	next := map[string]uint64{"a": 1, "b": 1}
	text := map[string]int{"a": 2, "b": 1}
	for i := 1; i <= n; i++ {
		r := await(t, results, fmt.Sprint("append ", i))
		if r.err != nil {
			t.Fatalf("append %d: %v", i, r.err)
		}
		room := r.st.Room
		if r.st.Text != fmt.Sprint(text[room]) || r.st.Seq != next[room] {
			t.Fatalf("callback %d: %s seq %d %q; want text %d, seq %d", i, room, r.st.Seq, r.st.Text, text[room], next[room])
		}
		next[room]++
		text[room] += 2
	}
}
