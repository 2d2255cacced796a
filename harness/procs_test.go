package harness

import (
	"os"
	"os/exec"
	"testing"
)

func TestChildren(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep(1):", err)
	}
	kids := Children(os.Getpid(), "sleep")
	if nice, ok := kids[cmd.Process.Pid]; !ok || nice != 0 {
		t.Errorf("children %v: want %d at nice 0", kids, cmd.Process.Pid)
	}
	if kids := Children(os.Getpid(), "no such command line"); len(kids) != 0 {
		t.Errorf("children matching nothing: %v", kids)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, ok := Children(os.Getpid(), "sleep")[cmd.Process.Pid]; ok {
		t.Error("a child that ended is still listed")
	}
}
