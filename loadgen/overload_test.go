package loadgen

import (
	"sync"
	"testing"
	"time"
)

// A sender still behind when an overload run's sending window ends sends
// what was due before the senders are stopped: every message counted in
// the expected deliveries is sent, so none shows up as lost (the bench
// once reported 2997 "lost" deliveries: three messages a loaded loadgen had
// not sent yet).
func TestOverloadEndLetsLateSendersFinish(t *testing.T) {
	w := newWorker(Config{Profile: ProfileOverload, Rooms: 1, Drain: 300 * time.Millisecond}, share{Index: 0, Of: 1}, nil)
	stop := make(chan struct{})
	var senders sync.WaitGroup
	senders.Add(1)
	stoppedEarly := make(chan bool, 1)
	go func() {
		defer senders.Done()
		time.Sleep(50 * time.Millisecond) // behind schedule
		select {
		case <-stop:
			stoppedEarly <- true
		default:
			stoppedEarly <- false
		}
	}()
	end := time.Now()
	w.overloadEnd(end, stop, &senders, end, procSample{}, nil)
	if <-stoppedEarly {
		t.Fatal("the senders were stopped before a late one sent what was due")
	}
	if len(w.errs.snapshot()) != 0 {
		t.Errorf("errors: %v", w.errs.snapshot())
	}
}
