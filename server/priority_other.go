//go:build !linux

package server

// lowerPriority does nothing where nice is not per thread: lowering the
// process's would lower the loop's too.
func lowerPriority() error { return nil }
