// Package wire is the chat protocol: length-prefixed frames whose body is a
// type byte followed by tagged fields. It is shared by the server, the client,
// the harness and the load generator; docs/PROTOCOL.md is its specification.
//
// Encoding and decoding are pure functions over byte slices. The Decoder is
// incremental: it accepts input split at any byte and yields whole frames.
package wire
