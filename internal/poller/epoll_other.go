//go:build !linux

package poller

import "errors"

// Epoll is available on Linux only.
type Epoll struct{ Poller }

// NewEpoll fails: epoll is Linux's.
func NewEpoll() (*Epoll, error) { return nil, errors.New("poller: epoll is available on Linux only") }
