package harness

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// listenLoopback listens on 127.0.0.1 at a port the kernel chooses until
// the test ends.
func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// testServer listens on 127.0.0.1 and serves each connection with serve,
// closing it afterwards; it returns the address.
func testServer(t *testing.T, serve func(c net.Conn)) string {
	t.Helper()
	ln := listenLoopback(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); serve(c) }()
		}
	}()
	return ln.Addr().String()
}

// echoServer answers every byte with the same byte until the peer closes.
func echoServer(t *testing.T) string {
	t.Helper()
	return testServer(t, func(c net.Conn) { _, _ = io.Copy(c, c) })
}

func startProxy(t *testing.T) (*Proxy, net.Conn, *bufio.Reader) {
	t.Helper()
	p, err := StartProxy(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return p, c, bufio.NewReader(c)
}

func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, line string) {
	t.Helper()
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := r.ReadString('\n')
	if err != nil || got != line+"\n" {
		t.Fatalf("echo of %q: got %q, %v", line, got, err)
	}
}

func TestProxyForwardsBothWays(t *testing.T) {
	p, c, r := startProxy(t)
	roundTrip(t, c, r, "hello")
	if n := p.Conns(); n != 1 {
		t.Fatalf("Conns = %d, want 1", n)
	}
}

func TestProxyCutReset(t *testing.T) {
	p, c, r := startProxy(t)
	roundTrip(t, c, r, "before")
	if n := p.Cut(CutReset); n != 1 {
		t.Fatalf("Cut = %d, want 1", n)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := r.ReadByte()
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after a reset cut: %v, want ECONNRESET", err)
	}
}

func TestProxyCutClose(t *testing.T) {
	p, c, r := startProxy(t)
	roundTrip(t, c, r, "before")
	p.Cut(CutClose)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("read after a clean cut: %v, want EOF", err)
	}
}

func TestProxyBlackholeKeepsSocketsOpenButSilent(t *testing.T) {
	p, c, r := startProxy(t)
	roundTrip(t, c, r, "before")
	p.SetBlackhole(true)
	if _, err := io.WriteString(c, "lost\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := r.ReadByte(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read through a black hole: %v, want a timeout", err)
	}
	p.SetBlackhole(false)
	roundTrip(t, c, r, "after")
}

func TestProxyRefuse(t *testing.T) {
	p, _, _ := startProxy(t)
	p.SetRefuse(true)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		return // reset before the dial returned: refused, as wanted
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a refused connection delivered data")
	}
}

func TestProxyLatencyAndThrottle(t *testing.T) {
	p, c, r := startProxy(t)
	p.SetLatency(100 * time.Millisecond)
	start := time.Now()
	roundTrip(t, c, r, "slow")
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("round trip took %v with 100ms each way", d)
	}
	p.SetLatency(0)
	p.SetThrottle(10000)
	start = time.Now()
	// 4 kB at 10 kB/s goes in slices of 1 kB, the last one 0.3 s after the first.
	roundTrip(t, c, r, string(make([]byte, 4000)))
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("4 kB at 10 kB/s took only %v", d)
	}
}
