package pipeline

import (
	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/audit"
)

// A file source can read lines again after a restart: it resumes at its
// checkpoint, which may lie before what some reports already counted (a
// report is written before the checkpoint moves past it). Each report says
// how far the source had read when it was written; replayed requests up to
// that position are already in it and must not be counted twice.

// ObserveAt is Observe for an event of a file source, read at pos: the
// position just after its line.
func (p *Pipeline) ObserveAt(ev *audit.Event, pos v1alpha1.FilePosition) {
	p.pos, p.positioned = pos, true
	p.Observe(ev)
	p.positioned = false
}

// RestoreAt is Restore for a report written when its file source had read up
// to covered: the requests of the subject read at or before covered are in
// the report already.
func (p *Pipeline) RestoreAt(r SubjectReport, covered v1alpha1.FilePosition) {
	p.Restore(r)
	if p.covered == nil {
		p.covered = make(map[v1alpha1.Subject]v1alpha1.FilePosition)
	}
	if old, ok := p.covered[r.Subject]; !ok || old.Less(covered) {
		p.covered[r.Subject] = covered
	}
}

// alreadyCounted reports whether the request being observed is in a restored
// report of the subject.
func (p *Pipeline) alreadyCounted(s v1alpha1.Subject) bool {
	if !p.positioned || len(p.covered) == 0 {
		return false
	}
	covered, ok := p.covered[s]
	return ok && !covered.Less(p.pos)
}
