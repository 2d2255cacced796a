package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

type claimed struct {
	held *Owner
	err  error
}

func (c claimed) String() string {
	if c.err != nil {
		return "error " + c.err.Error()
	}
	return "held " + ownerString(c.held)
}

func ownerString(o *Owner) string {
	if o == nil {
		return "nobody"
	}
	return fmt.Sprintf("%s/%d", o.Node, o.Session)
}

func claimWait(t testing.TB, s *Store, name string, o Owner) claimed {
	t.Helper()
	ch := make(chan claimed, 1)
	if err := s.ClaimName(name, o, func(held *Owner, err error) { ch <- claimed{held, err} }); err != nil {
		t.Fatalf("ClaimName(%s): %v", name, err)
	}
	return await(t, ch, "claim "+name)
}

func replaceWait(t testing.TB, s *Store, name string, from, to Owner) claimed {
	t.Helper()
	ch := make(chan claimed, 1)
	if err := s.ReplaceName(name, from, to, func(held *Owner, err error) { ch <- claimed{held, err} }); err != nil {
		t.Fatalf("ReplaceName(%s): %v", name, err)
	}
	return await(t, ch, "replace "+name)
}

func releaseWait(t testing.TB, s *Store, name string, o Owner) (released bool, err error) {
	t.Helper()
	type result struct {
		released bool
		err      error
	}
	ch := make(chan result, 1)
	if err := s.ReleaseName(name, o, func(released bool, err error) { ch <- result{released, err} }); err != nil {
		t.Fatalf("ReleaseName(%s): %v", name, err)
	}
	r := await(t, ch, "release "+name)
	return r.released, r.err
}

// releaseStep releases name for o as a step of a table, failing when the
// release did not let it go as want says.
func releaseStep(t testing.TB, s *Store, name string, o Owner, want bool) claimed {
	t.Helper()
	released, err := releaseWait(t, s, name, o)
	if err == nil && released != want {
		t.Errorf("release of %s by %s: let go %v, want %v", name, ownerString(&o), released, want)
	}
	return claimed{err: err}
}

// holder is who holds name, as the names bucket's leader says.
func holder(t testing.TB, s *Store, name string) *Owner {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	e, err := s.latest(ctx, namesBucket, UserToken(name))
	if err != nil {
		t.Fatal(err)
	}
	if e == nil || e.deleted {
		return nil
	}
	o, err := decodeOwner(e.value)
	if err != nil {
		t.Fatal(err)
	}
	return &o
}

// A name is taken only when free, handed over only from who holds it,
// let go only by who holds it; an owner is its node and session, the
// time it gives changing nothing.
func TestNameClaimReplaceRelease(t *testing.T) {
	s := open(t, Config{})
	a1 := Owner{Node: "a", Session: 1, At: 100}
	a1later := Owner{Node: "a", Session: 1, At: 999}
	b7 := Owner{Node: "b", Session: 7, Guest: true, At: 200}
	c3 := Owner{Node: "c", Session: 3, At: 300}
	for _, step := range []struct {
		what string
		do   func() claimed
		want string // the outcome
		now  string // who holds alice then
	}{
		{"a/1 claims a free name", func() claimed { return claimWait(t, s, "alice", a1) }, "held nobody", "a/1"},
		{"b/7 claims it", func() claimed { return claimWait(t, s, "alice", b7) }, "held a/1", "a/1"},
		{"a/1 claims it again, later", func() claimed { return claimWait(t, s, "alice", a1later) }, "held nobody", "a/1"},
		{"c/3 replaces b/7, who does not hold it", func() claimed { return replaceWait(t, s, "alice", b7, c3) }, "held a/1", "a/1"},
		{"b/7 replaces a/1", func() claimed { return replaceWait(t, s, "alice", a1later, b7) }, "held nobody", "b/7"},
		{"b/7 replaces a/1 again", func() claimed { return replaceWait(t, s, "alice", a1, b7) }, "held nobody", "b/7"},
		{"a/1 releases it, no longer its", func() claimed { return releaseStep(t, s, "alice", a1, false) }, "held nobody", "b/7"},
		{"b/7 releases it", func() claimed { return releaseStep(t, s, "alice", b7, true) }, "held nobody", "nobody"},
		{"b/7 releases it again", func() claimed { return releaseStep(t, s, "alice", b7, false) }, "held nobody", "nobody"},
		{"c/3 replaces a/1 in a free name", func() claimed { return replaceWait(t, s, "alice", a1, c3) }, "held nobody", "c/3"},
		{"a/1 claims it", func() claimed { return claimWait(t, s, "alice", a1) }, "held c/3", "c/3"},
		{"c/3 releases it", func() claimed { return releaseStep(t, s, "alice", c3, true) }, "held nobody", "nobody"},
		{"a/1 claims it again, free after a release", func() claimed { return claimWait(t, s, "alice", a1) }, "held nobody", "a/1"},
	} {
		if got := step.do().String(); got != step.want {
			t.Fatalf("%s: %s, want %s", step.what, got, step.want)
		}
		if now := ownerString(holder(t, s, "alice")); now != step.now {
			t.Fatalf("%s: alice is held by %s, want %s", step.what, now, step.now)
		}
	}
	if got := claimWait(t, s, "Alice", b7).String(); got != "held nobody" {
		t.Errorf("Alice, another name than alice: %s", got)
	}
	names := make(chan map[string]Owner, 1)
	if err := s.NamesOf("a", func(m map[string]Owner, err error) {
		if err != nil {
			t.Error(err)
		}
		names <- m
	}); err != nil {
		t.Fatal(err)
	}
	if got := await(t, names, "names of a"); len(got) != 1 || got["alice"] != a1 {
		t.Errorf("NamesOf(a): %v, want alice held by a/1 as it claimed it", got)
	}
}

// The cleanup after a dead node lets go of the names NamesOf found with
// ReleaseName, which lets go only of a name the dead session still holds:
// one taken over by another node or by another session of the node, or
// let go, since the read is not the dead session's, and a cleanup that
// told its rooms that user was lost would be telling them of a user who
// came back.
func TestReleaseNameLetsGoOnlyOfTheSessionsOwn(t *testing.T) {
	s := open(t, Config{})
	a1, a2, a3 := Owner{Node: "a", Session: 1}, Owner{Node: "a", Session: 2}, Owner{Node: "a", Session: 3}
	b9 := Owner{Node: "b", Session: 9}
	for name, o := range map[string]Owner{"alice": a1, "bob": a2, "carol": a3} {
		if got := claimWait(t, s, name, o).String(); got != "held nobody" {
			t.Fatalf("%s claimed by %s: %s", name, ownerString(&o), got)
		}
	}
	if got := replaceWait(t, s, "bob", a2, b9).String(); got != "held nobody" {
		t.Fatalf("b/9 replaces a/2 in bob: %s", got)
	}
	if _, err := releaseWait(t, s, "carol", a3); err != nil {
		t.Fatal(err)
	}
	// dave's session 4 on a ended, and a's session 5 took the name: a
	// node that lost its lease and took it again, its user back on it.
	a4, a5 := Owner{Node: "a", Session: 4}, Owner{Node: "a", Session: 5}
	if got := claimWait(t, s, "dave", a4).String(); got != "held nobody" {
		t.Fatalf("dave claimed by a/4: %s", got)
	}
	if got := replaceWait(t, s, "dave", a4, a5).String(); got != "held nobody" {
		t.Fatalf("a/5 replaces a/4 in dave: %s", got)
	}
	// As a read made before the takeovers and the release had it.
	stale := map[string]Owner{"alice": a1, "bob": a2, "carol": a3, "dave": a4}
	var released []string
	for name, o := range stale {
		ok, err := releaseWait(t, s, name, o)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			released = append(released, name)
		}
	}
	if len(released) != 1 || released[0] != "alice" {
		t.Errorf("names let go of a's sessions that held them when read: %v; want alice alone", released)
	}
	for name, want := range map[string]string{"alice": "nobody", "bob": "b/9", "carol": "nobody", "dave": "a/5"} {
		if now := ownerString(holder(t, s, name)); now != want {
			t.Errorf("%s is held by %s, want %s", name, now, want)
		}
	}
}

func TestNameCallsRefused(t *testing.T) {
	s := open(t, Config{})
	never := func(*Owner, error) { t.Error("done called") }
	for _, tc := range []struct {
		what string
		err  error
		want string
	}{
		{"no name", s.ClaimName("", Owner{Node: "a"}, never), "no user name"},
		{"no node", s.ClaimName("alice", Owner{}, never), "no node id"},
		{"a node with a dot", s.ReplaceName("alice", Owner{Node: "a"}, Owner{Node: "a.b"}, never), `has '.'`},
		{"a node with a wildcard", s.ClaimName("alice", Owner{Node: "a*"}, never), `has '*'`},
		{"release without a name", s.ReleaseName("", Owner{Node: "a"}, func(bool, error) { t.Error("done called") }), "no user name"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to say %q", tc.what, tc.err, tc.want)
		}
	}
}

// On the three nodes of a cluster: many sessions claim one name at once,
// and exactly one gets it, every other told who; every node tries to
// take it over from the winner at once, and one does; a watch on one
// node sees the names held, then every change made on the others.
func TestNamesOnACluster(t *testing.T) {
	stores := openAll(t, clusterConfigs(t, 3, Config{}))
	const perNode = 10
	var mu sync.Mutex
	var winners []Owner
	held := map[string]int{}
	var wg sync.WaitGroup
	for i, s := range stores {
		for j := range perNode {
			o := Owner{Node: fmt.Sprint("n", i), Session: int64(j)}
			ch := make(chan claimed, 1)
			if err := s.ClaimName("alice", o, func(h *Owner, err error) { ch <- claimed{h, err} }); err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				c := await(t, ch, "claim")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case c.err != nil:
					t.Errorf("%s: %v", ownerString(&o), c.err)
				case c.held == nil:
					winners = append(winners, o)
				default:
					held[ownerString(c.held)]++
				}
			})
		}
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d winners %v, want 1", len(winners), winners)
	}
	w := ownerString(&winners[0])
	if held[w] != 3*perNode-1 || len(held) != 1 {
		t.Errorf("the others were told %v; want all %d told %s", held, 3*perNode-1, w)
	}
	for i, s := range stores {
		if got := ownerString(holder(t, s, "alice")); got != w {
			t.Errorf("node %d reads alice held by %s, want %s", i, got, w)
		}
	}

	results := make(chan claimed, 3)
	for i, s := range stores {
		if err := s.ReplaceName("alice", winners[0], Owner{Node: fmt.Sprint("n", i), Session: 100}, func(h *Owner, err error) {
			results <- claimed{h, err}
		}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for range 3 {
		got = append(got, await(t, results, "replace").String())
	}
	now := ownerString(holder(t, stores[0], "alice"))
	if all := strings.Join(got, ","); strings.Count(all, "held nobody") != 1 || strings.Count(all, "held "+now) != 2 {
		t.Errorf("takeovers: %v, alice now %s; want one taking it and two told it is %s's", got, now, now)
	}

	claimWait(t, stores[0], "bob", Owner{Node: "n0", Session: 1})
	claimWait(t, stores[0], "dan", Owner{Node: "n0", Session: 2})
	releaseWait(t, stores[0], "dan", Owner{Node: "n0", Session: 2})
	var changes []string
	stop, err := stores[1].WatchNames(func(name string, o *Owner) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, name+":"+ownerString(o))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	mu.Lock()
	if have, want := strings.Join(changes, " "), "alice:"+now+" bob:n0/1"; have != want {
		t.Errorf("the watch began with %q, want %q (dan, let go before, is not held)", have, want)
	}
	mu.Unlock()
	// Each change is waited for before the next: the bucket keeps a
	// key's latest revision only, so a watcher behind would find a
	// release's marker already replaced by the next claim of the name.
	seen := func(want string) {
		t.Helper()
		eventually(t, "the watch on n1 sees the changes made on n0 and n2", func() error {
			mu.Lock()
			defer mu.Unlock()
			if have := strings.Join(changes, " "); have != "alice:"+now+" bob:n0/1"+want {
				return fmt.Errorf("saw %q, want %q", have, "alice:"+now+" bob:n0/1"+want)
			}
			return nil
		})
	}
	releaseWait(t, stores[0], "bob", Owner{Node: "n0", Session: 1})
	seen(" bob:nobody")
	claimWait(t, stores[2], "carol", Owner{Node: "n2", Session: 5})
	replaceWait(t, stores[2], "bob", Owner{Node: "n0", Session: 1}, Owner{Node: "n2", Session: 6})
	seen(" bob:nobody carol:n2/5 bob:n2/6")
	stop()
	claimWait(t, stores[2], "erin", Owner{Node: "n2", Session: 7})
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(strings.Join(changes, " "), "erin") {
		t.Errorf("the watch saw erin after it was stopped: %q", changes)
	}
}

// A hand-over or a release of a name the names watch saw held makes its
// compare-and-set at the revision the watch saw, without reading the
// bucket's leader; when the watch was behind, that write fails, the
// leader is read, and the outcome is what it would have been.
func TestNamesTheWatchSawNeedNoLeaderRead(t *testing.T) {
	s := open(t, Config{})
	gets, err := s.nc.SubscribeSync("$JS.API.STREAM.MSG.GET.KV_" + namesBucket)
	if err != nil {
		t.Fatal(err)
	}
	counted := 0
	leaderReads := func() int { // since the last call
		t.Helper()
		// The requests are this connection's: once the server answered
		// a ping sent after them, their copies are queued here.
		if err := s.nc.Flush(); err != nil {
			t.Fatal(err)
		}
		n, _, err := gets.Pending()
		if err != nil {
			t.Fatal(err)
		}
		n, counted = n-counted, n
		return n
	}
	seen := make(chan string, 16)
	stop, err := s.WatchNames(func(name string, o *Owner) { seen <- name + ":" + ownerString(o) })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	saw := func(want string) {
		t.Helper()
		if got := await(t, seen, "the watch"); got != want {
			t.Fatalf("the watch saw %s, want %s", got, want)
		}
	}

	a1, b7, c3 := Owner{Node: "a", Session: 1}, Owner{Node: "b", Session: 7}, Owner{Node: "c", Session: 3}
	claimWait(t, s, "alice", a1)
	saw("alice:a/1")
	leaderReads()
	if got := replaceWait(t, s, "alice", a1, b7).String(); got != "held nobody" {
		t.Fatalf("b/7 replaces a/1: %s", got)
	}
	if n := leaderReads(); n != 0 {
		t.Errorf("a hand-over the watch saw made %d leader reads, want 0", n)
	}
	saw("alice:b/7")
	if released, err := releaseWait(t, s, "alice", b7); err != nil || !released {
		t.Fatalf("b/7 releases alice: %v, %v", released, err)
	}
	if n := leaderReads(); n != 0 {
		t.Errorf("a release the watch saw made %d leader reads, want 0", n)
	}
	saw("alice:nobody")

	// The watch behind: it last saw a/1 hold alice, at the revision of
	// a/1's claim, and c/3 has it since.
	claimWait(t, s, "alice", a1)
	saw("alice:a/1")
	key := UserToken("alice")
	s.seen.mu.Lock()
	stale := s.seen.m[key]
	s.seen.mu.Unlock()
	replaceWait(t, s, "alice", a1, c3)
	saw("alice:c/3")
	for _, step := range []struct {
		what string
		do   func() claimed
		want string
	}{
		{"b/7 replaces a/1", func() claimed { return replaceWait(t, s, "alice", a1, b7) }, "held c/3"},
		{"a/1 releases it", func() claimed { return releaseStep(t, s, "alice", a1, false) }, "held nobody"},
	} {
		s.seen.saw(key, stale.rev, &stale.o)
		leaderReads()
		if got := step.do().String(); got != step.want {
			t.Errorf("%s, the watch behind: %s, want %s", step.what, got, step.want)
		}
		if n := leaderReads(); n != 1 {
			t.Errorf("%s, the watch behind: %d leader reads, want 1", step.what, n)
		}
		if now := ownerString(holder(t, s, "alice")); now != "c/3" {
			t.Errorf("%s, the watch behind: alice is held by %s, want c/3", step.what, now)
		}
	}
}
