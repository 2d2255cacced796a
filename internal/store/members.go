package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
)

// Members. Each node keeps its own rooms' members in the members bucket,
// keyed by Token(room) + "." + UserToken(name), the value the node's id:
// what a node starting reads of the others' members (their events before
// it started are not followed), and what a node cleaning up after a dead
// one finds of it. A member's own node is the truth about it; this is
// what the others know.

// Member is a user in a room, as a node recorded it.
type Member struct {
	Room string // folded, as Token gives it back
	Name string
	Node string
}

func memberKey(room, name string) string { return Token(room) + "." + UserToken(name) }

func parseMember(key string, val []byte) (Member, error) {
	rt, ut, ok := strings.Cut(key, ".")
	if !ok {
		return Member{}, fmt.Errorf("key %q is not ROOM.USER", key)
	}
	room, err := RoomOf(rt)
	if err != nil {
		return Member{}, err
	}
	name, err := UserOf(ut)
	if err != nil {
		return Member{}, err
	}
	if err := CheckNode(string(val)); err != nil {
		return Member{}, err
	}
	return Member{Room: room, Name: name, Node: string(val)}, nil
}

// checkMember refuses at once a member that would have no key, or a node
// id that is not one.
func checkMember(room, name, node string) error {
	switch {
	case room == "":
		return errNoRoom
	case name == "":
		return errNoUser
	}
	return CheckNode(node)
}

// PutMember records that name is in room on node, asynchronously: done,
// if not nil, is called once from a registrar goroutine, with nil or an
// error (ErrUnavailable, ErrTimeout). A room and name's calls keep their
// order. It never blocks: a full queue returns ErrBusy, a closed store
// ErrClosed, and then done is not called.
func (s *Store) PutMember(room, name, node string, done func(error)) error {
	if err := checkMember(room, name, node); err != nil {
		return err
	}
	key := memberKey(room, name)
	return s.register(key, func() {
		ctx, cancel := s.timeout()
		defer cancel()
		_, err := s.membersKV.Put(ctx, key, []byte(node))
		if err != nil {
			err = fmt.Errorf("record %q in %q: %w", name, room, classify(err))
		}
		if done != nil {
			done(err)
		}
	})
}

// DeleteMember forgets that name is in room, if node recorded it (node
// empty: whoever did, as for a kick), asynchronously: done, if not nil,
// is called once from a registrar goroutine, with nil when the record is
// not node's now (forgotten, another node's, or none), or an error
// (ErrUnavailable, ErrTimeout). Otherwise as PutMember.
func (s *Store) DeleteMember(room, name, node string, done func(error)) error {
	if node != "" {
		if err := checkMember(room, name, node); err != nil {
			return err
		}
	} else if err := checkMember(room, name, "any"); err != nil {
		return err
	}
	key := memberKey(room, name)
	return s.register(key, func() {
		ctx, cancel := s.timeout()
		defer cancel()
		err := settle(ctx, func() error {
			e, err := s.latest(ctx, membersBucket, key)
			switch {
			case err != nil:
				return classify(err)
			case e == nil || e.deleted || node != "" && string(e.value) != node:
				return nil
			}
			return s.deleteKey(ctx, s.membersKV, key, e.revision)
		})
		if err != nil {
			err = fmt.Errorf("forget %q in %q: %w", name, room, err)
		}
		if done != nil {
			done(err)
		}
	})
}

// LoadMembers returns every member every node recorded, by room then
// name (in the order of their tokens). It blocks: it is for the server's
// start, before the loop runs.
func (s *Store) LoadMembers() ([]Member, error) {
	ctx, cancel := s.timeout()
	defer cancel()
	return s.members(ctx, "")
}

// MembersOf reads the members node recorded, by room then name, and
// calls done with them from a reader goroutine: what a node cleaning
// up after a dead one tells their rooms of. It reads the whole bucket.
// It never blocks: a full queue returns ErrBusy, a closed store
// ErrClosed, and then done is not called.
func (s *Store) MembersOf(node string, done func([]Member, error)) error {
	if err := CheckNode(node); err != nil {
		return err
	}
	return s.enqueue(nodeJob(node), func() {
		ctx, cancel := s.timeout()
		defer cancel()
		done(s.members(ctx, node))
	})
}

// members reads node's members, or everyone's (node empty).
func (s *Store) members(ctx context.Context, node string) ([]Member, error) {
	var ms []Member
	err := s.scan(ctx, membersBucket, func(key string, val []byte) error {
		m, err := parseMember(key, val)
		if err == nil && (node == "" || m.Node == node) {
			ms = append(ms, m)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	slices.SortFunc(ms, func(a, b Member) int {
		return cmp.Or(strings.Compare(Token(a.Room), Token(b.Room)), strings.Compare(UserToken(a.Name), UserToken(b.Name)))
	})
	return ms, nil
}
