package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Names. Every node of a cluster gives out user names from one bucket,
// names, keyed by UserToken(name), the value the JSON of the Owner that
// holds it. A name is taken with a create (a write that JetStream takes
// only if the key has nothing, or only a marker, at the revision read):
// of any number of claimants on any nodes, exactly one gets it. It is
// given up or handed over with a compare-and-set on the revision read,
// so that a node never lets go of, or replaces, a name someone else took
// meanwhile. The reads are the bucket leader's (registrar.go).
//
// A name let go leaves a marker, kept markerTTL, which watchers see as
// the name's release.

// Owner is who holds a name: a session of a node.
type Owner struct {
	Node    string `json:"node"`
	Session int64  `json:"session"`
	Guest   bool   `json:"guest,omitempty"`
	At      int64  `json:"at"` // when it was taken, Unix milliseconds
}

// same reports whether o and p are one holder: the same session of the
// same node. At and Guest are what the holder says of its hold, not who
// it is: a release made with the time of the release is still its own.
func (o Owner) same(p Owner) bool { return o.Node == p.Node && o.Session == p.Session }

func decodeOwner(b []byte) (Owner, error) {
	var o Owner
	err := json.Unmarshal(b, &o)
	if err == nil && o.Node == "" {
		err = fmt.Errorf("no node in %q", b)
	}
	return o, err
}

// ClaimName takes name for o if nobody holds it, asynchronously: done is
// called once, from a registrar goroutine, with held nil when o has it
// now (it did already, too), or with who holds it (and nothing changed),
// or with an error (ErrUnavailable, ErrTimeout: it may or may not have
// been taken). Exactly one of several claimants, on any nodes, gets a
// free name. It never blocks: a full queue returns ErrBusy, a closed
// store ErrClosed, and then done is not called.
func (s *Store) ClaimName(name string, o Owner, done func(held *Owner, err error)) error {
	return s.replaceName("claim", name, nil, o, done)
}

// ReplaceName hands name over from from to to, if from still holds it (the
// same Node and Session), or takes it for to if it is free: done gets
// held nil then, and when to holds it already. If someone else holds it,
// done gets who, and nothing changed. Otherwise as ClaimName.
func (s *Store) ReplaceName(name string, from, to Owner, done func(held *Owner, err error)) error {
	return s.replaceName("replace", name, &from, to, done)
}

func (s *Store) replaceName(what, name string, from *Owner, to Owner, done func(held *Owner, err error)) error {
	if name == "" {
		return errNoUser
	}
	if err := CheckNode(to.Node); err != nil {
		return err
	}
	key := UserToken(name)
	val, err := json.Marshal(to)
	if err != nil {
		return err
	}
	return s.register(key, func() {
		ctx, cancel := s.timeout()
		defer cancel()
		var held *Owner
		err := s.atSeenRevision(key, from, func(rev uint64) error { return s.takeAt(ctx, key, val, rev) })
		if errors.Is(err, errAgain) {
			err = settle(ctx, func() error {
				var err error
				held, err = s.takeName(ctx, name, key, val, from, to)
				return err
			})
		}
		if err != nil {
			err = fmt.Errorf("%s the name %q: %w", what, name, err)
		}
		done(held, err)
	})
}

// takeName is one try of ClaimName (from nil) or ReplaceName.
func (s *Store) takeName(ctx context.Context, name, key string, val []byte, from *Owner, to Owner) (*Owner, error) {
	e, err := s.latest(ctx, namesBucket, key)
	if err != nil {
		return nil, classify(err)
	}
	var rev uint64 // free: nothing at all (0), or a marker
	if e != nil && !e.deleted {
		cur, err := decodeOwner(e.value)
		switch {
		case err != nil:
			return nil, s.incompatible(fmt.Sprintf("bucket %s, name %q", namesBucket, name), err)
		case cur.same(to):
			return nil, nil
		case from == nil || !cur.same(*from):
			return &cur, nil
		}
	}
	if e != nil {
		rev = e.revision
	}
	return nil, s.takeAt(ctx, key, val, rev)
}

// takeAt writes val to key if the key is still at revision rev (0:
// nothing at all): errAgain if it is not.
func (s *Store) takeAt(ctx context.Context, key string, val []byte, rev uint64) error {
	_, err := s.namesKV.Update(ctx, key, val, rev)
	switch {
	case conflict(err):
		return errAgain
	case err != nil:
		return classify(err)
	}
	return nil
}

// ReleaseName lets name go if o (the same Node and Session) still holds
// it, asynchronously: done is called once, from a registrar goroutine,
// with released true when this call let it go, false when it was not o's
// (someone else's, or free already), or with an error (ErrUnavailable,
// ErrTimeout: it may or may not have been let go). It never blocks: a
// full queue returns ErrBusy, a closed store ErrClosed, and then done is
// not called.
func (s *Store) ReleaseName(name string, o Owner, done func(released bool, err error)) error {
	if name == "" {
		return errNoUser
	}
	key := UserToken(name)
	return s.register(key, func() {
		ctx, cancel := s.timeout()
		defer cancel()
		err := s.atSeenRevision(key, &o, func(rev uint64) error { return s.deleteKey(ctx, s.namesKV, key, rev) })
		released := err == nil
		if errors.Is(err, errAgain) {
			err = settle(ctx, func() error {
				e, err := s.latest(ctx, namesBucket, key)
				if err != nil || e == nil || e.deleted {
					return classify(err)
				}
				if cur, err := decodeOwner(e.value); err != nil || !cur.same(o) {
					return nil // not o's: an entry it cannot read is not either
				}
				if err := s.deleteKey(ctx, s.namesKV, key, e.revision); err != nil {
					return err
				}
				released = true
				return nil
			})
		}
		if err != nil {
			err = fmt.Errorf("release the name %q: %w", name, err)
		}
		done(released, err)
	})
}

// deleteKey deletes key if it is still at revision rev, leaving a marker
// for markerTTL: errAgain if it is not.
func (s *Store) deleteKey(ctx context.Context, kv jetstream.KeyValue, key string, rev uint64) error {
	err := kv.Purge(ctx, key, jetstream.LastRevision(rev), jetstream.PurgeTTL(markerTTL))
	switch {
	case conflict(err):
		return errAgain
	case err != nil:
		return classify(err)
	}
	return nil
}

// NamesOf reads the names node holds, name → owner, and calls done with
// them from a reader goroutine: what a node cleaning up after a dead one
// lets go. It reads the whole bucket, up to what its leader had when the
// read began (a replica behind has caught up by then). A user may come
// back on another node, taking the name over, as soon as it is read: the
// cleanup lets each name go with ReleaseName, which does only while the
// dead session holds it, and tells the rooms of those it let go. It
// never blocks: a full queue returns ErrBusy, a closed store ErrClosed,
// and then done is not called.
func (s *Store) NamesOf(node string, done func(map[string]Owner, error)) error {
	if err := CheckNode(node); err != nil {
		return err
	}
	return s.enqueue(nodeJob(node), func() {
		ctx, cancel := s.timeout()
		defer cancel()
		names := make(map[string]Owner)
		err := s.scan(ctx, namesBucket, func(key string, val []byte) error {
			name, err := UserOf(key)
			if err != nil {
				return err
			}
			o, err := decodeOwner(val)
			if err != nil {
				return fmt.Errorf("name %q: %w", name, err)
			}
			if o.Node == node {
				names[name] = o
			}
			return nil
		})
		if err != nil {
			names = nil
		}
		done(names, err)
	})
}

// WatchNames calls fn with every name held, and then with every change,
// one at a time from a NATS goroutine, in the bucket's order, until stop
// is called: o nil when the name was let go (released, or its marker
// expired). It returns once fn has had every name held: the start-up
// state. fn should hand the change over and return quickly: the changes
// behind it wait. A change it cannot read is left out (at start, it is an
// error: ErrIncompatible). stop waits for fn to return, and must not be
// called from fn.
func (s *Store) WatchNames(fn func(name string, o *Owner)) (stop func(), err error) {
	stopWatch, err := s.watch(namesBucket, ">", func(key string, val []byte, deleted bool, rev uint64) error {
		name, err := UserOf(key)
		if err != nil {
			return err
		}
		if deleted {
			s.seen.saw(key, rev, nil)
			fn(name, nil)
			return nil
		}
		o, err := decodeOwner(val)
		if err != nil {
			s.seen.saw(key, rev, nil)
			return fmt.Errorf("name %q: %w", name, err)
		}
		s.seen.saw(key, rev, &o)
		fn(name, &o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return func() {
		stopWatch()
		s.seen.reset()
	}, nil
}
