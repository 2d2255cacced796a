package store

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Takeovers. A login for an account another node holds asks that node
// to close the session and let the name go, with a request on core NATS
// (not JetStream: nothing is kept) to chat.node.<node>.takeover, which
// only that node serves. The answer is {} once it has, or {"error":
// "..."}; NATS itself answers that nobody serves the subject (no
// responders: the node is gone, or not serving yet).
//
// The asks wait for their answers on one subscription of this store, to
// its own inbox with the ask's number last, and the asker goroutine
// takes them, and the asks' deadlines, so that any number of asks wait
// at once (a dead node's users logging in elsewhere, each waiting out a
// timeout) without a goroutine each.

func takeoverSubject(node string) string { return "chat.node." + node + ".takeover" }

type takeoverRequest struct {
	Name    string `json:"name"`
	Session int64  `json:"session"`
}

type takeoverAnswer struct {
	Error string `json:"error,omitempty"`
}

// ServeTakeovers answers the takeovers asked of node: fn is called with
// each, one at a time from a NATS goroutine, and must hand it over and
// return quickly; its reply, which may be called later from any
// goroutine (once: later calls do nothing), answers it: nil once the
// session is closed and the name let go, or why not. stop ends the
// service; a takeover asked then finds no responders. On a cluster,
// another node may find none for a moment after ServeTakeovers returns,
// until the subscription has reached its server.
func (s *Store) ServeTakeovers(node string, fn func(name string, session int64, reply func(error))) (stop func(), err error) {
	if err := CheckNode(node); err != nil {
		return nil, err
	}
	sub, err := s.nc.Subscribe(takeoverSubject(node), func(m *nats.Msg) {
		var req takeoverRequest
		err := json.Unmarshal(m.Data, &req)
		switch {
		case m.Reply == "":
			return // nobody to answer
		case err != nil || req.Name == "":
			replyTakeover(m, fmt.Errorf("not a takeover request: %q", m.Data))
			return
		}
		var once sync.Once
		fn(req.Name, req.Session, func(err error) { once.Do(func() { replyTakeover(m, err) }) })
	})
	if err == nil {
		err = s.nc.FlushTimeout(s.cfg.Timeout)
	}
	if err != nil {
		if sub != nil {
			sub.Unsubscribe()
		}
		return nil, fmt.Errorf("serve the takeovers of node %s: %w", node, classify(err))
	}
	return func() { sub.Unsubscribe() }, nil
}

// replyTakeover answers a takeover request with err, nil for done. An answer
// that cannot be sent is the asker's timeout.
func replyTakeover(m *nats.Msg, err error) {
	var a takeoverAnswer
	if err != nil {
		a.Error = err.Error()
	}
	data, _ := json.Marshal(a)
	m.Respond(data)
}

// AskTakeover asks node to close name's session (session) and let the
// name go, asynchronously: done is called once, from the asker
// goroutine, with nil when node answered that it has, ErrRefused (with
// its reason) when it answered that it did not, ErrTimeout when it did
// not answer within timeout, ErrUnavailable when no node serves node's
// takeovers (it is gone), or when NATS could not be reached. It never
// blocks: a full queue (Config.MaxPending asks waiting) returns ErrBusy,
// a closed store ErrClosed, and then done is not called.
func (s *Store) AskTakeover(node, name string, session int64, timeout time.Duration, done func(error)) error {
	if err := CheckNode(node); err != nil {
		return err
	}
	if name == "" {
		return errNoUser
	}
	if timeout <= 0 {
		return fmt.Errorf("store: ask node %s: a timeout of %v", node, timeout)
	}
	data, err := json.Marshal(takeoverRequest{Name: name, Session: session})
	if err != nil {
		return err
	}
	return offer(s, s.asks, takeoverAsk{node: node, name: name, data: data, timeout: timeout, done: done})
}

// takeoverAsk is a takeover asked, waiting in the queue or for its
// answer.
type takeoverAsk struct {
	node, name string
	data       []byte
	timeout    time.Duration
	done       func(error)
	deadline   time.Time
}

// startAsker subscribes to the answers and starts the asker.
func (s *Store) startAsker() error {
	s.askInbox = s.nc.NewInbox()
	if _, err := s.nc.ChanSubscribe(s.askInbox+".*", s.answers); err != nil {
		return fmt.Errorf("store: subscribe to takeover answers: %w", classify(err))
	}
	s.asking.Add(1)
	go s.asker()
	return nil
}

// asker sends the takeovers asked, and calls their done with the answer,
// or when their deadline passes. It ends when Close closes asks, failing
// the asks still waiting.
func (s *Store) asker() {
	defer s.asking.Done()
	waiting := make(map[uint64]*takeoverAsk)
	var due deadlines
	var last uint64 // the last ask's number
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	asks := s.asks
	for asks != nil {
		in := asks
		if len(waiting) >= s.cfg.MaxPending {
			in = nil
		}
		select {
		case a, ok := <-in:
			if !ok {
				asks = nil
				break
			}
			last++
			a.deadline = time.Now().Add(a.timeout)
			m := &nats.Msg{Subject: takeoverSubject(a.node), Reply: s.askInbox + "." + strconv.FormatUint(last, 10), Data: a.data}
			if err := s.nc.PublishMsg(m); err != nil {
				a.done(fmt.Errorf("ask node %s to let %q go: %w", a.node, a.name, classify(err)))
				continue
			}
			waiting[last] = &a
			heap.Push(&due, deadline{a.deadline, last})
		case m := <-s.answers:
			n, err := strconv.ParseUint(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:], 10, 64)
			a := waiting[n]
			if err != nil || a == nil {
				continue // answered already, or too late
			}
			delete(waiting, n)
			a.done(a.answered(m))
		case now := <-timer.C:
			for due.Len() > 0 && !due[0].at.After(now) {
				d := heap.Pop(&due).(deadline)
				if a := waiting[d.ask]; a != nil {
					delete(waiting, d.ask)
					a.done(fmt.Errorf("%w: node %s did not answer within %v whether it let %q go", ErrTimeout, a.node, a.timeout, a.name))
				}
			}
		}
		for due.Len() > 0 && waiting[due[0].ask] == nil {
			heap.Pop(&due) // answered
		}
		if due.Len() > 0 {
			timer.Reset(time.Until(due[0].at))
		}
	}
	timer.Stop()
	for _, a := range waiting {
		a.done(fmt.Errorf("%w: the store closed before node %s answered whether it let %q go", ErrUnavailable, a.node, a.name))
	}
}

// answered is what m, the answer to a, means.
func (a *takeoverAsk) answered(m *nats.Msg) error {
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		return fmt.Errorf("%w: no node %s serves takeovers (no responders): it is gone, or not serving yet", ErrUnavailable, a.node)
	}
	var ans takeoverAnswer
	if err := json.Unmarshal(m.Data, &ans); err != nil {
		return fmt.Errorf("node %s answered %q to the takeover of %q: %w", a.node, m.Data, a.name, err)
	}
	if ans.Error != "" {
		return fmt.Errorf("%w: node %s did not let %q go: %s", ErrRefused, a.node, a.name, ans.Error)
	}
	return nil
}

// deadlines is a heap of the asks' deadlines, the soonest first.
type deadlines []deadline

type deadline struct {
	at  time.Time
	ask uint64
}

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].at.Before(d[j].at) }
func (d deadlines) Swap(i, j int)      { d[i], d[j] = d[j], d[i] }
func (d *deadlines) Push(x any)        { *d = append(*d, x.(deadline)) }
func (d *deadlines) Pop() any {
	old := *d
	x := old[len(old)-1]
	*d = old[:len(old)-1]
	return x
}
