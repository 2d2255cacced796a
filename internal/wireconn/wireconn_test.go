package wireconn

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"chat/internal/wire"
)

// fakeServer accepts one connection and hands it to serve, which runs on
// its own goroutine.
func fakeServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		serve(nc)
	}()
	return ln.Addr().String()
}

// readFrame reads one whole frame from nc.
func readFrame(nc net.Conn, dec *wire.Decoder) (*wire.Frame, error) {
	buf := make([]byte, 512)
	for {
		var f wire.Frame
		if ok, err := dec.Next(&f); ok || err != nil {
			return &f, err
		}
		n, err := nc.Read(buf)
		if n == 0 && err != nil {
			return nil, err
		}
		dec.Feed(buf[:n])
	}
}

// TestCallMatchesReplies: frames before the reply go to Aside in order,
// a malformed one to Malformed, and a refusal is a *RefusedError.
func TestCallMatchesReplies(t *testing.T) {
	addr := fakeServer(t, func(nc net.Conn) {
		var dec wire.Decoder
		for {
			f, err := readFrame(nc, &dec)
			if err != nil {
				return
			}
			var out []byte
			out = wire.Append(out, &wire.Frame{Type: wire.TypeServerPing})
			out = append(out, 0, 0, 0, 2, 0xff, 0xff) // a body of an unknown type
			code := wire.OK
			if f.Type == wire.TypeLogin {
				code = wire.ErrUnavailable
			}
			out = wire.Append(out, &wire.Frame{Type: wire.TypeReply, ID: f.ID, Code: code})
			nc.Write(out)
		}
	})
	var aside []wire.Type
	var malformed int
	c, err := Dial(addr, Options{
		Timeout:   5 * time.Second,
		Aside:     func(f *wire.Frame) error { aside = append(aside, f.Type); return nil },
		Malformed: func(error) { malformed++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("test", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	err = c.Login("ann", "pw", 5*time.Second)
	var re *RefusedError
	if !errors.As(err, &re) || re.Req != wire.TypeLogin || re.Code != wire.ErrUnavailable {
		t.Fatalf("login: got %v, want a refusal with ErrUnavailable", err)
	}
	if len(aside) != 2 || aside[0] != wire.TypeServerPing || malformed == 0 {
		t.Fatalf("aside %v, malformed %d: want two pings and the malformed frames", aside, malformed)
	}
}

// TestInterceptTakesFrames: a frame Intercept takes never reaches Next.
func TestInterceptTakesFrames(t *testing.T) {
	addr := fakeServer(t, func(nc net.Conn) {
		var out []byte
		out = wire.Append(out, &wire.Frame{Type: wire.TypeMessage, From: "ann", Room: "r", Text: "hi"})
		out = wire.Append(out, &wire.Frame{Type: wire.TypeNotice, Text: "after"})
		nc.Write(out)
	})
	var texts []string
	c, err := Dial(addr, Options{Intercept: func(body []byte, at time.Time) bool {
		text, ok := wire.MessageText(body)
		if ok {
			texts = append(texts, string(text))
		}
		return ok
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var f wire.Frame
	if err := c.NextWithin(&f, 5*time.Second); err != nil || f.Type != wire.TypeNotice {
		t.Fatalf("next: %v %v, want the notice", f.Type, err)
	}
	if len(texts) != 1 || texts[0] != "hi" {
		t.Fatalf("intercepted %q, want [hi]", texts)
	}
	if err := c.NextWithin(&f, 5*time.Second); !errors.Is(err, io.EOF) {
		t.Fatalf("after the server closed: %v, want EOF", err)
	}
}
