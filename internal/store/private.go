package store

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Private messages are on two streams, one subject per recipient
// (UserToken, case sensitive): PRIVATE keeps those shown at once to an
// online recipient, as a record, dropping a recipient's oldest past
// Config.PrivateKept; INBOX keeps those for an offline recipient until
// ClearInbox, refusing a new one (ErrInboxFull) past Config.InboxLimit.

// AppendPrivate stores msg, a private message to user to, asynchronously,
// through the same queue as Append: done is called once, from the acker
// goroutine, in the order of the calls to Append and AppendPrivate, with
// the message as stored (To set to to, Seq 0: private messages have no
// numbering of their own; StreamSeq set) or with an error: those of Append,
// or ErrInboxFull. away keeps it in to's inbox, for Inbox to read when to
// comes back; otherwise it goes to the record of messages shown at once.
// It never blocks: a full queue returns ErrBusy, a closed store
// ErrClosed, and then done is not called.
func (s *Store) AppendPrivate(to string, msg Message, away bool, done func(Stored, error)) error {
	if to == "" {
		return errNoUser
	}
	msg.To, msg.Seq = to, 0
	stream := privateStream
	if away {
		stream = inboxStream
	}
	return s.queue(appendReq{stream: stream, subj: privateSubject(to, away), msg: msg, done: done})
}

// Inbox reads the private messages waiting for user, oldest first (all of
// them: at most Config.InboxLimit), each with its StreamSeq for
// ClearInbox, and calls done with them from a reader goroutine. It is
// a barrier behind the appends: it reads only once every Append and
// AppendPrivate called before it has been acknowledged or has failed, so
// an away message whose AppendPrivate came first is in the result. It
// never blocks: a full queue returns ErrBusy, a closed store ErrClosed,
// and then done is not called.
func (s *Store) Inbox(user string, done func([]Stored, error)) error {
	if user == "" {
		return errNoUser
	}
	read := func() {
		ctx, cancel := s.timeout()
		defer cancel()
		subj := privateSubject(user, true)
		var msgs []Stored
		for next := uint64(1); int64(len(msgs)) < s.cfg.InboxLimit; {
			m, err := s.nextStored(ctx, subj, next)
			if err != nil {
				done(nil, fmt.Errorf("inbox of %q: %w", user, err))
				return
			}
			if m == nil {
				break
			}
			msgs = append(msgs, *m)
			next = m.StreamSeq + 1
		}
		done(msgs, nil)
	}
	// The acker hands it to the user's reader, waiting for room there:
	// the barrier's place in the queue is already taken.
	reads := s.reads[shard(userJob(user), readers)]
	return s.queue(appendReq{read: func() { reads <- read }})
}

// ClearInbox forgets user's waiting messages up to StreamSeq through (the
// last one Inbox gave, once delivered), keeping any that came after, and
// calls done from a reader goroutine. It never blocks: a full queue
// returns ErrBusy, a closed store ErrClosed, and then done is not called.
func (s *Store) ClearInbox(user string, through uint64, done func(error)) error {
	if user == "" {
		return errNoUser
	}
	return s.enqueue(userJob(user), func() {
		ctx, cancel := s.timeout()
		defer cancel()
		err := s.inbox.Purge(ctx, jetstream.WithPurgeSubject(privateSubject(user, true)),
			jetstream.WithPurgeSequence(through+1))
		if err != nil {
			err = fmt.Errorf("clear the inbox of %q: %w", user, classify(err))
		}
		done(err)
	})
}

// InboxUsers lists the users who have private messages waiting, so that
// only their logins read an inbox. It blocks; it is for start-up.
func (s *Store) InboxUsers() ([]string, error) {
	ctx, cancel := s.timeout()
	defer cancel()
	info, err := s.inbox.Info(ctx, jetstream.WithSubjectFilter(inboxPrefix+"*"))
	if err != nil {
		return nil, fmt.Errorf("inboxes: %w", classify(err))
	}
	var users []string
	for subj, n := range info.State.Subjects {
		user, err := UserOf(strings.TrimPrefix(subj, inboxPrefix))
		if err != nil {
			return nil, fmt.Errorf("%w: inbox subject %q: %v", ErrIncompatible, subj, err)
		}
		if n > 0 {
			users = append(users, user)
		}
	}
	slices.Sort(users)
	return users, nil
}
