package harness

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// prefixServer answers every line with prefix and the line.
func prefixServer(t *testing.T, prefix string) string {
	t.Helper()
	return testServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if _, err := c.Write([]byte(prefix + line)); err != nil {
				return
			}
		}
	})
}

func TestProxySetTarget(t *testing.T) {
	p, err := StartProxy(prefixServer(t, "one "))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ask := func(c net.Conn, r *bufio.Reader) string {
		t.Helper()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("hi\n")); err != nil {
			t.Fatal(err)
		}
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return line
	}
	dial := func() (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	old, oldR := dial()
	if got := ask(old, oldR); got != "one hi\n" {
		t.Fatalf("before: %q", got)
	}
	p.SetTarget(prefixServer(t, "two "))
	c, r := dial()
	if got := ask(c, r); got != "two hi\n" {
		t.Fatalf("new connection: %q", got)
	}
	if got := ask(old, oldR); got != "one hi\n" {
		t.Fatalf("old connection: %q", got)
	}
}

// A close inside a black hole is lost like the rest of the traffic: the
// server side keeps a half-open connection.
func TestProxyBlackholeSwallowsClose(t *testing.T) {
	ln := listenLoopback(t)
	p, err := StartProxy(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, hole := range []bool{true, false} {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		p.SetBlackhole(hole)
		c.Close()
		s.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err = s.Read(make([]byte, 1))
		timedOut := false
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			timedOut = true
		}
		if timedOut != hole {
			t.Errorf("black hole %v: read on the server side: %v", hole, err)
		}
		p.SetBlackhole(false)
		s.Close()
	}
}
