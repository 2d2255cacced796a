package loadgen

import "testing"

// TestChaosRunsItsFaultsAndHealsEverything runs a short chaos profile
// through loadgen's command line against the real chat-server: three
// servers on a NATS cluster in this process, twelve account sessions in
// two rooms. It judges the run, not the server (the chaos spec in
// harness/e2e does that): the run ends with a report whatever the
// verdict, every kind of fault was carried out, every session came up and
// was back in its room after the healing, the probes ran, messages went
// round, and every violation is of a kind the checkers know.
func TestChaosRunsItsFaultsAndHealsEverything(t *testing.T) {
	t.Parallel()
	rep := new(ChaosReport)
	code := runMain(t, []string{"-spawn-server", buildServer(t), "-profile", "chaos", "-sessions", "12", "-rooms", "2", "-rate", "12",
		"-duration", "16s", "-seed", "3", "-timeout", "10s", "-quiet"}, rep, ExitOK, ExitProblems)
	if (code == ExitProblems) != rep.Problems() {
		t.Errorf("exit %d with %d violations", code, len(rep.Violations))
	}
	if rep.Seed != 3 || len(rep.Servers) != 3 || len(rep.NATS) != 3 {
		t.Errorf("seed %d, %d servers, %d NATS nodes; want 3, 3, 3", rep.Seed, len(rep.Servers), len(rep.NATS))
	}
	done := map[string]int{}
	for _, f := range rep.Faults {
		if f.Note == "" || len(f.Note) >= 8 && f.Note[:8] == "skipped:" {
			continue
		}
		done[f.Kind]++
	}
	for k := range numFaultKinds {
		if done[k.String()] == 0 {
			t.Errorf("no %s carried out: %+v", k, rep.Faults)
		}
	}
	if rep.Up != 12 || rep.Back != 12 || rep.Of != 12 {
		t.Errorf("%d of 12 sessions up, %d of %d back after the healing", rep.Up, rep.Back, rep.Of)
	}
	if rep.Probes.Tried == 0 || rep.Acked < 50 || rep.Found == 0 {
		t.Errorf("%d probes, %d Says acknowledged, %d owed deliveries made: too few to judge", rep.Probes.Tried, rep.Acked, rep.Found)
	}
	known := map[string]bool{violLost: true, violPartial: true, violTwice: true, violOrder: true, violConflict: true,
		violPhantom: true, violMisrouted: true, violHistory: true, violAbsent: true, violFailed: true,
		violHeldTwice: true, violPresence: true, violNotice: true, violDied: true}
	for _, v := range rep.Violations {
		if !known[v.Kind] {
			t.Errorf("a violation of an unknown kind: %+v", v)
		}
	}
}
