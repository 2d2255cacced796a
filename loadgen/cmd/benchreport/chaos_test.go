package main

import (
	"bytes"
	"strings"
	"testing"

	"chat/loadgen"
)

// TestWriteChaos writes the section for a run that found violations and
// for one that failed, and looks for its parts.
func TestWriteChaos(t *testing.T) {
	rep := &loadgen.ChaosReport{Seed: 1, Sessions: 60, Rooms: 6, Rate: 30, Duration: 600, Up: 60, Back: 60, Of: 60,
		Servers: make([]loadgen.ChaosServer, 3), ServerName: true,
		Faults: []loadgen.ChaosFault{{Kind: "kill"}, {Kind: "stop"}, {Kind: "partition"}, {Kind: "stop", Note: "skipped: the cluster was not whole again"}},
		Probes: loadgen.ChaosProbes{Tried: 4, TookOver: 3, HeldTwice: 1},
		Deliveries: loadgen.Deliveries{Sent: 10, Acked: 9, Expected: 90, Found: 90, Violations: []loadgen.CrashViolation{
			{Kind: "name held twice", Text: "lg0003 was held on c1 and c2 at once"}}},
	}
	tests := []struct {
		name string
		res  chaosResult
		want []string
	}{
		{"violations", chaosResult{rep: rep, cmd: "bin/loadgen -profile chaos"}, []string{
			"## Cluster chaos\n\n",
			"```\nbin/loadgen -profile chaos\n```",
			"| faults | 1 kills of a chat server, 1 NATS nodes stopped, 1 partitioned (1 skipped: the cluster not whole again in time) |",
			"| takeover probes | 4: 3 took over, 0 refused, 1 held twice, 0 unclear |",
			"| violations | 1 (name held twice 1) |",
			"- name held twice: lg0003 was held on c1 and c2 at once\n",
			"| **not met** | 4 faults, 4 probes, 90 of 90 owed deliveries made, violations: 1 (name held twice 1) |",
		}},
		{"no report", chaosResult{cmd: "bin/loadgen -profile chaos", status: "no report (exit status 1): loadgen: start the NATS cluster"}, []string{
			"The run failed: no report (exit status 1): loadgen: start the NATS cluster.",
			"| not measured | the run failed |",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			writeChaos(&b, tt.res, false)
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("no %q in\n%s", w, b.String())
				}
			}
		})
	}
}
