package loadgen

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"sync"
	"syscall"

	"chat/internal/wireconn"
)

// errBye is returned when the server said Bye; the reason is counted.
var errBye = errors.New("server said bye")

// refusedKind names a refusal for the error counts.
func refusedKind(e *wireconn.RefusedError) string { return fmt.Sprintf("%s code %d", e.Req, e.Code) }

// errCounts counts errors by kind; any goroutine may add.
type errCounts struct {
	mu sync.Mutex
	m  map[string]uint64
}

func (e *errCounts) add(kind string) {
	e.mu.Lock()
	if e.m == nil {
		e.m = make(map[string]uint64)
	}
	e.m[kind]++
	e.mu.Unlock()
}

func (e *errCounts) snapshot() map[string]uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.m)
}

func (e *errCounts) total() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var n uint64
	for _, v := range e.m {
		n += v
	}
	return n
}

// errKind reduces an error to a short kind for the error counts, so that
// thousands of sessions failing alike make one line.
func errKind(err error) string {
	var re *wireconn.RefusedError
	var ie *ircError
	var ne net.Error
	switch {
	case errors.As(err, &re):
		return refusedKind(re)
	case errors.As(err, &ie):
		return ie.kind()
	case errors.Is(err, errIRCLineTooLong):
		return "irc line too long"
	case errors.Is(err, errBye):
		return "bye"
	case errors.Is(err, io.EOF):
		return "closed by the server"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "out of file descriptors"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "out of local ports"
	case errors.Is(err, net.ErrClosed):
		return "closed"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return fmt.Sprintf("other (%v)", err)
}
