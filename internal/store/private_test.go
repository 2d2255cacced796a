package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// privateAsync queues an AppendPrivate whose result arrives on the
// returned channel.
func privateAsync(t testing.TB, s *Store, to, text string, away bool) <-chan result {
	t.Helper()
	ch := make(chan result, 1)
	err := s.AppendPrivate(to, Message{From: "ann", Text: text, Time: 1700000000000}, away, func(st Stored, err error) {
		ch <- result{st, err}
	})
	if err != nil {
		t.Fatalf("AppendPrivate(%s, %q): %v", to, text, err)
	}
	return ch
}

func privateWait(t testing.TB, s *Store, to, text string, away bool) Stored {
	t.Helper()
	r := await(t, privateAsync(t, s, to, text, away), "private "+text)
	if r.err != nil {
		t.Fatalf("private %q to %s: %v", text, to, r.err)
	}
	return r.st
}

type page struct {
	msgs []Stored
	err  error
}

func inboxAsync(t testing.TB, s *Store, user string) <-chan page {
	t.Helper()
	ch := make(chan page, 1)
	if err := s.Inbox(user, func(m []Stored, err error) { ch <- page{m, err} }); err != nil {
		t.Fatalf("Inbox(%s): %v", user, err)
	}
	return ch
}

func inboxWait(t testing.TB, s *Store, user string) []Stored {
	t.Helper()
	p := await(t, inboxAsync(t, s, user), "inbox of "+user)
	if p.err != nil {
		t.Fatalf("inbox of %s: %v", user, p.err)
	}
	return p.msgs
}

func clearWait(t testing.TB, s *Store, user string, through uint64) {
	t.Helper()
	ch := make(chan error, 1)
	if err := s.ClearInbox(user, through, func(err error) { ch <- err }); err != nil {
		t.Fatalf("ClearInbox(%s): %v", user, err)
	}
	if err := await(t, ch, "clear inbox of "+user); err != nil {
		t.Fatalf("clear inbox of %s through %d: %v", user, through, err)
	}
}

// texts shows messages as "to:text ...".
func texts(msgs []Stored) string {
	var b []string
	for _, m := range msgs {
		b = append(b, m.To+":"+m.Text)
	}
	return strings.Join(b, " ")
}

func TestUserTokenKeepsCase(t *testing.T) {
	for _, name := range []string{"bob", "Bob", "BOB", "ann.*>", "zoë", "日本"} {
		tok := UserToken(name)
		if strings.Trim(tok, "0123456789ABCDEFGHIJKLMNOPQRSTUV") != "" {
			t.Errorf("UserToken(%q) = %q: not only base32hex characters", name, tok)
		}
		if back, err := UserOf(tok); err != nil || back != name {
			t.Errorf("UserOf(UserToken(%q)) = %q, %v", name, back, err)
		}
	}
	if UserToken("Bob") == UserToken("bob") {
		t.Errorf("Bob and bob have one token: user names are case sensitive")
	}
}

func TestPrivateMessagesKeptApartByRecipient(t *testing.T) {
	s := open(t, Config{})
	shown := privateWait(t, s, "Bob", "hi Bob", false)
	if shown.To != "Bob" || shown.Seq != 0 || shown.StreamSeq == 0 || shown.Text != "hi Bob" {
		t.Errorf("a private message shown at once was stored as %+v; want To Bob, Seq 0, a StreamSeq", shown)
	}
	privateWait(t, s, "Bob", "for Bob, away", true)
	privateWait(t, s, "bob", "for bob, away", true)
	privateWait(t, s, "Bob", "for Bob, away again", true)

	if got, want := texts(inboxWait(t, s, "Bob")), "Bob:for Bob, away Bob:for Bob, away again"; got != want {
		t.Errorf("inbox of Bob: %s, want %s", got, want)
	}
	if got, want := texts(inboxWait(t, s, "bob")), "bob:for bob, away"; got != want {
		t.Errorf("inbox of bob: %s, want %s", got, want)
	}
	if got := inboxWait(t, s, "BOB"); len(got) != 0 {
		t.Errorf("inbox of BOB, who was sent nothing: %s", texts(got))
	}
	// The record of messages shown at once is not the inbox.
	ctx, cancel := s.timeout()
	defer cancel()
	rec, err := s.lastStored(ctx, privateSubject("Bob", false))
	if err != nil || rec == nil || rec.Text != "hi Bob" || rec.StreamSeq != shown.StreamSeq {
		t.Errorf("the record of Bob's private messages ends with %+v, %v; want %+v", rec, err, shown)
	}
	if err := s.AppendPrivate("", Message{Text: "x"}, true, func(Stored, error) { t.Error("done called") }); err == nil {
		t.Errorf("AppendPrivate to nobody was queued")
	}
}

func TestPrivateRecordKeepsPrivateKept(t *testing.T) {
	s := open(t, Config{PrivateKept: 2})
	for i := 1; i <= 4; i++ {
		privateWait(t, s, "bob", fmt.Sprint("p", i), false)
	}
	ctx, cancel := s.timeout()
	defer cancel()
	first, err := s.nextStored(ctx, privateSubject("bob", false), 1)
	if err != nil || first == nil || first.Text != "p3" {
		t.Fatalf("bob's oldest kept private message: %+v, %v; want p3", first, err)
	}
}

func TestClearInboxKeepsLaterMessages(t *testing.T) {
	s := open(t, Config{})
	var last uint64
	for i := 1; i <= 4; i++ {
		st := privateWait(t, s, "bob", fmt.Sprint("m", i), true)
		if i == 2 {
			last = st.StreamSeq
		}
	}
	privateWait(t, s, "ann", "for ann", true)
	clearWait(t, s, "bob", last)
	if got, want := texts(inboxWait(t, s, "bob")), "bob:m3 bob:m4"; got != want {
		t.Errorf("bob's inbox cleared through m2: %s, want %s", got, want)
	}
	if got, want := texts(inboxWait(t, s, "ann")), "ann:for ann"; got != want {
		t.Errorf("ann's inbox after clearing bob's: %s, want %s", got, want)
	}
	clearWait(t, s, "bob", 0) // nothing
	if got := inboxWait(t, s, "bob"); len(got) != 2 {
		t.Errorf("bob's inbox cleared through 0: %s", texts(got))
	}
	if users, err := s.InboxUsers(); err != nil || strings.Join(users, " ") != "ann bob" {
		t.Errorf("users with messages waiting: %q, %v", users, err)
	}
	clearWait(t, s, "ann", 1<<40)
	if users, err := s.InboxUsers(); err != nil || strings.Join(users, " ") != "bob" {
		t.Errorf("users with messages waiting after ann's were cleared: %q, %v", users, err)
	}
}

// Inbox, called at once after many AppendPrivates it did not wait for,
// sees them all, and its done comes after all of theirs. The first
// append's done holds the acker until the test lets it go: a read queued
// after the Inbox must be answered before it, since Inbox reads only once
// the acker has passed every append before it.
func TestInboxWaitsForTheAppendsBeforeIt(t *testing.T) {
	s := open(t, Config{InboxLimit: 1000, MaxPending: 512})
	const n = 400
	var mu sync.Mutex
	acked := 0
	entered, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	letGo := func() { releaseOnce.Do(func() { close(release) }) }
	defer letGo() // on failure too: Close waits for the acker
	for i := 1; i <= n; i++ {
		// A room message between them goes through the same queue.
		if i%10 == 0 {
			if err := s.Append("lounge", Message{Text: "x"}, func(Stored, error) {}); err != nil {
				t.Fatal(err)
			}
		}
		err := s.AppendPrivate("bob", Message{Text: fmt.Sprint(i)}, true, func(_ Stored, err error) {
			if i == 1 {
				close(entered)
				<-release
			}
			if err != nil {
				t.Errorf("private %d: %v", i, err)
			}
			mu.Lock()
			acked++
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ch := make(chan page, 1)
	err := s.Inbox("bob", func(m []Stored, err error) {
		mu.Lock()
		if acked != n {
			t.Errorf("Inbox's done came after %d of the %d appends' before it", acked, n)
		}
		mu.Unlock()
		ch <- page{m, err}
	})
	if err != nil {
		t.Fatal(err)
	}
	await(t, entered, "the first append's done")
	replayWait(t, s, "lounge", 0, 1) // a read queued after the Inbox
	select {
	case p := <-ch:
		t.Fatalf("Inbox answered (%d messages, %v) while the acker was still on the first append before it", len(p.msgs), p.err)
	default:
	}
	letGo()
	p := await(t, ch, "inbox")
	if p.err != nil || len(p.msgs) != n {
		t.Fatalf("inbox right after %d away messages: %d of them, %v", n, len(p.msgs), p.err)
	}
	for i, m := range p.msgs {
		if m.Text != fmt.Sprint(i+1) || m.To != "bob" || m.StreamSeq == 0 {
			t.Fatalf("inbox message %d: %+v", i, m)
		}
	}
}

// Every done is called once; those of a room, of a recipient's record
// and of a recipient's inbox in the order of their calls, a failure in
// its place. Across them the order is the acknowledgements'.
func TestCallbacksInCallOrderPerRoomAndRecipient(t *testing.T) {
	s := open(t, Config{InboxLimit: 10})
	var mu sync.Mutex
	order := make(map[string][]string) // lane → texts in callback order
	note := func(lane, what string) func(Stored, error) {
		return func(_ Stored, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				what += " (" + err.Error() + ")"
			}
			order[lane] = append(order[lane], what)
		}
	}
	want := make(map[string][]string)
	for i := range 60 {
		what := fmt.Sprint(i)
		var lane string
		var err error
		switch i % 3 {
		case 0:
			lane = "room " + []string{"a", "b"}[i%2]
			err = s.Append(lane[5:], Message{Text: what}, note(lane, what))
		case 1:
			lane = "bob's record"
			err = s.AppendPrivate("bob", Message{Text: what}, false, note(lane, what))
		case 2:
			// Past InboxLimit these are refused: a failure keeps its place.
			lane = "ann's inbox"
			err = s.AppendPrivate("ann", Message{Text: what}, true, note(lane, what))
			if i/3 >= 10 {
				what += " (" + ErrInboxFull.Error()
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		want[lane] = append(want[lane], what)
	}
	s.Close() // calls every done
	for lane, w := range want {
		got := order[lane]
		if len(got) != len(w) {
			t.Fatalf("%s: %d callbacks for %d calls: %q", lane, len(got), len(w), got)
		}
		for i := range w {
			if !strings.HasPrefix(got[i], w[i]) {
				t.Fatalf("%s: callback %d was %q, want %q; all: %q", lane, i, got[i], w[i], got)
			}
		}
	}
}

// Close calls the done of an Inbox queued behind appends: the acker
// hands its read to the reader, which Close lets finish.
func TestCloseCallsInboxQueuedBehindAppends(t *testing.T) {
	s := open(t, Config{})
	for i := range 50 {
		privateAsync(t, s, "bob", fmt.Sprint(i), true)
	}
	ch := inboxAsync(t, s, "bob")
	s.Close()
	if p := await(t, ch, "inbox"); p.err != nil || len(p.msgs) != 50 {
		t.Fatalf("inbox queued before Close: %d messages, %v", len(p.msgs), p.err)
	}
	if err := s.Inbox("bob", func([]Stored, error) { t.Error("done called") }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Inbox after Close: %v, want ErrClosed", err)
	}
}
