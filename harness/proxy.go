package harness

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Proxy is the fault injector: a TCP proxy on 127.0.0.1 between clients and a
// server that can cut every connection (with a reset or a clean close),
// black-hole traffic while keeping both sockets open (a half-open peer, as a
// pulled cable looks), refuse new connections (a server that is down), add
// latency and throttle bandwidth. Each proxied connection is a pair of
// goroutines, one per direction; this is test code and clarity beats economy.
type Proxy struct {
	ln net.Listener

	mu        sync.Mutex
	target    string
	links     map[*link]struct{}
	blackhole bool
	refuse    bool
	latency   time.Duration
	rate      int // bytes per second per direction; 0 is unlimited
	closed    bool

	wg sync.WaitGroup
}

// CutMode says how Cut ends connections.
type CutMode int

const (
	// CutReset aborts both sides with a TCP RST (SO_LINGER 0).
	CutReset CutMode = iota
	// CutClose closes both sides cleanly with a FIN.
	CutClose
)

type link struct {
	client, server *net.TCPConn
}

// StartProxy listens on 127.0.0.1:0 and forwards every connection to target.
func StartProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy listen: %w", err)
	}
	p := &Proxy{target: target, ln: ln, links: map[*link]struct{}{}}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr is the address clients should dial instead of the server's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Conns returns the number of connections being proxied now.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// Cut ends every current connection on both sides and returns how many it
// cut. New connections are still accepted (unless Refuse is on).
func (p *Proxy) Cut(mode CutMode) int {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.end(mode)
	}
	return len(links)
}

// SetBlackhole starts or stops dropping every byte in both directions. The
// sockets stay open, so neither side sees an error: only silence. A side
// that closes its connection meanwhile is not heard either: the other side
// keeps a half-open socket until its own timeout notices.
func (p *Proxy) SetBlackhole(on bool) { p.set(func() { p.blackhole = on }) }

// SetRefuse makes the proxy close new connections at once, as if the server
// were down, while on.
func (p *Proxy) SetRefuse(on bool) { p.set(func() { p.refuse = on }) }

// SetTarget makes new connections go to target (a restarted server on
// another port); connections already proxied keep their server.
func (p *Proxy) SetTarget(target string) { p.set(func() { p.target = target }) }

// SetLatency delays every chunk of data by d in each direction.
func (p *Proxy) SetLatency(d time.Duration) { p.set(func() { p.latency = d }) }

// SetThrottle limits each direction of each connection to bytesPerSecond;
// zero removes the limit.
func (p *Proxy) SetThrottle(bytesPerSecond int) { p.set(func() { p.rate = bytesPerSecond }) }

func (p *Proxy) set(fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn()
}

// Close stops accepting, resets every connection and waits for the proxy's
// goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.ln.Close()
	p.Cut(CutReset)
	p.wg.Wait()
	return err
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // listener closed
		}
		p.mu.Lock()
		refuse, closed := p.refuse, p.closed
		p.mu.Unlock()
		if refuse || closed {
			abort(c.(*net.TCPConn))
			continue
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		s, err := net.DialTimeout("tcp", target, 5*time.Second)
		if err != nil {
			abort(c.(*net.TCPConn))
			continue
		}
		l := &link{client: c.(*net.TCPConn), server: s.(*net.TCPConn)}
		p.mu.Lock()
		p.links[l] = struct{}{}
		p.mu.Unlock()
		var dirs sync.WaitGroup
		dirs.Add(2)
		p.wg.Add(3)
		go func() { defer p.wg.Done(); defer dirs.Done(); p.pump(l, l.client, l.server) }()
		go func() { defer p.wg.Done(); defer dirs.Done(); p.pump(l, l.server, l.client) }()
		go func() {
			defer p.wg.Done()
			dirs.Wait()
			p.mu.Lock()
			delete(p.links, l)
			p.mu.Unlock()
		}()
	}
}

// chunk is data read from one side, due for the other side at due.
type chunk struct {
	data []byte
	due  time.Time
}

// pump copies src to dst, applying the proxy's faults as they are at the
// moment each chunk is read. A reader goroutine feeds a writer through a
// queue so latency delays data without slowing the reading.
func (p *Proxy) pump(l *link, src, dst *net.TCPConn) {
	queue := make(chan chunk, 1024)
	done := make(chan struct{})
	swallowed := false // src ended inside a black hole: dst is not told
	go func() {
		defer close(done)
		for c := range queue {
			if d := time.Until(c.due); d > 0 {
				time.Sleep(d)
			}
			if err := p.write(dst, c.data); err != nil {
				l.end(CutReset)
				for range queue { // drain so the reader never blocks
				}
				return
			}
		}
		// src reached EOF: pass the half-close on, unless it was lost in
		// a black hole (swallowed is written before the queue is closed).
		if !swallowed {
			_ = dst.CloseWrite()
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			drop, lat := p.blackhole, p.latency
			p.mu.Unlock()
			if !drop {
				queue <- chunk{data: append([]byte(nil), buf[:n]...), due: time.Now().Add(lat)}
			}
		}
		if err != nil {
			p.mu.Lock()
			drop := p.blackhole
			p.mu.Unlock()
			switch {
			case drop:
				// The end of a connection is traffic too: inside a black
				// hole its FIN or RST never arrives, and the other side
				// keeps a half-open socket, as behind a pulled cable.
				swallowed = true
			case !errors.Is(err, io.EOF):
				l.end(CutReset)
			}
			break
		}
	}
	close(queue)
	<-done
}

// write sends data to dst at no more than the throttle rate.
func (p *Proxy) write(dst *net.TCPConn, data []byte) error {
	for len(data) > 0 {
		p.mu.Lock()
		rate := p.rate
		p.mu.Unlock()
		n := len(data)
		if rate > 0 {
			// Send at most a tenth of a second's worth at a time.
			n = min(n, max(rate/10, 1))
		}
		start := time.Now()
		if _, err := dst.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
		if rate > 0 {
			if d := time.Duration(n)*time.Second/time.Duration(rate) - time.Since(start); d > 0 {
				time.Sleep(d)
			}
		}
	}
	return nil
}

func (l *link) end(mode CutMode) {
	if mode == CutReset {
		abort(l.client)
		abort(l.server)
		return
	}
	_ = l.client.Close()
	_ = l.server.Close()
}

// abort closes c with a TCP RST rather than a FIN.
func abort(c *net.TCPConn) {
	_ = c.SetLinger(0)
	_ = c.Close()
}
