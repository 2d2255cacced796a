package store

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"
)

func resumeKey(t testing.TB, s *Store) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key, err := s.ResumeKey(ctx)
	if err != nil {
		t.Fatalf("ResumeKey: %v", err)
	}
	if len(key) != ResumeKeyBytes {
		t.Fatalf("ResumeKey: %d bytes, want %d", len(key), ResumeKeyBytes)
	}
	return key
}

func TestResumeKeyIsKeptAcrossARestart(t *testing.T) {
	dir := t.TempDir()
	s := open(t, Config{Dir: dir})
	first := resumeKey(t, s)
	if again := resumeKey(t, s); !bytes.Equal(again, first) {
		t.Fatal("a second ResumeKey made a new key")
	}
	s.Close()
	s = open(t, Config{Dir: dir})
	if after := resumeKey(t, s); !bytes.Equal(after, first) {
		t.Fatal("the key changed across a restart of the store")
	}
	if other := resumeKey(t, open(t, Config{Dir: t.TempDir()})); bytes.Equal(other, first) {
		t.Fatal("two stores made the same key")
	}
}

// Servers starting together each try to make the key: one wins, and every
// one reads the winner's.
func TestResumeKeyIsOnePerCluster(t *testing.T) {
	stores := openAll(t, clusterConfigs(t, 3, Config{}))
	keys := make([][]byte, len(stores))
	errs := make([]error, len(stores))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { keys[i], errs[i] = s.ResumeKey(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || len(keys[i]) != ResumeKeyBytes {
			t.Fatalf("node %d: ResumeKey: %d bytes, %v", i, len(keys[i]), err)
		}
	}
	for i := range keys[1:] {
		if !bytes.Equal(keys[i+1], keys[0]) {
			t.Fatalf("node %d has another key than node 0", i+1)
		}
	}
}
