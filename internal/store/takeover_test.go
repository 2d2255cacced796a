package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"chat/harness"
)

// serve serves node's takeovers on s, answering each with reply (nil:
// never answering) from another goroutine, as the server's loop does;
// the takeovers asked are kept as "name/session".
func serve(t testing.TB, s *Store, node string, reply func(name string) error) (asked func() []string, stop func()) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	stop, err := s.ServeTakeovers(node, func(name string, session int64, answer func(error)) {
		mu.Lock()
		got = append(got, fmt.Sprint(name, "/", session))
		mu.Unlock()
		if reply != nil {
			go answer(reply(name))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}, stop
}

func askWait(t testing.TB, s *Store, node, name string, session int64, timeout time.Duration) error {
	t.Helper()
	ch := make(chan error, 1)
	if err := s.AskTakeover(node, name, session, timeout, func(err error) { ch <- err }); err != nil {
		t.Fatalf("AskTakeover(%s, %s): %v", node, name, err)
	}
	return await(t, ch, "ask "+node)
}

// askServed asks until node's service has reached the asking store's
// server: until the answer is not that nobody serves it.
func askServed(t testing.TB, s *Store, node, name string, session int64, timeout time.Duration) error {
	t.Helper()
	var err error
	eventually(t, "node "+node+" serves takeovers", func() error {
		if err = askWait(t, s, node, name, session, timeout); errors.Is(err, ErrUnavailable) {
			return err
		}
		return nil
	})
	return err
}

// Takeovers between two stores on two servers of a cluster: answered
// (done), refused, unanswered (a timeout, all asks waiting at once), and
// asked of a node nobody serves, or no longer.
func TestTakeovers(t *testing.T) {
	c, err := harness.StartNATSCluster(harness.NATSClusterOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var stores []*Store
	for _, url := range []string{c.Nodes[0].ClientURL, c.Nodes[2].ClientURL} {
		s, err := Open(Config{URLs: []string{url}, Replicas: 3})
		if err != nil {
			t.Fatalf("Open on %s: %v", url, err)
		}
		t.Cleanup(s.Close)
		stores = append(stores, s)
	}
	a, b := stores[0], stores[1]

	asked, stop := serve(t, b, "node-b", func(string) error { return nil })
	if err := askServed(t, a, "node-b", "alice", 7, time.Second); err != nil {
		t.Fatalf("a takeover answered: %v", err)
	}
	if got := asked(); len(got) == 0 || got[len(got)-1] != "alice/7" {
		t.Errorf("node-b was asked %v, want alice/7 last", got)
	}

	serve(t, b, "node_r", func(name string) error { return fmt.Errorf("%s has no session 3 here", name) })
	err = askServed(t, a, "node_r", "bob", 3, time.Second)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "bob has no session 3 here") {
		t.Errorf("a takeover refused: %v, want ErrRefused with the node's reason", err)
	}

	silentAsked, _ := serve(t, b, "silent", nil)
	eventually(t, "node silent serves takeovers", func() error {
		askWait(t, a, "silent", "probe", 0, 100*time.Millisecond)
		if len(silentAsked()) == 0 {
			return errors.New("not asked yet")
		}
		return nil
	})
	const asks, timeout = 50, 300 * time.Millisecond
	start := time.Now()
	results := make(chan error, asks)
	for i := range asks {
		if err := a.AskTakeover("silent", fmt.Sprint("u", i), int64(i), timeout, func(err error) { results <- err }); err != nil {
			t.Fatal(err)
		}
	}
	for range asks {
		if err := await(t, results, "ask silent"); !errors.Is(err, ErrTimeout) {
			t.Errorf("a takeover unanswered: %v, want ErrTimeout", err)
		}
	}
	if d := time.Since(start); d < timeout || d > 10*timeout {
		t.Errorf("%d asks with a timeout of %v came back after %v: they must wait at once", asks, timeout, d)
	}

	if err := askWait(t, a, "nobody", "carol", 1, time.Second); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a takeover of a node nobody serves: %v, want ErrUnavailable", err)
	}
	stop()
	eventually(t, "node-b no longer served", func() error {
		if err := askWait(t, a, "node-b", "dan", 1, time.Second); !errors.Is(err, ErrUnavailable) {
			return fmt.Errorf("got %v, want ErrUnavailable", err)
		}
		return nil
	})
}

// Close answers the asks still waiting, at once, and refuses new ones.
func TestTakeoverAskedAtClose(t *testing.T) {
	s := open(t, Config{})
	serve(t, s, "silent", nil)
	ch := make(chan error, 1)
	if err := s.AskTakeover("silent", "alice", 1, time.Minute, func(err error) { ch <- err }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := await(t, ch, "ask at close"); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "closed") {
		t.Errorf("an ask waiting at Close: %v, want ErrUnavailable, closed", err)
	}
	if err := s.AskTakeover("silent", "alice", 1, time.Second, func(error) { t.Error("done called") }); !errors.Is(err, ErrClosed) {
		t.Errorf("an ask after Close: %v, want ErrClosed", err)
	}
}

func TestTakeoverCallsRefused(t *testing.T) {
	s := open(t, Config{})
	never := func(error) { t.Error("done called") }
	_, serveErr := s.ServeTakeovers("a b", func(string, int64, func(error)) {})
	for _, tc := range []struct {
		what string
		err  error
		want string
	}{
		{"serve a node with a space", serveErr, `has ' '`},
		{"ask a node with a dot", s.AskTakeover("a.b", "alice", 1, time.Second, never), `has '.'`},
		{"ask a node with a wildcard", s.AskTakeover("*", "alice", 1, time.Second, never), `has '*'`},
		{"ask without a name", s.AskTakeover("a", "", 1, time.Second, never), "no user name"},
		{"ask without a timeout", s.AskTakeover("a", "alice", 1, 0, never), "timeout"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to say %q", tc.what, tc.err, tc.want)
		}
	}
}
