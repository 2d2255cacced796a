package store

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childDirEnv, when set, makes TestKill9KeepsAcknowledged the child: it
// appends to a store in that directory and prints each acknowledged Seq
// until it is killed.
const childDirEnv = "CHAT_STORE_KILL_CHILD_DIR"

// The heart of issue 16: a process killed with SIGKILL mid-stream loses no
// message it had acknowledged. The child appends as fast as it can and
// prints "ack SEQ" as each is acknowledged; the parent kills it after a
// number of acks, then reopens the store on the same directory.
func TestKill9KeepsAcknowledged(t *testing.T) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		killChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9KeepsAcknowledged$", "-test.count=1")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	const killAfter = 3000
	var acked []uint64
	lines := bufio.NewScanner(out)
	deadline := time.AfterFunc(wait, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for lines.Scan() {
		seq, ok := strings.CutPrefix(lines.Text(), "ack ")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(seq, 10, 64)
		if err != nil {
			t.Fatalf("child said %q", lines.Text())
		}
		acked = append(acked, n)
		if len(acked) == killAfter {
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	cmd.Wait()
	if len(acked) < killAfter {
		t.Fatalf("the child acknowledged %d messages before it ended, want at least %d", len(acked), killAfter)
	}
	// Acks printed after the signal was sent, before the child died, are
	// acknowledged too: they must be there as well.
	t.Logf("killed after %d acknowledged messages", len(acked))

	s := open(t, Config{Dir: dir})
	stored := replayWait(t, s, "lounge", 0, len(acked)+100000)
	if len(stored) < len(acked) {
		t.Fatalf("%d messages stored after the kill, %d were acknowledged", len(stored), len(acked))
	}
	for i, seq := range acked {
		m := stored[i]
		if m.Seq != seq || m.Text != fmt.Sprint("m", seq) {
			t.Fatalf("acknowledged message %d was Seq %d; stored in its place: Seq %d %q", i, seq, m.Seq, m.Text)
		}
	}
	t.Logf("%d stored (%d more than acknowledged: published, ack not yet printed)", len(stored), len(stored)-len(acked))
}

// killChild appends until killed, printing each acknowledged Seq at once.
func killChild(dir string) {
	s, err := Open(Config{Dir: dir, MaxPending: 256})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	slots := make(chan struct{}, 256)
	for i := 1; ; i++ {
		slots <- struct{}{}
		err := s.Append("lounge", Message{From: "ann", Room: "lounge", Text: fmt.Sprint("m", i)}, func(st Stored, err error) {
			if err != nil {
				fmt.Fprintln(os.Stderr, "child: append:", err)
				os.Exit(2)
			}
			fmt.Fprintf(os.Stdout, "ack %d\n", st.Seq)
			<-slots
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
	}
}
