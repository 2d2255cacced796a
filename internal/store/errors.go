package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Errors a done callback or a call may return. Each wraps the underlying
// NATS error, when there is one, so its text says what happened.
var (
	// ErrFull means the store refused a write for lack of room: the
	// stream's MaxBytes with DiscardNew, or JetStream's storage limit
	// (Config.MaxStore). The write was not stored; retry once room is
	// made: the store needs no restart.
	ErrFull = errors.New("the message store is full")
	// ErrInboxFull means the recipient already has Config.InboxLimit
	// private messages waiting: the new one was refused, not stored, and
	// none of the waiting ones was dropped. It concerns that recipient
	// only, so it is not an ErrFull: other writes go on being stored.
	ErrInboxFull = errors.New("the recipient's inbox is full")
	// ErrUnavailable means the store could not be reached or did not
	// answer (NATS down, JetStream not ready). The write was not stored.
	ErrUnavailable = errors.New("the message store is unavailable")
	// ErrTimeout means no acknowledgement came within Config.Timeout:
	// the write may or may not have been stored.
	ErrTimeout = errors.New("the message store did not answer in time")
	// ErrBusy means the store's queue is full: the call was refused at
	// once and its callback will not be called. An Append's callback
	// gets it too (wrapped) when other servers kept storing messages in
	// the room first for Config.Timeout: the message was not stored.
	ErrBusy = errors.New("the message store is busy")
	// ErrClosed means the store was closed; the callback will not be
	// called.
	ErrClosed = errors.New("the message store is closed")
	// ErrIncompatible means the store holds streams, buckets or data this
	// version cannot use: something else made them, or a newer version.
	// Open changes nothing then; its error says how to start afresh.
	ErrIncompatible = errors.New("the message store cannot be used")
	// ErrLeaseLost means that the node's lease expired, or was written by
	// another process with the same id: other nodes take it as dead, and
	// may give out its names. It says why, wrapping the error that kept
	// it from being written, if one did (KeepLease).
	ErrLeaseLost = errors.New("the node's lease is lost")
	// ErrRefused means that the node asked to close a session answered
	// that it did not; the error says why, in its words (AskTakeover).
	ErrRefused = errors.New("the other node refused")
)

// errNoUser refuses, at once, a private message, inbox or seen mark
// without a user name, and errNoRoom an event or member without a room:
// they would have no subject or key.
var (
	errNoUser = errors.New("store: no user name")
	errNoRoom = errors.New("store: no room name")
)

// Write errors JetStream reports when it has no room.
const (
	jsStoreFailed      jetstream.ErrorCode = 10077 // a stream's own limit with DiscardNew
	jsInsufficient     jetstream.ErrorCode = 10023 // the server's storage limit
	jsStorageExhausted jetstream.ErrorCode = 10047
	jsAccountExhausted jetstream.ErrorCode = 10002 // the account's storage limit
)

// classify wraps a NATS error in the store's error that says what it
// means for the caller.
func classify(err error) error {
	var api *jetstream.APIError
	isAPI := errors.As(err, &api)
	switch {
	case err == nil:
		return nil
	case isAPI && api.ErrorCode == jsStoreFailed && strings.Contains(api.Description, server.ErrMaxMsgsPerSubject.Error()):
		// Only INBOX refuses new messages per subject.
		return fmt.Errorf("%w: %v", ErrInboxFull, err)
	case isAPI && (api.ErrorCode == jsInsufficient || api.ErrorCode == jsStorageExhausted || api.ErrorCode == jsAccountExhausted ||
		api.ErrorCode == jsStoreFailed && (strings.Contains(api.Description, server.ErrMaxBytes.Error()) ||
			strings.Contains(api.Description, server.ErrMaxMsgs.Error()))):
		return fmt.Errorf("%w: %v", ErrFull, err)
	case strings.Contains(err.Error(), "no space left"):
		return fmt.Errorf("%w: %v", ErrFull, err)
	case errors.Is(err, jetstream.ErrAsyncPublishTimeout), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrTimeout):
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining),
		errors.Is(err, nats.ErrConnectionReconnecting), errors.Is(err, nats.ErrReconnectBufExceeded),
		errors.Is(err, jetstream.ErrTooManyStalledMsgs),
		errors.Is(err, nats.ErrDisconnected), errors.Is(err, jetstream.ErrJetStreamNotEnabled),
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

// incompatible wraps err, met in what the store holds, in ErrIncompatible
// with what to do about it: the store holds something this version cannot
// use, and only its operator can decide to set it aside.
func (s *Store) incompatible(what string, err error) error {
	var remedy string
	if s.srv != nil && s.cfg.Cluster != "" {
		remedy = fmt.Sprintf("stop every server of cluster %s and move %s (on this one) and the others' away to start with an empty store, or point -nats elsewhere",
			s.cfg.Cluster, filepath.Join(s.cfg.Dir, "nats"))
	} else if s.srv != nil {
		remedy = fmt.Sprintf("move %s away to start with an empty store, or point -nats elsewhere",
			filepath.Join(s.cfg.Dir, "nats"))
	} else {
		remedy = fmt.Sprintf("delete it from the NATS at %s to start with an empty store, or point -nats elsewhere",
			strings.Join(s.cfg.URLs, ","))
	}
	return fmt.Errorf("%w: %s: %v: it was made by something else or a newer version: %s",
		ErrIncompatible, what, err, remedy)
}

// setupError is err from creating or opening a stream or bucket: the store
// cannot be reached or has no room (said as such), or what it holds is in
// the way.
func (s *Store) setupError(what string, err error) error {
	var api *jetstream.APIError
	switch {
	case errors.Is(err, ErrIncompatible):
		return err
	case errors.Is(err, jetstream.ErrLimitMarkerTTLNotSupported):
		return fmt.Errorf("store: %s: %s is older than NATS 2.11, which the buckets' expiring keys need: %v", what, s.where(), err)
	case errors.As(err, &api) && api.ErrorCode == jsReplicasAlone:
		return fmt.Errorf("store: %s: %d replicas need a JetStream cluster, and %s is a server standing alone: %v",
			what, s.replicas(), s.where(), err)
	case s.clustered() && errors.As(err, &api) && (api.ErrorCode == jsInsufficient || api.ErrorCode == jsClusterNoPeers):
		return fmt.Errorf("%w: store: %s: %s cannot place %d replicas after %v (too few servers up, or too little room): %v; %s",
			ErrUnavailable, what, s.where(), s.replicas(), s.cfg.OpenTimeout, err, s.quorumReport())
	case s.mayElect() && transient(err) && !jetStreamOff(err):
		return fmt.Errorf("%w: store: %s: %s did not answer within %v (%v): %s",
			ErrUnavailable, what, s.where(), s.cfg.OpenTimeout, err, s.quorumReport())
	}
	err = classify(err)
	if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrTimeout) || errors.Is(err, ErrFull) {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return s.incompatible(what, err)
}
