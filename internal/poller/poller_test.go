package poller

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func socketpair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// forEach runs a test against every implementation.
func forEach(t *testing.T, test func(t *testing.T, New func() Poller)) {
	t.Run("poll", func(t *testing.T) { test(t, func() Poller { return NewPoll() }) })
	t.Run("epoll", func(t *testing.T) {
		test(t, func() Poller {
			p, err := NewEpoll()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			return p
		})
	})
}

func find(evs []Event, fd int) (Event, bool) {
	for _, e := range evs {
		if e.Fd == fd {
			return e, true
		}
	}
	return Event{}, false
}

func TestTimeoutWithNothingReady(t *testing.T) { forEach(t, testTimeoutWithNothingReady) }

func testTimeoutWithNothingReady(t *testing.T, New func() Poller) {
	a, _ := socketpair(t)
	p := New()
	if err := p.Add(a); err != nil {
		t.Fatal(err)
	}
	evs, err := p.Wait(10*time.Millisecond, nil)
	if err != nil || len(evs) != 0 {
		t.Fatalf("got %v, %v; want no events", evs, err)
	}
}

func TestReadableAndWritable(t *testing.T) { forEach(t, testReadableAndWritable) }

func testReadableAndWritable(t *testing.T, New func() Poller) {
	a, b := socketpair(t)
	p := New()
	if err := p.Add(a); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(b, []byte("x")); err != nil {
		t.Fatal(err)
	}
	evs, err := p.Wait(time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := find(evs, a)
	if !ok || !e.Readable || e.Writable {
		t.Fatalf("events %+v: want a readable only", evs)
	}
	p.SetWrite(a, true)
	evs, _ = p.Wait(time.Second, evs)
	if e, ok := find(evs, a); !ok || !e.Readable || !e.Writable {
		t.Fatalf("events %+v: want a readable and writable", evs)
	}
	p.SetRead(a, false)
	evs, _ = p.Wait(time.Second, evs)
	if e, ok := find(evs, a); !ok || e.Readable || !e.Writable {
		t.Fatalf("events %+v: want a writable only", evs)
	}
	p.SetWrite(a, false)
	evs, _ = p.Wait(0, evs)
	if len(evs) != 0 {
		t.Fatalf("events %+v: want none with no interest", evs)
	}
}

func TestHangup(t *testing.T) { forEach(t, testHangup) }

func testHangup(t *testing.T, New func() Poller) {
	a, b := socketpair(t)
	p := New()
	if err := p.Add(a); err != nil {
		t.Fatal(err)
	}
	unix.Shutdown(b, unix.SHUT_RDWR)
	evs, err := p.Wait(time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := find(evs, a); !ok || !e.Hangup {
		t.Fatalf("events %+v: want hangup on a", evs)
	}
}

func TestAddRemoveKeepsIndex(t *testing.T) { forEach(t, testAddRemoveKeepsIndex) }

func testAddRemoveKeepsIndex(t *testing.T, New func() Poller) {
	p := New()
	var fds []int
	for i := 0; i < 5; i++ {
		a, b := socketpair(t)
		fds = append(fds, a)
		if err := p.Add(a); err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Write(b, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Add(fds[0]); err == nil {
		t.Fatal("adding a descriptor twice succeeded")
	}
	p.Remove(fds[0]) // the last slot moves into slot 0
	p.Remove(fds[2])
	p.Remove(12345) // unknown: no effect
	if p.Len() != 3 || p.Has(fds[0]) || p.Has(fds[2]) || !p.Has(fds[4]) {
		t.Fatalf("after removes: len %d", p.Len())
	}
	// Interest changes must still reach the right slot after the moves.
	p.SetRead(fds[4], false)
	evs, err := p.Wait(time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("events %+v: want fds %d and %d", evs, fds[1], fds[3])
	}
	for _, fd := range []int{fds[1], fds[3]} {
		if e, ok := find(evs, fd); !ok || !e.Readable {
			t.Fatalf("events %+v: want %d readable", evs, fd)
		}
	}
}

func TestPipe(t *testing.T) { forEach(t, testPipe) }

func testPipe(t *testing.T, New func() Poller) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	p := New()
	if err := p.Add(fds[0]); err != nil {
		t.Fatal(err)
	}
	unix.Close(fds[1])
	evs, err := p.Wait(time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := find(evs, fds[0]); !ok || !e.Hangup {
		t.Fatalf("events %+v: want hangup after the writer closed", evs)
	}
}
