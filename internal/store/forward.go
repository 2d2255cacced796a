package store

import (
	"errors"

	"github.com/nats-io/nats.go"
)

// Forwarding between nodes: a frame for a user of another node (a private
// message, a broadcast) goes to that node on core NATS, not JetStream. A
// private message is stored (PRIVATE) before it is forwarded, so what is
// at stake here is only its live display: a node that is gone, or a user
// who left meanwhile, does not get it shown.

// forwardSubject is where node takes frames forwarded to its users.
func forwardSubject(node string) string { return "chat.node." + node + ".forward" }

// Forward sends data to node's ServeForwards. It does not wait: core
// NATS buffers it in the client; ErrClosed once the store is closed.
func (s *Store) Forward(node string, data []byte) error {
	if err := CheckNode(node); err != nil {
		return err
	}
	err := s.nc.Publish(forwardSubject(node), data)
	if errors.Is(err, nats.ErrConnectionClosed) {
		return ErrClosed
	}
	return classify(err)
}

// ServeForwards calls fn with what other nodes forward to node, one at a
// time from one NATS goroutine, until stop; fn should hand it over and
// return quickly.
func (s *Store) ServeForwards(node string, fn func(data []byte)) (stop func(), err error) {
	if err := CheckNode(node); err != nil {
		return nil, err
	}
	sub, err := s.nc.Subscribe(forwardSubject(node), func(m *nats.Msg) { fn(m.Data) })
	if err != nil {
		return nil, classify(err)
	}
	return func() { sub.Unsubscribe() }, nil
}

// announceSubject is where every node hears what one node announces on
// topic.
func announceSubject(topic string) string { return "chat.all." + topic }

// Announce tells every node's Listen on topic (its own too) about data:
// what a node learns that the others should count as well, as a login
// attempt on an account. Like Forward it does not wait, and it is lost if
// a node is away.
func (s *Store) Announce(topic string, data []byte) error {
	if err := CheckNode(topic); err != nil {
		return err
	}
	err := s.nc.Publish(announceSubject(topic), data)
	if errors.Is(err, nats.ErrConnectionClosed) {
		return ErrClosed
	}
	return classify(err)
}

// Listen calls fn with what any node announces on topic, one at a time
// from one NATS goroutine, until stop.
func (s *Store) Listen(topic string, fn func(data []byte)) (stop func(), err error) {
	if err := CheckNode(topic); err != nil {
		return nil, err
	}
	sub, err := s.nc.Subscribe(announceSubject(topic), func(m *nats.Msg) { fn(m.Data) })
	if err != nil {
		return nil, classify(err)
	}
	return func() { sub.Unsubscribe() }, nil
}
