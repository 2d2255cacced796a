package main

import (
	"bytes"
	"strings"
	"testing"

	"chat/loadgen"
)

// TestWriteCluster writes the section for runs that met the targets and
// for runs that did not or failed, and looks for each target's row.
func TestWriteCluster(t *testing.T) {
	idle := &loadgen.Report{Sessions: 30000, Up: 30000, Server: &loadgen.ProcReport{RSSHeldMB: 900},
		Servers: []loadgen.ServerRSS{{Name: "c1", RSSHeldMB: 300}, {Name: "c2", RSSHeldMB: 300}, {Name: "c3", RSSHeldMB: 300}}}
	rooms := func(p99 float64) result {
		r := &loadgen.Report{Sessions: 10000, Up: 10000, DeliveriesPerSec: 10090, Latency: loadgen.Percentiles{P99: p99}}
		return result{run: run{name: "rooms-100", repeat: 3}, poller: "default", rep: r}
	}
	met := &loadgen.FailoverReport{Sessions: 15000, Rooms: 150, Servers: make([]loadgen.ChaosServer, 3), Killed: "c1",
		FailoverTiming: loadgen.FailoverTiming{OnKilled: 5000, Back: 5000, Within: 5000, TargetS: 15, FirstMS: 9000, P50MS: 11000, P99MS: 12500, MaxMS: 12800},
		Deliveries:     loadgen.Deliveries{Expected: 100, Found: 100}}
	late := *met
	late.FailoverTiming.Within, late.FailoverTiming.MaxMS = 4990, 16200
	var chaos bytes.Buffer
	writeChaosTarget(&chaos, chaosResult{rep: &loadgen.ChaosReport{Faults: make([]loadgen.ChaosFault, 40), Back: 60, Of: 60,
		Deliveries: loadgen.Deliveries{Expected: 90, Found: 90}}})
	tests := []struct {
		name  string
		c     clusterResults
		chaos []byte
		want  []string
	}{
		{"met", clusterResults{idle: result{run: run{name: "idle-30k"}, rep: idle, cmd: "bin/loadgen -profile idle"},
			rooms:    []result{rooms(30), rooms(20), rooms(60)},
			failover: failoverResult{rep: met, cmd: "bin/loadgen -profile failover"}}, chaos.Bytes(), []string{
			"## Cluster\n\n",
			"| idle-30k | 30000/30000 |",
			"| 900.0 (300.0, 300.0, 300.0) |",
			"| back in their rooms | 5000 of 5000, 5000 within 15 s; first 9000 ms, p50 11000 ms, p99 12500 ms, max 12800 ms |",
			"bin/loadgen -profile idle\n",
			"bin/loadgen -profile failover\n",
			"more than one server's descriptor limit allows | met | 30000 of 30000 up, 0 failed, about 10000 a server;",
			"p99 ≤ 50 ms | met | p99 30.00 ms at 10090 deliveries/s (median of 3 runs: 30.00, 20.00, 60.00 ms), 0 lost |",
			"0 messages lost | met | 5000 sessions on c1: 5000 back, 5000 within 15 s, max 12.8 s",
			"| chaos for ten minutes (Cluster chaos, below): 0 violations | met | 40 faults, 0 probes, 90 of 90 owed deliveries made, violations: none (the Cluster chaos section's run) |",
		}},
		{"not met", clusterResults{idle: result{run: run{name: "idle-30k"}, status: "exit: signal: killed; no report: x"},
			rooms:    []result{rooms(80)},
			failover: failoverResult{rep: &late}}, nil, []string{
			"| idle-30k | | | | | | | | | | | exit: signal: killed; no report: x |",
			"descriptor limit allows | not measured |",
			"p99 ≤ 50 ms | **not met** | p99 80.00 ms",
			"0 messages lost | **not met** | 5000 sessions on c1: 5000 back, 4990 within 15 s, max 16.2 s",
			"| chaos for ten minutes (Cluster chaos, below): 0 violations | not measured | no Cluster chaos section",
		}},
		{"failover failed", clusterResults{failover: failoverResult{status: "no report (exit status 1): loadgen: start the NATS cluster"}}, nil, []string{
			"The run failed: no report (exit status 1): loadgen: start the NATS cluster.",
			"5,000 sessions back in its room on another within 15 s, 0 messages lost | not measured |",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			writeCluster(&b, tt.c, tt.chaos, false)
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("no %q in\n%s", w, b.String())
				}
			}
		})
	}
}

// TestReplaceChaosRow: a new Cluster chaos section's verdict replaces the
// Cluster section's chaos row, and nothing else.
func TestReplaceChaosRow(t *testing.T) {
	doc := "# Benchmarks\n\n## Cluster\n\n| target | verdict | figures |\n|---|---|---|\n" +
		"| other | met | x |\n" + chaosRow(nil) + "\n\n## Cluster chaos\n\nold\n"
	var chaos bytes.Buffer
	writeChaosTarget(&chaos, chaosResult{rep: &loadgen.ChaosReport{Back: 1, Of: 1,
		Deliveries: loadgen.Deliveries{Violations: []loadgen.CrashViolation{{Kind: "lost"}}}}})
	got := string(replaceChaosRow([]byte(doc), chaos.Bytes()))
	want := strings.Replace(doc, chaosRow(nil), "| chaos for ten minutes (Cluster chaos, below): 0 violations | **not met** | 0 faults, 0 probes, 0 of 0 owed deliveries made, violations: 1 (lost 1) (the Cluster chaos section's run) |", 1)
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := replaceChaosRow([]byte("# Benchmarks\n"), chaos.Bytes()); string(got) != "# Benchmarks\n" {
		t.Errorf("a report without a Cluster section became %q", got)
	}
}
