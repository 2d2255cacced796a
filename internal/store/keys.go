package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// The chat's secret keys, one per use, made once for the whole chat and
// kept in the bucket KEYS: every server of a cluster reads the same. A key
// is never logged nor written anywhere else; whoever can read the bucket
// can read it, as they can read every message.

const (
	keysBucket = "keys"
	// resumeKeyName holds the key of the resume tokens (server/auth).
	resumeKeyName = "resume"
	// ResumeKeyBytes is the length of the resume tokens' key.
	ResumeKeyBytes = 32
)

// ResumeKey returns the key of the chat's resume tokens, making it if no
// server has yet. Servers starting together each try to create it; KV
// Create lets exactly one win, and the others read the winner's. It waits
// within ctx for a cluster that is still electing its leaders.
func (s *Store) ResumeKey(ctx context.Context) ([]byte, error) {
	cfg := jetstream.KeyValueConfig{Bucket: keysBucket, Description: "the chat's secret keys",
		History: 1, Storage: jetstream.FileStorage, Replicas: s.replicas()}
	kv, err := untilReady(ctx, s, s.cfg.Timeout, func(ctx context.Context) (jetstream.KeyValue, error) {
		return s.openBucket(ctx, cfg)
	})
	if err != nil {
		return nil, s.setupError("bucket "+keysBucket, err)
	}
	if err := s.waitLeader(ctx, "bucket "+keysBucket, "KV_"+keysBucket); err != nil {
		return nil, err
	}
	fresh := make([]byte, ResumeKeyBytes)
	rand.Read(fresh) // never fails (crypto/rand's documented contract)
	key, err := untilReady(ctx, s, s.cfg.Timeout, func(ctx context.Context) ([]byte, error) {
		_, err := kv.Create(ctx, resumeKeyName, fresh)
		if err == nil {
			return fresh, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, err
		}
		e, err := kv.Get(ctx, resumeKeyName)
		if err != nil {
			return nil, err
		}
		return e.Value(), nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: the resume key: %w", err)
	}
	if len(key) != ResumeKeyBytes {
		return nil, s.incompatible("bucket "+keysBucket+", key "+resumeKeyName, fmt.Errorf("it holds %d bytes, not %d", len(key), ResumeKeyBytes))
	}
	return key, nil
}
