package e2e_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
	"chat/internal/wire"
)

// Helpers of the specs of modes names (seed 001) and course (seed 003).

// startGuestServer starts a server with the usual accounts and guest names
// allowed (-guests), as modes names and course need.
func startGuestServer() *harness.Server {
	GinkgoHelper()
	return startServer(accounts, "-guests")
}

// connectedReport is what a client of mode names or course prints once its
// terminal is in raw mode and its connection is up. These modes have no
// prompt, so it is the sign that typing can start.
const connectedReport = `(?m)^! connected to \S+\n`

// startModeClient runs "chat -mode MODE addr" on a terminal and waits until
// it has connected.
func startModeClient(addr, mode string) *harness.Terminal {
	GinkgoHelper()
	term, err := harness.StartTerminal(filepath.Join(binDir(), harness.ClientBinary), "-mode", mode, addr)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		if CurrentSpecReport().Failed() {
			AddReportEntry("client screen ("+mode+")", term.Tail(2000))
		}
		term.Close()
	})
	expect(term, connectedReport)
	return term
}

// typed waits until the terminal's input line, up to the cursor, is exactly
// want with nothing after the cursor: what a person sees while typing. It
// waits on the terminal's output, without polling.
func typed(term *harness.Terminal, want string) {
	GinkgoHelper()
	shows := func() bool { return term.BeforeCursor() == want && term.Line() == strings.TrimRight(want, " ") }
	Expect(term.WaitUntil(shows, quick)).To(Succeed(), "input line %q, want %q; screen:\n%s", term.BeforeCursor(), want, term.Screen())
}

// claimGuest opens a raw protocol session that has claimed name.
func claimGuest(addr, name string) *harness.RawClient {
	GinkgoHelper()
	c := dialRawAt(addr)
	Expect(c.Hello(deadline)).To(Succeed())
	r, err := c.Call(&wire.Frame{Type: wire.TypeClaim, Name: name}, deadline)
	Expect(err).NotTo(HaveOccurred())
	Expect(r.Code).To(Equal(wire.OK), r.Text)
	return c
}

// frameTap is a TCP proxy between one client and the server that decodes
// both directions and keeps every frame, so that a spec can count what a
// real client sends and what it is answered. Bytes pass through unchanged.
type frameTap struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	up      []wire.Frame // client to server
	down    []wire.Frame // server to client
	errs    []error
	changed chan struct{} // closed and replaced when a frame is kept
	wg      sync.WaitGroup
	conns   []net.Conn
}

// startFrameTap listens on 127.0.0.1 at a port the kernel chooses and
// forwards every connection to target. It is closed when the spec ends.
func startFrameTap(target string) *frameTap {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	t := &frameTap{ln: ln, target: target, changed: make(chan struct{})}
	t.wg.Add(1)
	go t.accept()
	DeferCleanup(t.close)
	return t
}

func (t *frameTap) addr() string { return t.ln.Addr().String() }

func (t *frameTap) accept() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", t.target)
		if err != nil {
			c.Close()
			t.keep(nil, nil, err)
			continue
		}
		t.mu.Lock()
		t.conns = append(t.conns, c, s)
		t.mu.Unlock()
		t.wg.Add(2)
		go t.pump(c, s, &t.up)
		go t.pump(s, c, &t.down)
	}
}

// pump copies src to dst and decodes what passes into *frames.
func (t *frameTap) pump(src, dst net.Conn, frames *[]wire.Frame) {
	defer t.wg.Done()
	defer dst.Close()
	var dec wire.Decoder
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			dec.Feed(buf[:n])
			for {
				var f wire.Frame
				ok, derr := dec.Next(&f)
				if derr != nil {
					t.keep(nil, nil, fmt.Errorf("decode: %w", derr))
					break
				}
				if !ok {
					break
				}
				t.keep(frames, &f, nil)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				t.keep(nil, nil, err)
			}
			return
		}
	}
}

func (t *frameTap) keep(frames *[]wire.Frame, f *wire.Frame, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f != nil {
		*frames = append(*frames, *f)
	}
	if err != nil {
		t.errs = append(t.errs, err)
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *frameTap) close() {
	t.ln.Close()
	t.mu.Lock()
	for _, c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}

// liveness tells the frames of the liveness probes (either side's Ping and
// the Pong answering it), which are no part of what a command sends.
func liveness(f wire.Frame) bool {
	return f.Type == wire.TypePing || f.Type == wire.TypePong || f.Type == wire.TypeServerPing ||
		f.Type == wire.TypeReply && f.Text == "pong"
}

// sent returns the frames the client sent so far, liveness left out.
func (t *frameTap) sent() []wire.Frame { return t.frames(&t.up) }

// received returns the frames the server sent so far, liveness left out.
func (t *frameTap) received() []wire.Frame { return t.frames(&t.down) }

func (t *frameTap) frames(all *[]wire.Frame) []wire.Frame {
	t.mu.Lock()
	defer t.mu.Unlock()
	var fs []wire.Frame
	for _, f := range *all {
		if !liveness(f) {
			fs = append(fs, f)
		}
	}
	return fs
}

// waitSent waits until the client has sent n frames (liveness left out)
// and returns them all.
func (t *frameTap) waitSent(n int) []wire.Frame {
	GinkgoHelper()
	return t.wait(&t.up, n, "sent")
}

// waitReceived waits until the server has sent n frames (liveness left
// out) and returns them all.
func (t *frameTap) waitReceived(n int) []wire.Frame {
	GinkgoHelper()
	return t.wait(&t.down, n, "received")
}

func (t *frameTap) wait(all *[]wire.Frame, n int, what string) []wire.Frame {
	GinkgoHelper()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for {
		t.mu.Lock()
		changed := t.changed
		errs := t.errs
		t.mu.Unlock()
		Expect(errs).To(BeEmpty())
		if fs := t.frames(all); len(fs) >= n {
			return fs
		}
		select {
		case <-changed:
		case <-timer.C:
			Fail(fmt.Sprintf("the client %s %d frames within %v, want %d: %v", what, len(t.frames(all)), deadline, n, typesOf(t.frames(all))))
		}
	}
}

// typesOf lists the frames' types, for failure messages.
func typesOf(fs []wire.Frame) []string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = f.Type.String()
	}
	return s
}
