package auth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"chat/server/hub"
)

// VerifyResult is the outcome of a hub.VerifyRequest.
type VerifyResult struct {
	hub.VerifyRequest
	Verdict hub.Verdict
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
	jobs    chan hub.VerifyRequest
	results chan VerifyResult
	quit    chan struct{}
	wg      sync.WaitGroup
	busy    atomic.Int32 // checks under way
	checked atomic.Int64 // checks made (Checked)
	// hashWorker: the command line of a child process that checks
	// passwords (hashproc.go); nil: the workers check them themselves.
	hashWorker []string

	mu    sync.Mutex // guards the fields below
	users *Users
	mtime time.Time
	size  int64
	// noFile: started without a users file (NewVerifierAllowMissing) and
	// none has been read since, so there are no accounts and a file still
	// missing is the expected state, not an error to log at every login.
	noFile bool
}

// dummyHash is checked for names that are not accounts, so the time a
// login takes does not tell which names exist. It has the parameters of
// new hashes (TestDummyHashHasCurrentParameters), and is a constant so the
// server does not hash a password of its own at start (19 MiB of RSS for a
// moment). Its password is "not a password".
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$jWn6OYqu88YydHC99numRA$TQSeU6MbXJStsF4NZGC6+rcMmR5om1NGfAAytIpHOWU"

// verifierQueue is how many checks may wait for a worker.
const verifierQueue = 4096

// NewVerifier loads the users file (failing if it cannot be read) and
// starts workers goroutines. Given hashWorker, the command line of a child
// process that checks passwords (hashproc.go), each worker has its checks
// done by such a child; nil: the workers hash themselves. wake must not
// block.
func NewVerifier(path string, workers int, hashWorker []string, wake func(), logf func(string, ...any)) (*Verifier, error) {
	return newVerifier(path, false, workers, hashWorker, wake, logf)
}

// NewVerifierAllowMissing is NewVerifier for a server that needs no
// accounts to be of use (one that serves guests): a users file that does
// not exist is read as no accounts, so every login is refused as for an
// unknown name, and the file is read once it appears, as a changed file
// is. Any other failure to read it is still an error.
func NewVerifierAllowMissing(path string, workers int, hashWorker []string, wake func(), logf func(string, ...any)) (*Verifier, error) {
	return newVerifier(path, true, workers, hashWorker, wake, logf)
}

func newVerifier(path string, allowMissing bool, workers int, hashWorker []string, wake func(), logf func(string, ...any)) (*Verifier, error) {
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
		jobs:    make(chan hub.VerifyRequest, verifierQueue),
		results: make(chan VerifyResult, verifierQueue),
		quit:    make(chan struct{}),

		hashWorker: hashWorker,
	}
	if err := v.reload(); err != nil {
		if !allowMissing || !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		v.users, v.noFile = &Users{}, true
	}
	nice := hashWorker == nil && runtime.GOMAXPROCS(0) > workers // see work
	for range workers {
		v.wg.Add(1)
		go v.work(nice)
	}
	return v, nil
}

// Results is where outcomes arrive.
func (v *Verifier) Results() <-chan VerifyResult { return v.results }

// Submit queues a check without blocking; false means the queue is full
// (the caller answers hub.VerdictUnavailable).
func (v *Verifier) Submit(r hub.VerifyRequest) bool {
	select {
	case v.jobs <- r:
		return true
	default:
		return false
	}
}

// Hashing reports whether a check is running. It is safe from any
// goroutine.
func (v *Verifier) Hashing() bool { return v.busy.Load() > 0 }

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

// work is one worker. argon2id keeps a core busy for tens of milliseconds
// per check, so a login storm keeps every worker hashing; with as many
// workers as cores the loop would wait for a core (and, worse, for a Go P)
// to answer anyone. So each worker runs on its own OS thread at the lowest
// priority (priority_linux.go), and the kernel runs the loop's thread first
// whenever it is runnable; the workers get what the loop leaves. That needs
// a P to spare for the loop while every worker holds one: a niced thread
// holding the only P would make the loop wait for the niced thread to be
// scheduled and preempted, far worse than not nicing it. So the worker is
// niced only if GOMAXPROCS exceeds the number of workers; chat-server
// raises GOMAXPROCS by the number of workers at start. The price: niced
// workers also yield to every other process on the machine, so logins are
// checked more slowly on a busy one (docs/DESIGN.md has the figures).
//
// With a hash worker command (Config.HashWorker) the worker instead hands
// each check to a child process of its own at nice 19 and waits for it,
// which keeps argon2 out of the server's heap and collections altogether
// (hashproc.go).
func (v *Verifier) work(nice bool) {
	defer v.wg.Done()
	var procs *hashProcs
	if v.hashWorker != nil {
		procs = &hashProcs{argv: v.hashWorker, logf: v.logf}
		defer procs.stop()
	}
	if nice {
		if err := lowerPriority(); err != nil {
			v.logf("password worker: cannot lower its priority: %v", err)
		}
	}
	for {
		select {
		case <-v.quit:
			return
		case req := <-v.jobs:
			v.busy.Add(1)
			v.checked.Add(1)
			res := VerifyResult{VerifyRequest: req, Verdict: v.check(procs, req.Name, req.Secret)}
			select {
			case v.results <- res:
				v.wake()
			case <-v.quit:
				return
			}
			if v.busy.Add(-1) == 0 && len(v.jobs) == 0 && procs == nil {
				releaseHashMemory()
			}
		}
	}
}

func (v *Verifier) check(procs *hashProcs, name, secret string) hub.Verdict {
	if err := v.refresh(); err != nil {
		kept := "still using the last good copy"
		if v.withoutFile() {
			kept = "still no accounts"
		}
		v.logf("users file %s: %v (%s)", v.path, err, kept)
	}
	v.mu.Lock()
	hash, ok := v.users.Hash(name)
	v.mu.Unlock()
	matches := CheckPassword
	if procs != nil {
		matches = procs.check
	}
	if !ok {
		// Spend the same time as for a real account, so response times do
		// not tell which names exist.
		matches(dummyHash, secret)
		return hub.VerdictWrong
	}
	if matches(hash, secret) {
		return hub.VerdictOK
	}
	return hub.VerdictWrong
}

// refresh re-reads the file if it changed since the last read, or if it
// has appeared since a start without one.
func (v *Verifier) refresh() error {
	st, err := os.Stat(v.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && v.withoutFile() {
			return nil
		}
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
	appeared := v.noFile
	v.users, v.mtime, v.size, v.noFile = u, st.ModTime(), st.Size(), false
	v.mu.Unlock()
	if appeared {
		accounts := "1 account"
		if u.Len() != 1 {
			accounts = fmt.Sprintf("%d accounts", u.Len())
		}
		v.logf("users file %s appeared: %s registered", v.path, accounts)
	}
	return nil
}

// withoutFile reports whether no users file has been read yet (a start
// allowed without one).
func (v *Verifier) withoutFile() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.noFile
}

// releaseHashMemory gives the memory of the last argon2id runs back to the
// system. Each check allocates 19 MiB (the cost parameter m) that is garbage
// the moment it ends; the runtime keeps freed heap for reuse and returns it
// only gradually, measured against a heap goal that those very buffers
// inflated, so a server that checked one password (the dummy hash at start
// included) held 20-40 MB more RSS for as long as it then stayed idle. It
// runs when the last check under way ends: once per login storm, and once
// per login on a quiet server, where a full collection costs little.
func releaseHashMemory() { debug.FreeOSMemory() }
