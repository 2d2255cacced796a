// Package irc is the IRC listener's codec (docs/PROTOCOL.md, "IRC"). A
// Session turns the IRC lines of one client into hub requests, and the
// hub's frames for that session into IRC lines, so the hub stays
// protocol-neutral and an IRC user and a rooms user are the same kind of
// session to it.
//
// A Session makes no system calls and keeps no clock: the loop feeds it
// the bytes it read and the frames the hub sends the session, writes what
// it returns, and hands the requests it produces to the hub, so every rule
// here is testable without sockets or a hub. A Session belongs to the
// goroutine that owns its connection; it is not safe for concurrent use.
//
// Where things are: line.go reads, parses and writes lines; commands.go is
// the command table and its dispatcher, handlers.go the commands;
// render.go turns hub frames into lines and replies.go answers, by the
// command that asked, the hub's replies; numerics.go names the numerics.
package irc
