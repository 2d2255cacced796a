// Package server is the chat server's imperative shell: one goroutine (the
// loop, Server.Run) owns every descriptor and carries out what the pure
// parts decide. Its subpackages are those parts:
//
//   - hub: sessions, logins, rooms, history, flood control, transfers and
//     every request's rules. No system calls, goroutines or clock reads;
//     time is passed in. It imports only internal/wire.
//   - irc: the IRC codec, turning an IRC client's lines into hub requests
//     and the hub's frames into IRC lines.
//   - auth: the users file, the password verifier with its hash worker
//     processes, and the Gate that throttles logins on their way to it.
//
// Here: server.go (Config, New, Run), loop.go (poll, accept, read, apply,
// write), protocol.go (what a connection speaks: the chat protocol,
// irc_protocol.go, or a transfer's data, relay.go), conn.go (a
// connection's output queue), writers.go (the write helpers), defences.go
// and alive.go (deadlines and liveness), state.go (the room list on disk).
// Sockets are non-blocking; the output of one loop pass is queued per
// connection (a room message encoded once) and written with one write per
// connection at the end of the pass, staying queued only when the socket is
// full, with a bound per connection.
//
// Shutdown: Server.Shutdown (or SIGINT/SIGTERM when Config.Signals is set)
// wakes the loop through the pipe; every session is told (Notice Shutdown,
// Bye ByeShutdown), output is flushed within Config.ShutdownTimeout, every
// socket is closed, the workers stop and the pipe is closed. SIGINT goes
// back to its default action when the shutdown starts, so a second Ctrl-C
// ends the process at once even if the shutdown hangs.
package server
