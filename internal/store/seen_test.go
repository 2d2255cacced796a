package store

import (
	"errors"
	"maps"
	"testing"
)

func TestSeenSurvivesReopening(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Config{Dir: dir})
	if seen, err := s.LoadSeen(); err != nil || len(seen) != 0 {
		t.Fatalf("LoadSeen of a new store: %v, %v", seen, err)
	}
	saves := []struct {
		user, room string
		seq        uint64
	}{
		{"bob", "Lounge", 3},
		{"Bob", "lounge", 7}, // another user, the same room
		{"bob", "lounge", 5}, // overwrites bob's Lounge
		{"bob", "#Ops.*>", 1},
		{"ann", "kitchen", 0},
	}
	errs := make(chan error, len(saves))
	for i, sv := range saves {
		done := func(err error) { errs <- err }
		if i == 0 {
			done = nil // allowed
		}
		if err := s.SaveSeen(sv.user, sv.room, sv.seq, done); err != nil {
			t.Fatal(err)
		}
	}
	for range len(saves) - 1 {
		if err := await(t, errs, "save seen"); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]map[string]uint64{
		"bob": {"lounge": 5, "#ops.*>": 1},
		"Bob": {"lounge": 7},
		"ann": {"kitchen": 0},
	}
	check := func(what string) {
		t.Helper()
		got, err := s.LoadSeen()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !maps.EqualFunc(got, want, maps.Equal) {
			t.Fatalf("%s:\n got %v\nwant %v", what, got, want)
		}
	}
	check("LoadSeen")
	s.Close()
	s = open(t, Config{Dir: dir})
	check("LoadSeen after reopening")
	if err := s.SaveSeen("", "lounge", 1, nil); err == nil {
		t.Errorf("SaveSeen of nobody was queued")
	}
}

func TestLoadSeenRefusesWhatItCannotRead(t *testing.T) {
	for _, tc := range []struct{ key, val string }{
		{UserToken("bob") + "." + Token("lounge"), "five"},
		{"bob.lounge", "5"}, // not tokens
		{UserToken("bob"), "5"},
	} {
		s := open(t, Config{})
		ctx, cancel := s.timeout()
		if _, err := s.seenKV.Put(ctx, tc.key, []byte(tc.val)); err != nil {
			t.Fatal(err)
		}
		cancel()
		if _, err := s.LoadSeen(); !errors.Is(err, ErrIncompatible) {
			t.Errorf("LoadSeen with %s = %q: %v, want ErrIncompatible", tc.key, tc.val, err)
		}
	}
}
