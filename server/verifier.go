package server

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// VerifyResult is the outcome of a VerifyRequest.
type VerifyResult struct {
	VerifyRequest
	Verdict Verdict
}

// Verifier checks passwords against a users file on a small pool of worker
// goroutines, because argon2id takes tens of milliseconds and the poll loop
// must never wait for it. Results go to a channel, and wake is called after
// each one so the loop's poll returns. The file is re-read on a worker when
// its modification time or size changes, so useradd takes effect without a
// restart.
type Verifier struct {
	path    string
	wake    func()
	logf    func(format string, args ...any)
	jobs    chan VerifyRequest
	results chan VerifyResult
	quit    chan struct{}
	wg      sync.WaitGroup

	mu    sync.Mutex // guards the fields below
	users *Users
	mtime time.Time
	size  int64
	dummy string // a hash to check unknown names against, for even timing
}

// NewVerifier loads the users file (failing if it cannot be read) and
// starts workers goroutines. wake must not block.
func NewVerifier(path string, workers int, wake func(), logf func(string, ...any)) (*Verifier, error) {
	if workers < 1 {
		workers = 2
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	v := &Verifier{
		path:    path,
		wake:    wake,
		logf:    logf,
		jobs:    make(chan VerifyRequest, 4096),
		results: make(chan VerifyResult, 4096),
		quit:    make(chan struct{}),
	}
	if err := v.reload(); err != nil {
		return nil, err
	}
	dummy, err := HashPassword("not a password")
	if err != nil {
		return nil, err
	}
	v.dummy = dummy
	for range workers {
		v.wg.Add(1)
		go v.work()
	}
	return v, nil
}

// Results is where outcomes arrive.
func (v *Verifier) Results() <-chan VerifyResult { return v.results }

// Submit queues a check without blocking; false means the queue is full
// (the caller answers VerdictUnavailable).
func (v *Verifier) Submit(r VerifyRequest) bool {
	select {
	case v.jobs <- r:
		return true
	default:
		return false
	}
}

// Registered reports whether name is an account in the last file read.
func (v *Verifier) Registered(name string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.users.Has(name)
}

// Close stops the workers and waits for them; a check under way finishes
// first. Results not yet collected are dropped. wake is not called after
// Close returns.
func (v *Verifier) Close() {
	close(v.quit)
	v.wg.Wait()
}

func (v *Verifier) work() {
	defer v.wg.Done()
	for {
		select {
		case <-v.quit:
			return
		case req := <-v.jobs:
			res := VerifyResult{VerifyRequest: req, Verdict: v.check(req.Name, req.Secret)}
			select {
			case v.results <- res:
				v.wake()
			case <-v.quit:
				return
			}
		}
	}
}

func (v *Verifier) check(name, secret string) Verdict {
	if err := v.refresh(); err != nil {
		v.logf("users file %s: %v (still using the last good copy)", v.path, err)
	}
	v.mu.Lock()
	hash, ok := v.users.Hash(name)
	dummy := v.dummy
	v.mu.Unlock()
	if !ok {
		// Spend the same time as for a real account, so response times do
		// not tell which names exist.
		CheckPassword(dummy, secret)
		return VerdictWrong
	}
	if CheckPassword(hash, secret) {
		return VerdictOK
	}
	return VerdictWrong
}

// refresh re-reads the file if it changed since the last read.
func (v *Verifier) refresh() error {
	st, err := os.Stat(v.path)
	if err != nil {
		return err
	}
	v.mu.Lock()
	same := st.ModTime().Equal(v.mtime) && st.Size() == v.size
	v.mu.Unlock()
	if same {
		return nil
	}
	return v.reload()
}

func (v *Verifier) reload() error {
	st, err := os.Stat(v.path)
	if err != nil {
		return fmt.Errorf("read users file: %w", err)
	}
	u, err := LoadUsers(v.path)
	if err != nil {
		return err
	}
	if w := usersModeWarning(v.path, st.Mode()); w != "" {
		v.logf("%s", w) // at start and on every reload (defences.go)
	}
	v.mu.Lock()
	v.users, v.mtime, v.size = u, st.ModTime(), st.Size()
	v.mu.Unlock()
	return nil
}
