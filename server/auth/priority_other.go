//go:build !linux

package auth

import "os/exec"

// lowerPriority does nothing where nice is not per thread: lowering the
// process's would lower the loop's too.
func lowerPriority() error { return nil }

// startNiced starts cmd as it is: without per-thread priorities the child
// cannot inherit a lowered one from the thread that starts it.
func startNiced(cmd *exec.Cmd) error { return cmd.Start() }
