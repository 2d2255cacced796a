package auth

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime/debug"
	"time"

	"chat/internal/wire"
)

// Password checks in child processes.
//
// argon2id keeps a core busy for tens of milliseconds and allocates 19 MiB
// per check. Done by goroutines of the server, even on threads of the
// lowest priority, it reaches the loop through the garbage collector: each
// check brings about a collection, and every collection stops the world,
// which must wait until each goroutine that holds a P is preempted; a
// worker on a thread at nice 19 can wait a whole time slice for the CPU to
// take that preemption while the loop stands still.
// So the chat-server binary checks passwords in child processes of its own
// ("chat-server hash-worker"), started at nice 19: their collections are
// their own, the server's heap never sees argon2's memory, and the kernel
// runs the server first. Library users and in-process tests keep the
// goroutine workers (Config.HashWorker nil).
//
// The protocol on the child's standard input and output: a request is the
// stored hash and the password, each a 4-byte big-endian length and the
// bytes; the answer is one byte, 1 for a match and 0 for none. The child
// exits when its input ends.

// Bounds of a request, so a confused parent cannot make a child allocate
// much: a PHC string is about 100 bytes.
const (
	maxHashBytes = 1024
	hashOK       = 1
	hashWrong    = 0
)

// hashWorkerIdle is how long a child waits for the next check before it
// gives the memory of the last one back to the system.
const hashWorkerIdle = 500 * time.Millisecond

// ServeHashWorker answers password checks read from in on out until in
// ends (nil) or carries something that is not a request.
func ServeHashWorker(in io.Reader, out io.Writer) error {
	r := bufio.NewReader(in)
	// The 19 MiB of a check are garbage when it ends, but the next check
	// of a storm needs as much again: given back after every check, they
	// would be faulted in anew each time, which on a virtual machine costs
	// more than the hashing itself. So they go back to the system only
	// once the child has been idle a while.
	release := time.AfterFunc(hashWorkerIdle, debug.FreeOSMemory)
	release.Stop()
	defer release.Stop()
	for {
		hash, err := readField(r, maxHashBytes)
		release.Stop()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		secret, err := readField(r, wire.MaxSecretBytes)
		if err != nil {
			return fmt.Errorf("hash worker: %w", err)
		}
		answer := byte(hashWrong)
		if CheckPassword(string(hash), string(secret)) {
			answer = hashOK
		}
		clear(secret)
		if _, err := out.Write([]byte{answer}); err != nil {
			return err
		}
		release.Reset(hashWorkerIdle)
	}
}

func readField(r *bufio.Reader, limit int) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > uint32(limit) {
		return nil, fmt.Errorf("field of %d bytes, over %d", size, limit)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	return b, nil
}

func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// hashProc is one child process and the pipes to it. It is used by one
// verifier worker at a time.
type hashProc struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out io.ReadCloser
	buf []byte
}

// startHashProc starts argv as a hash worker at the lowest priority.
func startHashProc(argv []string) (*hashProc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := startNiced(cmd); err != nil {
		return nil, fmt.Errorf("start hash worker %s: %w", argv[0], err)
	}
	return &hashProc{cmd: cmd, in: in, out: out}, nil
}

// check asks the child whether secret matches hash.
func (p *hashProc) check(hash, secret string) (bool, error) {
	p.buf = appendField(appendField(p.buf[:0], hash), secret)
	_, err := p.in.Write(p.buf)
	clear(p.buf)
	if err != nil {
		return false, err
	}
	var answer [1]byte
	if _, err := io.ReadFull(p.out, answer[:]); err != nil {
		return false, err
	}
	return answer[0] == hashOK, nil
}

// stop ends the child: its input closes, it finishes the check under way
// and exits; one that does not within wait is killed.
func (p *hashProc) stop(wait time.Duration) {
	p.in.Close()
	done := make(chan struct{})
	go func() {
		p.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wait):
		p.cmd.Process.Kill()
		<-done
	}
}

// hashProcs is one verifier worker's child, used only by that worker's
// goroutine: started when first needed, restarted once if it dies, and
// replaced by a check in the server's own process if it cannot be
// started, so no login is lost to a broken child.
type hashProcs struct {
	argv []string
	logf func(string, ...any)
	p    *hashProc
}

func (h *hashProcs) check(hash, secret string) bool {
	for range 2 {
		if h.p == nil {
			p, err := startHashProc(h.argv)
			if err != nil {
				h.logf("password check: %v: checking in the server's process", err)
				return CheckPassword(hash, secret)
			}
			h.p = p
		}
		ok, err := h.p.check(hash, secret)
		if err == nil {
			return ok
		}
		h.logf("password check: hash worker failed: %v: restarting it", err)
		h.p.stop(0)
		h.p = nil
	}
	return CheckPassword(hash, secret)
}

// stop ends the child, if there is one.
func (h *hashProcs) stop() {
	if h.p != nil {
		h.p.stop(time.Second)
		h.p = nil
	}
}
