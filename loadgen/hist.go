package loadgen

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Every histogram records microseconds from 1 µs to 60 s with three
// significant digits: 0.1% resolution at any magnitude.
const (
	histLowest  = 1
	histHighest = 60_000_000
	histDigits  = 3
)

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histDigits)
}

// micros converts d to a value the histograms accept, clamping into range:
// a latency over 60 s is recorded as 60 s (and the run is broken anyway).
func micros(d time.Duration) int64 {
	return min(max(d.Microseconds(), histLowest), histHighest)
}

// stripedHist is a histogram many goroutines record into. One histogram per
// receiver would cost ~140 KB each (10,000 receivers: 1.4 GB), one shared
// histogram would make every delivery contend for one lock; a few stripes,
// each with its own lock and chosen by the recorder's index, keep both low.
// The stripes are merged when the run ends.
type stripedHist struct {
	stripes []histStripe
}

type histStripe struct {
	mu  sync.Mutex
	h   *hdrhistogram.Histogram
	max int64 // largest value since the last takeMax, for progress lines
	_   [40]byte
}

func newStripedHist(n int) *stripedHist {
	s := &stripedHist{stripes: make([]histStripe, n)}
	for i := range s.stripes {
		s.stripes[i].h = newHist()
	}
	return s
}

// record adds d to the stripe of key.
func (s *stripedHist) record(key uint32, d time.Duration) {
	st := &s.stripes[int(key)%len(s.stripes)]
	v := micros(d)
	st.mu.Lock()
	st.h.RecordValue(v)
	st.max = max(st.max, v)
	st.mu.Unlock()
}

// takeMax returns the largest value recorded since the last call, in µs.
func (s *stripedHist) takeMax() int64 {
	var m int64
	for i := range s.stripes {
		st := &s.stripes[i]
		st.mu.Lock()
		m = max(m, st.max)
		st.max = 0
		st.mu.Unlock()
	}
	return m
}

// merged returns one histogram holding every stripe's values.
func (s *stripedHist) merged() *hdrhistogram.Histogram {
	h := newHist()
	for i := range s.stripes {
		st := &s.stripes[i]
		st.mu.Lock()
		h.Merge(st.h)
		st.mu.Unlock()
	}
	return h
}

// exportHist returns h as a snapshot for JSON, without the trailing empty
// buckets (most of them: the range reaches 60 s), which Import restores.
func exportHist(h *hdrhistogram.Histogram) *hdrhistogram.Snapshot {
	s := h.Export()
	n := len(s.Counts)
	for n > 0 && s.Counts[n-1] == 0 {
		n--
	}
	s.Counts = s.Counts[:n]
	return s
}

// importHist is the inverse of exportHist; a nil or invalid snapshot gives
// an empty histogram.
func importHist(s *hdrhistogram.Snapshot) *hdrhistogram.Histogram {
	if s == nil || s.Validate() != nil {
		return newHist()
	}
	return hdrhistogram.Import(s)
}

// mergeSnapshots returns the snapshot of a and b merged.
func mergeSnapshots(a, b *hdrhistogram.Snapshot) *hdrhistogram.Snapshot {
	if b == nil {
		return a
	}
	if a == nil {
		return b
	}
	h := importHist(a)
	h.Merge(importHist(b))
	return exportHist(h)
}

// Percentiles summarise one histogram, in milliseconds.
type Percentiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

func summarize(s *hdrhistogram.Snapshot) Percentiles {
	h := importHist(s)
	ms := func(us int64) float64 { return float64(us) / 1000 }
	if h.TotalCount() == 0 {
		return Percentiles{}
	}
	return Percentiles{
		Count: h.TotalCount(),
		P50:   ms(h.ValueAtPercentile(50)),
		P90:   ms(h.ValueAtPercentile(90)),
		P99:   ms(h.ValueAtPercentile(99)),
		P999:  ms(h.ValueAtPercentile(99.9)),
		Max:   ms(h.Max()),
	}
}
