package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The registrars write what the nodes of a cluster share about each
// other in the names, members and nodes buckets: claims and releases of
// names, members, cleanup claims. Each is a compare-and-set of one key,
// a read and a write or two, retried while another node's write comes
// between them. They run on goroutines of their own rather than the
// reader's, so that a storm of logins (a dead node's users coming back
// on the others) and history reads do not wait for each other, and on
// several, each key always on the same one (by a hash of the key), so
// that one name's claims and releases keep the order of the calls while
// different names' go on side by side.

// registrars is how many registrar goroutines a store runs: each job is
// mostly a wait for NATS, a round trip or two to the bucket's leader, so
// that a dead node's thousands of users claiming their names at once are
// served as many at a time. The bucket's leader takes writes side by side
// far faster than one after another.
const registrars = 64

// register hands job, about key, to its registrar, or refuses at once.
func (s *Store) register(key string, job func()) error {
	return offer(s, s.registry[shard(key, registrars)], job)
}

func (s *Store) registrar(jobs <-chan func()) {
	defer s.registering.Done()
	for job := range jobs {
		job()
	}
}

// entry is the latest revision of a key, as the bucket's leader has it.
type entry struct {
	value    []byte
	revision uint64
	deleted  bool // a delete or purge marker, or the marker of an expiry
}

// kvOperationHeader marks the KV client's delete and purge; JetStream's
// marker of a key that expired has jetstream.MarkerReasonHeader.
const kvOperationHeader = "KV-Operation"

// latest reads key's latest revision from the bucket's leader; nil when
// the key never was, or its marker is gone too. The KV client's gets are
// direct, and a replica that has not caught up may answer them: a
// compare-and-set that read from it would fail, or worse, tell a caller
// that the name is someone's it no longer is. The leader has every
// acknowledged write.
func (s *Store) latest(ctx context.Context, bucket, key string) (*entry, error) {
	req, _ := json.Marshal(struct {
		LastBySubject string `json:"last_by_subj"`
	}{"$KV." + bucket + "." + key})
	msg, err := s.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET.KV_"+bucket, req)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Error   *jetstream.APIError `json:"error"`
		Message *struct {
			Seq    uint64 `json:"seq"`
			Header []byte `json:"hdrs"`
			Data   []byte `json:"data"`
		} `json:"message"`
	}
	switch err := json.Unmarshal(msg.Data, &resp); {
	case err != nil:
		return nil, fmt.Errorf("get %s of bucket %s: %w", key, bucket, err)
	case resp.Error != nil && resp.Error.ErrorCode == jsNoMessageFound:
		return nil, nil
	case resp.Error != nil:
		return nil, resp.Error
	case resp.Message == nil:
		return nil, fmt.Errorf("get %s of bucket %s: no message in the answer", key, bucket)
	}
	e := &entry{value: resp.Message.Data, revision: resp.Message.Seq}
	if len(resp.Message.Header) > 0 {
		h, err := nats.DecodeHeadersMsg(resp.Message.Header)
		if err != nil {
			return nil, fmt.Errorf("get %s of bucket %s: %w", key, bucket, err)
		}
		e.deleted = h.Get(kvOperationHeader) != "" || h.Get(jetstream.MarkerReasonHeader) != ""
	}
	return e, nil
}

// leaderNextSeq asks stream's leader for the sequence of its first
// message on subject (wildcards allowed) at or after seq: 0 if there is
// none.
func (s *Store) leaderNextSeq(ctx context.Context, stream, subject string, seq uint64) (uint64, error) {
	n, err := s.leaderMsgSeq(ctx, stream, map[string]any{"seq": seq, "next_by_subj": subject}, "the next message")
	return n, classify(err)
}

// conflict reports whether a compare-and-set write was refused because
// the key is no longer at the revision it named.
func conflict(err error) bool {
	return outOfDate(err) || errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// errAgain is a step's way of saying that another node's write came
// between its read and its write: read again.
var errAgain = errors.New("changed meanwhile")

// settle runs step until it returns something but errAgain, waiting a
// little (1, 2, 4 ... 64 ms, a random part of it) between tries, so that
// nodes that collided do not come back together; until ctx ends.
func settle(ctx context.Context, step func() error) error {
	for n := 0; ; n++ {
		err := step()
		if !errors.Is(err, errAgain) {
			return err
		}
		d := time.Millisecond << min(n, 6)
		d = d/2 + rand.N(d/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: other writers kept changing it (%d tries)", classify(ctx.Err()), n+1)
		case <-t.C:
		}
	}
}
