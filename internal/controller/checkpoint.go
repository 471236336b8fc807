package controller

import (
	"github.com/audicia/audicia/api/v1alpha1"
)

// flushPoint is what was true at a flush of a file source: where it had read
// and the counters then.
type flushPoint struct {
	checkpoint v1alpha1.FileCheckpoint
	counters   v1alpha1.SourceCounters
}

// checkpoints remembers recent flush points. The checkpoint written to the
// source must not pass a report that still lacks counts (a crash would lose
// them), and the counters written with it must be those of that very point
// (a restart replays what follows and counts it again).
type checkpoints struct {
	points []flushPoint
}

// add records a flush point; points arrive in reading order.
func (c *checkpoints) add(p flushPoint) {
	if n := len(c.points); n > 0 && c.points[n-1].checkpoint.Position == p.checkpoint.Position {
		c.points[n-1] = p
		return
	}
	c.points = append(c.points, p)
}

// safe returns the latest point at or before limit and forgets the older
// ones: the point a restart can resume from without losing or doubling a
// count. ok is false when no point is that old.
func (c *checkpoints) safe(limit v1alpha1.FilePosition) (p flushPoint, ok bool) {
	i := -1
	for j := range c.points {
		if limit.Less(c.points[j].checkpoint.Position) {
			break
		}
		i = j
	}
	if i < 0 {
		return flushPoint{}, false
	}
	c.points = c.points[i:]
	return c.points[0], true
}
