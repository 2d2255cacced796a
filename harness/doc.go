// Package harness drives the real chat binaries for end-to-end tests: it
// builds them once, starts the server on a free port with its own users file,
// runs clients on pseudo-terminals and reads their screens, and talks the wire
// protocol directly where a test needs a raw peer.
//
// The Ginkgo specs in harness/e2e and the testscript commands in scenarios are
// thin wrappers over these types.
package harness
