package pipeline

import (
	"bytes"
	"testing"

	"github.com/audicia/audicia/internal/audit"
	"github.com/audicia/audicia/test/bench"
)

// BenchmarkObserve feeds decoded events of a realistic log through the
// pipeline: the part of an analysis that runs on one goroutine.
func BenchmarkObserve(b *testing.B) {
	var buf bytes.Buffer
	if _, err := bench.Generate(&buf, 100000, 1); err != nil {
		b.Fatal(err)
	}
	var events []audit.Event
	if _, err := audit.Stream(&buf, audit.StreamOptions{Workers: 1}, func(batch []audit.Event) {
		events = append(events, batch...)
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := New(Options{IgnoreSystemUsers: true, MigrateDeprecatedGroups: true})
		if err != nil {
			b.Fatal(err)
		}
		for i := range events {
			p.Observe(&events[i])
		}
	}
	b.ReportMetric(float64(len(events))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
