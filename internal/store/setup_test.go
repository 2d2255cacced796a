package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// externalNATS starts a NATS server with JetStream on a port of its
// choosing, as an external deployment would be, and returns its URL.
func externalNATS(t testing.TB) string {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT,
		JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(wait) {
		t.Fatal("the external NATS server did not start")
	}
	return srv.ClientURL()
}

func TestExternalNATS(t *testing.T) {
	url := externalNATS(t)
	s, err := Open(Config{URLs: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	appendWait(t, s, "lounge", "hello")
	privateWait(t, s, "bob", "for bob", true)
	if got := texts(inboxWait(t, s, "bob")); got != "bob:for bob" {
		t.Fatalf("bob's inbox: %s", got)
	}
	if seq, err := s.LastSeq("lounge"); err != nil || seq != 1 {
		t.Fatalf("LastSeq: %d, %v", seq, err)
	}
}

// A store something else made, or a newer version, is refused at Open, or
// at the start-up read that meets it, with what to do: Open changes
// nothing in it.
func TestOpenRefusesAStoreItCannotUse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(ctx context.Context, s *Store) error
		load    func(s *Store) error // the start-up read that meets it, if not Open
	}{
		{"ROOMS with other subjects", func(ctx context.Context, s *Store) error {
			return replaceStream(ctx, s, jetstream.StreamConfig{Name: roomStream, Subjects: []string{"orders.*"}})
		}, nil},
		{"INBOX with work-queue retention", func(ctx context.Context, s *Store) error {
			return replaceStream(ctx, s, jetstream.StreamConfig{Name: inboxStream, Subjects: []string{inboxPrefix + "*"},
				Retention: jetstream.WorkQueuePolicy})
		}, nil},
		{"another stream on the room subjects", func(ctx context.Context, s *Store) error {
			if err := s.js.DeleteStream(ctx, roomStream); err != nil {
				return err
			}
			_, err := s.js.CreateStream(ctx, jetstream.StreamConfig{Name: "OTHER", Subjects: []string{"chat.room.>"}})
			return err
		}, nil},
		{"a room message in an unknown encoding", func(ctx context.Context, s *Store) error {
			_, err := s.js.Publish(ctx, Subject("lounge"), []byte{9, 0, 0, 0, 1, 1})
			return err
		}, nil},
		{"an inbox message that is not a message", func(ctx context.Context, s *Store) error {
			_, err := s.js.Publish(ctx, privateSubject("bob", true), []byte("hello"))
			return err
		}, nil},
		{"a room's last message in an unknown encoding, behind another room's", func(ctx context.Context, s *Store) error {
			if _, err := s.js.Publish(ctx, Subject("lounge"), []byte{9}); err != nil {
				return err
			}
			_, err := s.js.Publish(ctx, Subject("kitchen"), appendMessage(nil, &Message{Text: "fine", Seq: 1}))
			return err
		}, func(s *Store) error { _, err := s.LastSeq("lounge"); return err }},
		{"a room state that is not JSON", func(ctx context.Context, s *Store) error {
			_, err := s.roomsKV.Put(ctx, Token("lounge"), []byte("{"))
			return err
		}, func(s *Store) error { _, err := s.LoadRooms(); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, Config{Dir: dir})
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if err := tc.prepare(ctx, s); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s, err := Open(Config{Dir: dir})
			if tc.load != nil {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer s.Close()
				err = tc.load(s)
			} else if err == nil {
				s.Close()
				t.Fatal("Open accepted it")
			}
			if !errors.Is(err, ErrIncompatible) {
				t.Fatalf("got %v, want ErrIncompatible", err)
			}
			for _, want := range []string{"move " + filepath.Join(dir, "nats") + " away", "point -nats elsewhere"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not say %q: %v", want, err)
				}
			}
			t.Log(err)
		})
	}
}

func TestOpenRefusesAnExternalStoreItCannotUse(t *testing.T) {
	url := externalNATS(t)
	s, err := Open(Config{URLs: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := replaceStream(ctx, s, jetstream.StreamConfig{Name: privateStream, Subjects: []string{"pm.*"}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(Config{URLs: []string{url}})
	if err == nil {
		s.Close()
		t.Fatal("Open accepted it")
	}
	if !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), privateStream) {
		t.Fatalf("got %v, want ErrIncompatible naming %s and %s", err, privateStream, url)
	}
	t.Log(err)
}

// replaceStream deletes the stream of that name and makes another.
func replaceStream(ctx context.Context, s *Store, cfg jetstream.StreamConfig) error {
	if err := s.js.DeleteStream(ctx, cfg.Name); err != nil {
		return err
	}
	_, err := s.js.CreateStream(ctx, cfg)
	return err
}

// Messages stored before Message had To decode with an empty one.
func TestDecodeMessageWithoutTo(t *testing.T) {
	old := Message{From: "ann", Room: "lounge", Text: "hi", Time: 1700000000000, Seq: 4}
	m, err := decodeMessage(appendMessage(nil, &old))
	if err != nil || m != old {
		t.Fatalf("decoded %+v, %v; want %+v", m, err, old)
	}
	pm := Message{From: "ann", To: "Bob", Text: "hi"}
	if m, err = decodeMessage(appendMessage(nil, &pm)); err != nil || m != pm {
		t.Fatalf("decoded %+v, %v; want %+v", m, err, pm)
	}
}
