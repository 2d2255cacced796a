package loadgen

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

func histOf(values ...int64) *hdrhistogram.Snapshot {
	h := newHist()
	for _, v := range values {
		h.RecordValue(v)
	}
	return exportHist(h)
}

func TestExportTrimsAndImportRestores(t *testing.T) {
	s := histOf(5, 1500, 250000)
	if full := newHist().Export(); len(s.Counts) >= len(full.Counts) {
		t.Fatalf("snapshot has %d counts, the untrimmed one %d", len(s.Counts), len(full.Counts))
	}
	h := importHist(s)
	if h.TotalCount() != 3 || !h.ValuesAreEquivalent(h.Max(), 250000) || h.Min() != 5 {
		t.Fatalf("imported: count %d min %d max %d", h.TotalCount(), h.Min(), h.Max())
	}
	if importHist(nil).TotalCount() != 0 || importHist(&hdrhistogram.Snapshot{SignificantFigures: 9}).TotalCount() != 0 {
		t.Fatal("nil or invalid snapshots should import as empty")
	}
}

func TestMergeParts(t *testing.T) {
	a := &part{
		Up: 10, Failed: 1, Latency: histOf(1000, 2000), Connect: histOf(100),
		Sent: 5, Acked: 5, Deliveries: 45, Unique: 45, Expected: 45,
		Errors: map[string]uint64{"timeout": 1},
		CPU:    time.Second, RSSKB: 100, RunStart: t0, RunEnd: t0.Add(2 * time.Second),
	}
	b := &part{
		Up: 9, Latency: histOf(3000, 50_000_000), Login: histOf(7),
		Sent: 4, Acked: 3, Deliveries: 36, Unique: 35, Expected: 36, Duplicates: 1, OutOfOrder: 2,
		Errors: map[string]uint64{"timeout": 2, "say code 14": 1},
		CPU:    500 * time.Millisecond, RSSKB: 50, RunStart: t0.Add(time.Millisecond), RunEnd: t0.Add(3 * time.Second),
	}
	// Through JSON, as a child's part travels.
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var b2 part
	if err := json.Unmarshal(data, &b2); err != nil {
		t.Fatal(err)
	}
	var total part
	total.merge(a)
	total.merge(&b2)
	if total.Up != 19 || total.Failed != 1 || total.Sent != 9 || total.Acked != 8 || total.Deliveries != 81 ||
		total.Unique != 80 || total.Expected != 81 || total.Duplicates != 1 || total.OutOfOrder != 2 {
		t.Fatalf("counters: %+v", total)
	}
	if total.Errors["timeout"] != 3 || total.Errors["say code 14"] != 1 {
		t.Fatalf("errors %v", total.Errors)
	}
	if !total.RunStart.Equal(t0) || !total.RunEnd.Equal(t0.Add(3*time.Second)) || total.CPU != 1500*time.Millisecond {
		t.Fatalf("window %v..%v cpu %v", total.RunStart, total.RunEnd, total.CPU)
	}
	lat := importHist(total.Latency)
	if lat.TotalCount() != 4 || !lat.ValuesAreEquivalent(lat.Max(), 50_000_000) || lat.Min() != 1000 {
		t.Fatalf("latency: count %d min %d max %d", lat.TotalCount(), lat.Min(), lat.Max())
	}
	if importHist(total.Connect).TotalCount() != 1 || importHist(total.Login).TotalCount() != 1 {
		t.Fatal("a histogram present in one part only must survive the merge")
	}

	cfg := Config{Profile: ProfileRooms, Sessions: 20, Rooms: 2, Rate: 10, Duration: 2 * time.Second, Procs: 2, Login: LoginGuest}
	r := newReport(&cfg, &total, time.Second, nil)
	if r.Lost != 1 || r.Unexpected != 0 || r.Latency.Count != 4 || r.Latency.P50 != 2 || r.RoomSize != 10 {
		t.Fatalf("report: lost %d unexpected %d latency %+v room size %v", r.Lost, r.Unexpected, r.Latency, r.RoomSize)
	}
	if r.DeliveriesPerSec != 40.5 || r.Loadgen.CPURun != 50 || r.Server != nil {
		t.Fatalf("rates: %v deliveries/s, loadgen cpu %v%%, server %v", r.DeliveriesPerSec, r.Loadgen.CPURun, r.Server)
	}
	if !r.Problems() {
		t.Fatal("a lost delivery is a problem")
	}
}

func TestReportCountsUnexpectedDeliveries(t *testing.T) {
	cfg := Config{Profile: ProfileRooms, Sessions: 2, Rooms: 1, Duration: time.Second, Procs: 1}
	r := newReport(&cfg, &part{Unique: 5, Expected: 3}, 0, nil)
	if r.Lost != 0 || r.Unexpected != 2 || !r.Problems() {
		t.Fatalf("lost %d unexpected %d", r.Lost, r.Unexpected)
	}
}

func TestStripedHistMergesStripes(t *testing.T) {
	s := newStripedHist(4)
	for i := range uint32(100) {
		s.record(i, time.Duration(i+1)*time.Millisecond)
	}
	if m := s.takeMax(); m != 100_000 {
		t.Fatalf("max %d µs, want 100000", m)
	}
	if m := s.takeMax(); m != 0 {
		t.Fatalf("max after take %d, want 0", m)
	}
	h := s.merged()
	if h.TotalCount() != 100 || !h.ValuesAreEquivalent(h.Max(), 100_000) {
		t.Fatalf("merged: count %d max %d", h.TotalCount(), h.Max())
	}
	// Out of range values are clamped, not dropped.
	s.record(0, -time.Second)
	s.record(0, time.Hour)
	if h := s.merged(); h.TotalCount() != 102 {
		t.Fatalf("clamped values lost: count %d", h.TotalCount())
	}
}

func TestOthersPerSender(t *testing.T) {
	for _, tt := range []struct {
		sessions, rooms int
		want            float64
	}{
		{1000, 10, 99},
		{1000, 1, 999},
		{10, 3, 2.4}, // rooms of 4, 3, 3: (4*3 + 3*2 + 3*2) / 10
		{1, 1, 0},
	} {
		c := Config{Sessions: tt.sessions, Rooms: tt.rooms}
		if got := c.othersPerSender(); got != tt.want {
			t.Errorf("%d sessions in %d rooms: %v others per sender, want %v", tt.sessions, tt.rooms, got, tt.want)
		}
	}
}
