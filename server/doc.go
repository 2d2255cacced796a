// Package server is the chat server: a pure state machine (the hub.Hub) inside
// an imperative poll(2) loop (Server).
//
//   - hub*.go: sessions, logins, rooms, history and every request's rules.
//     No system calls, goroutines or clock reads; time is passed in. Its
//     outputs are frames to send, connections to close, and password checks
//     to run elsewhere.
//   - server.go, loop.go, conn.go, listen.go: one goroutine owns every
//     descriptor (listening socket, client sockets, a wake pipe) and waits
//     on them all with poll(2) (or epoll, Config.Poller) through
//     internal/poller. Sockets are non-blocking; the output of one loop pass
//     is queued per connection (a room message encoded once) and written
//     with one write per connection at the end of the pass, and stays queued
//     only when the socket is full, with a bound per connection.
//   - users.go, verifier.go: the users file (NAME:argon2id-hash lines) and
//     the worker pool that checks passwords off the loop, re-reading the
//     file when it changes.
//
// Shutdown: Server.Shutdown (or SIGINT/SIGTERM when Config.Signals is set)
// wakes the loop through the pipe; every session is told (Notice Shutdown,
// Bye ByeShutdown), output is flushed within Config.ShutdownTimeout, every
// socket is closed, the workers stop and the pipe is closed. SIGINT goes
// back to its default action when the shutdown starts, so a second Ctrl-C
// ends the process at once even if the shutdown hangs.
package server
