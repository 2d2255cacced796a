package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func memberDone(t testing.TB, what string, call func(done func(error)) error) {
	t.Helper()
	ch := make(chan error, 1)
	if err := call(func(err error) { ch <- err }); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := await(t, ch, what); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func memberList(ms []Member) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s/%s@%s", m.Room, m.Name, m.Node))
	}
	return strings.Join(parts, " ")
}

func membersOfWait(t testing.TB, s *Store, node string) string {
	t.Helper()
	type got struct {
		ms  []Member
		err error
	}
	ch := make(chan got, 1)
	if err := s.MembersOf(node, func(ms []Member, err error) { ch <- got{ms, err} }); err != nil {
		t.Fatal(err)
	}
	g := await(t, ch, "members of "+node)
	if g.err != nil {
		t.Fatalf("members of %s: %v", node, g.err)
	}
	return memberList(g.ms)
}

// A node records its members and forgets them only if they are its own;
// a kick (no node) forgets whoever's. Every node reads them all at start
// (LoadMembers, by room then name), a cleanup one node's.
func TestMembers(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Config{Dir: dir})
	for _, step := range []struct {
		what string
		call func(done func(error)) error
	}{
		{"n1 puts alice in Lounge", func(d func(error)) error { return s.PutMember("Lounge", "alice", "n1", d) }},
		{"n2 puts bob in lounge", func(d func(error)) error { return s.PutMember("lounge", "bob", "n2", d) }},
		{"n1 puts alice in den", func(d func(error)) error { return s.PutMember("den", "alice", "n1", d) }},
		{"n1 puts Bob in den", func(d func(error)) error { return s.PutMember("den", "Bob", "n1", d) }},
		{"n1 forgets bob in lounge, n2's", func(d func(error)) error { return s.DeleteMember("lounge", "bob", "n1", d) }},
		{"n2 puts carol in attic", func(d func(error)) error { return s.PutMember("attic", "carol", "n2", d) }},
		{"a kick forgets carol in attic", func(d func(error)) error { return s.DeleteMember("attic", "carol", "", d) }},
		{"n1 forgets dan, never in den", func(d func(error)) error { return s.DeleteMember("den", "dan", "n1", d) }},
	} {
		memberDone(t, step.what, step.call)
	}
	ms, err := s.LoadMembers()
	if err != nil {
		t.Fatal(err)
	}
	want := "den/Bob@n1 den/alice@n1 lounge/alice@n1 lounge/bob@n2"
	if got := memberList(ms); got != want {
		t.Errorf("LoadMembers: %s, want %s", got, want)
	}
	if got := membersOfWait(t, s, "n1"); got != "den/Bob@n1 den/alice@n1 lounge/alice@n1" {
		t.Errorf("MembersOf(n1): %s", got)
	}
	memberDone(t, "n1 forgets alice in lounge", func(d func(error)) error { return s.DeleteMember("lounge", "alice", "n1", d) })
	if got := membersOfWait(t, s, "n2"); got != "lounge/bob@n2" {
		t.Errorf("MembersOf(n2): %s", got)
	}

	s.Close()
	s = open(t, Config{Dir: dir})
	if ms, err = s.LoadMembers(); err != nil || memberList(ms) != "den/Bob@n1 den/alice@n1 lounge/bob@n2" {
		t.Errorf("LoadMembers after reopening: %s, %v", memberList(ms), err)
	}
	if got := membersOfWait(t, s, "n9"); got != "" {
		t.Errorf("MembersOf a node with none: %q", got)
	}
}

func TestMemberCallsRefused(t *testing.T) {
	s := open(t, Config{})
	never := func(error) { t.Error("done called") }
	for _, tc := range []struct {
		what string
		err  error
		want string
	}{
		{"no room", s.PutMember("", "alice", "n1", never), "no room"},
		{"no name", s.PutMember("lounge", "", "n1", never), "no user name"},
		{"no node", s.PutMember("lounge", "alice", "", never), "no node id"},
		{"a node with a space", s.DeleteMember("lounge", "alice", "n 1", never), `has ' '`},
		{"a kick without a room", s.DeleteMember("", "alice", "", never), "no room"},
		{"members of no node", s.MembersOf("", func([]Member, error) { t.Error("done called") }), "no node id"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to say %q", tc.what, tc.err, tc.want)
		}
	}
}

// A bucket's state is read up to what the stream's leader has: the tail
// asks it for the next message of its subjects after the last it took.
func TestLeaderNextSeq(t *testing.T) {
	s := open(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	const stream, subjects = "KV_" + membersBucket, "$KV." + membersBucket + ".>"
	if seq, err := s.leaderNextSeq(ctx, stream, subjects, 1); seq != 0 || err != nil {
		t.Fatalf("next of an empty bucket: %d, %v", seq, err)
	}
	memberDone(t, "n1 puts alice in lounge", func(d func(error)) error { return s.PutMember("lounge", "alice", "n1", d) })
	memberDone(t, "n1 puts bob in lounge", func(d func(error)) error { return s.PutMember("lounge", "bob", "n1", d) })
	last, err := s.leaderLastSeq(ctx, stream)
	if err != nil || last < 2 {
		t.Fatalf("last of the bucket: %d, %v", last, err)
	}
	if seq, err := s.leaderNextSeq(ctx, stream, subjects, last); seq != last || err != nil {
		t.Errorf("next at the last: %d, %v; want %d", seq, err, last)
	}
	if seq, err := s.leaderNextSeq(ctx, stream, subjects, last+1); seq != 0 || err != nil {
		t.Errorf("next after the last: %d, %v; want none", seq, err)
	}
	if seq, err := s.leaderNextSeq(ctx, stream, "$KV."+membersBucket+".nothing.>", 1); seq != 0 || err != nil {
		t.Errorf("next of subjects never written: %d, %v; want none", seq, err)
	}
}
