package store

import (
	"slices"
	"testing"
	"time"
)

// What one node forwards to another reaches the node it was sent to, in
// order, and no other.
func TestForwardReachesTheNode(t *testing.T) {
	s := open(t, Config{})
	got := make(chan string, 10)
	stop, err := s.ServeForwards("n2", func(data []byte) { got <- string(data) })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	other, err := s.ServeForwards("n3", func(data []byte) { got <- "n3: " + string(data) })
	if err != nil {
		t.Fatal(err)
	}
	defer other()
	for _, m := range []string{"one", "two"} {
		if err := s.Forward("n2", []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"one", "two"} {
		select {
		case m := <-got:
			if m != want {
				t.Fatalf("got %q, want %q", m, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%q was not forwarded", want)
		}
	}
	if err := s.Forward("n 2", nil); err == nil {
		t.Fatal("a node id with a space was taken")
	}
}

// What one store announces, every store listening on the topic hears,
// its own too.
func TestAnnounceReachesEveryListener(t *testing.T) {
	s := open(t, Config{})
	got := make(chan string, 10)
	for _, who := range []string{"a", "b"} {
		stop, err := s.Listen("logins", func(data []byte) { got <- who + ":" + string(data) })
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
	}
	if err := s.Announce("logins", []byte("alice")); err != nil {
		t.Fatal(err)
	}
	var heard []string
	for range 2 {
		select {
		case m := <-got:
			heard = append(heard, m)
		case <-time.After(5 * time.Second):
			t.Fatalf("heard only %q", heard)
		}
	}
	if slices.Sort(heard); !slices.Equal(heard, []string{"a:alice", "b:alice"}) {
		t.Fatalf("heard %q", heard)
	}
}
