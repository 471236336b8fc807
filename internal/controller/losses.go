package controller

import (
	"time"

	"github.com/audicia/audicia/api/v1alpha1"
)

// lossWindow is how long a loss keeps a source Degraded: the condition says
// what is going wrong now, the counters what went wrong ever.
const lossWindow = 10 * time.Minute

// losses follows the dropped and malformed counters over the loss window.
type losses struct {
	samples []lossSample
}

type lossSample struct {
	at                 time.Time
	dropped, malformed int64
}

// add records the counters at a moment and returns how much each grew over
// the window before it.
func (l *losses) add(at time.Time, c v1alpha1.SourceCounters) (dropped, malformed int64) {
	l.samples = append(l.samples, lossSample{at: at, dropped: c.Dropped, malformed: c.Malformed})
	// The baseline is the newest sample at or before the window's start.
	start := 0
	for i, s := range l.samples {
		if !s.at.After(at.Add(-lossWindow)) {
			start = i
		}
	}
	l.samples = l.samples[start:]
	base := l.samples[0]
	return c.Dropped - base.dropped, c.Malformed - base.malformed
}
