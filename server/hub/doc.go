// Package hub is the chat server's functional core: sessions, logins,
// rooms, history, flood control, file transfers and every request's rules,
// in one state machine. It makes no system calls, starts no goroutines and
// reads no clock (the caller passes now), so every rule is testable in
// microseconds and a seeded simulation can drive it with thousands of
// sessions. It imports only chat/internal/wire and the standard library
// (TestPurePackagesImportOnlyWire, in package server, keeps it so).
//
// Its inputs are decoded requests (Handle), password verdicts
// (LoginResult), disconnections and ticks; its outputs (Output) are frames
// to send, connections to close, password checks to run elsewhere and
// instructions for the file relay. The poll loop (package server) is the
// imperative shell around it.
//
// Files: hub.go (sessions, rooms, outputs), requests.go (the request rules
// and handlers), flood.go, history.go, state.go (what persists), transfer.go.
package hub
