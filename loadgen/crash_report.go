package loadgen

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// CrashKill is one kill of the server and what followed.
type CrashKill struct {
	N         int
	AtSec     float64 // since the start of the run
	RestartMS float64 // from the kill to the new process's ready line
	Away      int     // sessions cut before the kill, back only after it
	// Back of the Of sessions up in the ramp were back in their rooms
	// before the next kill's cut (after the last kill: within the run's
	// wait); AllBackSec is from the kill until the last was (0: not all).
	Back, Of   int
	AllBackSec float64
	Unanswered uint64 // Says pending when the server died: unknown
}

// CrashReport is the result of a crash run.
type CrashReport struct {
	Addr     string
	StateDir string // the server's -state; empty for none
	// StateTemporary: loadgen made StateDir for the run and removed it.
	StateTemporary bool `json:",omitempty"`
	Login          string
	Sessions       int
	Rooms          int
	Rate           float64
	Duration       float64 // seconds of sending
	Up             int     // sessions up after the ramp
	Kills          []CrashKill
	Deliveries
}

// Deliveries is what the sessions of a crash or chaos run sent and were
// shown, as the checker (crash_check.go) judged it.
type Deliveries struct {
	// Says: sent, answered OK (acknowledged), refused, and unknown (no
	// reply before the connection ended); UnsureShown of the unknown and
	// refused ones were shown to someone.
	Sent, Acked, Refused, Unknown, UnsureShown uint64
	// Delivered counts the messages shown, over every session; Expected,
	// what acknowledged messages owe the members throughout, and Found,
	// how many of those were shown.
	Delivered, Expected, Found uint64
	// Recreated counts re-entries that found the room gone (a server that
	// forgot its rooms) and made it again.
	Recreated  uint64
	Errors     map[string]uint64
	Retries    map[string]uint64
	Losses     map[string]uint64 // connections that ended, by how: a kill ends every one of its server's
	Violations []CrashViolation
}

// Problems reports whether the run found the server at fault.
func (r *Deliveries) Problems() bool { return len(r.Violations) > 0 }

// maxShownPerKind bounds the violations of one kind the text report
// lists; -json has them all. A server that forgets its rooms breaks the
// same rule for thousands of messages, and the first ones tell the story.
const maxShownPerKind = 50

// WriteCrashReport prints the crash run's report: the kills, the counts,
// and the violations.
func WriteCrashReport(w io.Writer, r *CrashReport) {
	state := r.StateDir
	switch {
	case state == "":
		state = "none (the server keeps nothing across a restart)"
	case r.StateTemporary:
		state += " (made for the run, removed)"
	}
	fmt.Fprintf(w, "crash: %d sessions in %d rooms, %s login, %.0f msgs/s for %.1fs, server %s, state %s\n",
		r.Sessions, r.Rooms, r.Login, r.Rate, r.Duration, r.Addr, state)
	fmt.Fprintf(w, "sessions up: %d of %d\n", r.Up, r.Sessions)
	for _, k := range r.Kills {
		back := fmt.Sprintf("all %d sessions back in %.2fs", k.Of, k.AllBackSec)
		if k.Back < k.Of {
			back = fmt.Sprintf("%d of %d sessions back before the next kill", k.Back, k.Of)
			if k.N == len(r.Kills) {
				back = fmt.Sprintf("only %d of %d sessions back", k.Back, k.Of)
			}
		}
		fmt.Fprintf(w, "kill %d at %.2fs: %d sessions away; SIGKILL, restarted in %.0f ms, %s, %d Says unanswered\n",
			k.N, k.AtSec, k.Away, k.RestartMS, back, k.Unanswered)
	}
	if len(r.Kills) == 0 {
		fmt.Fprintln(w, "kills: none")
	}
	writeDeliveries(w, &r.Deliveries)
}

// writeDeliveries prints what was sent and shown, the counts of what went
// wrong, and the violations.
func writeDeliveries(w io.Writer, r *Deliveries) {
	fmt.Fprintf(w, "says: %d sent: %d acknowledged, %d unknown (no reply before their connection ended), %d refused; %d of the unknown and refused were delivered\n",
		r.Sent, r.Acked, r.Unknown, r.Refused, r.UnsureShown)
	fmt.Fprintf(w, "delivered: %d messages shown; acknowledged ones owed %d deliveries to the members throughout, %d made\n",
		r.Delivered, r.Expected, r.Found)
	if r.Recreated > 0 {
		fmt.Fprintf(w, "rooms: %d re-entries found the room gone and made it again\n", r.Recreated)
	}
	writeCounts(w, "connections lost", r.Losses)
	writeCounts(w, "errors", r.Errors)
	writeCounts(w, "retries", r.Retries)
	if len(r.Violations) == 0 {
		fmt.Fprintln(w, "violations: none")
		return
	}
	byKind := map[string][]CrashViolation{}
	for _, v := range r.Violations {
		byKind[v.Kind] = append(byKind[v.Kind], v)
	}
	kinds := slices.Sorted(maps.Keys(byKind))
	var counts []string
	for _, k := range kinds {
		counts = append(counts, fmt.Sprintf("%s %d", k, len(byKind[k])))
	}
	fmt.Fprintf(w, "violations: %d (%s)\n", len(r.Violations), strings.Join(counts, ", "))
	for _, k := range kinds {
		vs := byKind[k]
		for _, v := range vs[:min(len(vs), maxShownPerKind)] {
			fmt.Fprintf(w, "  %s: %s\n", v.Kind, v.Text)
		}
		if len(vs) > maxShownPerKind {
			fmt.Fprintf(w, "  %s: ... and %d more (-json FILE lists them all)\n", k, len(vs)-maxShownPerKind)
		}
	}
}

// writeCounts prints counts by kind on one line, if there are any.
func writeCounts(w io.Writer, title string, m map[string]uint64) {
	if len(m) == 0 {
		return
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	fmt.Fprintf(w, "%s: %s\n", title, strings.Join(parts, ", "))
}
