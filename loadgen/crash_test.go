package loadgen

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// runCrashTest runs a short crash profile through loadgen's command line
// against the chat-server at bin: twelve account sessions in two rooms, a
// quarter of them away before each of the kills, with the server's -state
// given by state (none, or a directory). The drain waits for every
// acknowledged message, so it lasts its whole length when some are lost.
func runCrashTest(t *testing.T, bin, state string, kills int, duration, drain time.Duration, wantExit int) *CrashReport {
	t.Helper()
	rep := new(CrashReport)
	runMain(t, []string{"-spawn-server", bin, "-profile", "crash", "-sessions", "12", "-rooms", "2", "-rate", "100",
		"-duration", duration.String(), "-kills", fmt.Sprint(kills), "-away", "0.25", "-state", state,
		"-drain", drain.String(), "-timeout", "10s", "-quiet"}, rep, wantExit)
	if rep.Up != 12 || len(rep.Kills) != kills {
		t.Fatalf("%d of 12 sessions up, %d kills of %d", rep.Up, len(rep.Kills), kills)
	}
	for _, k := range rep.Kills {
		if k.Away != 3 {
			t.Errorf("kill %d: %d sessions away, want 3", k.N, k.Away)
		}
	}
	if last := rep.Kills[kills-1]; last.Back != last.Of {
		t.Errorf("after the last kill %d of %d sessions came back", last.Back, last.Of)
	}
	if rep.Acked < 100 || rep.Delivered == 0 {
		t.Errorf("%d Says acknowledged, %d messages shown: too few to judge", rep.Acked, rep.Delivered)
	}
	return rep
}

// kinds counts a report's violations by kind.
func kinds(r *CrashReport) map[string]int {
	m := map[string]int{}
	for _, v := range r.Violations {
		m[v.Kind]++
	}
	return m
}

// TestCrashFindsTheLossesOfAServerWithoutState proves the crash check can
// fail: a server without -state forgets its rooms and their history when
// it is killed, so the sessions away at the kill never get what was said
// before it, the rooms count from 1 again, and the check must say so.
func TestCrashFindsTheLossesOfAServerWithoutState(t *testing.T) {
	t.Parallel()
	bin := buildServer(t)
	rep := runCrashTest(t, bin, "none", 1, 2*time.Second, time.Second, ExitProblems)
	k := kinds(rep)
	if !rep.Problems() || k[violLost] == 0 || k[violConflict] == 0 || k[violOrder] == 0 {
		t.Errorf("violations %v; want lost, conflicting and out-of-order messages", k)
	}
	if rep.Found >= rep.Expected || rep.Recreated == 0 {
		t.Errorf("%d of %d owed deliveries made, %d rooms made again: want losses, and rooms the server forgot", rep.Found, rep.Expected, rep.Recreated)
	}
}

// TestCrashKeepsEveryAcknowledgedMessageWithState is the acceptance test of
// the durable history: with -state the server keeps every message it
// acknowledged, so across two SIGKILLs every member throughout gets each
// acknowledged message once, in the same order everywhere.
func TestCrashKeepsEveryAcknowledgedMessageWithState(t *testing.T) {
	t.Parallel()
	bin := buildServer(t)
	if !keepsHistory(t, bin) {
		t.Skip("waits for the durable history (issue 16): chat-server -state DIR keeps only its room list " +
			"until internal/store is wired in (room messages stored under DIR/nats before a Say is acknowledged), " +
			"so a kill loses what the sessions away at it missed")
	}
	rep := runCrashTest(t, bin, t.TempDir(), 2, 3*time.Second, 5*time.Second, ExitOK)
	if rep.Problems() {
		t.Errorf("%d violations: %v", len(rep.Violations), kinds(rep))
	}
	if rep.Expected == 0 || rep.Found != rep.Expected {
		t.Errorf("%d of %d owed deliveries made", rep.Found, rep.Expected)
	}
}

// keepsHistory reports whether the server at bin keeps room messages in
// its state directory: whether it makes DIR/nats, where internal/store's
// embedded JetStream keeps its files.
func keepsHistory(t *testing.T, bin string) bool {
	t.Helper()
	dir := t.TempDir()
	srv, err := SpawnServer(bin, SpawnOptions{UsersFile: filepath.Join(dir, "users.db"), Guests: true,
		Args: []string{"-state", dir}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, statErr := os.Stat(filepath.Join(dir, "nats"))
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	return statErr == nil
}
