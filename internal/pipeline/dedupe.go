package pipeline

import "github.com/audicia/audicia/internal/audit"

// dedupe remembers recent audit IDs in two generations: when the current one
// fills up it becomes the previous one and the oldest is forgotten. Memory is
// bounded by 2*size IDs, and a request's stages, written close together, are
// still recognised.
type dedupe struct {
	size      int
	cur, prev map[audit.ID]struct{}
}

func newDedupe(size int) *dedupe {
	return &dedupe{size: size, cur: make(map[audit.ID]struct{}, size)}
}

// seen reports whether id was seen before, and remembers it.
func (d *dedupe) seen(id audit.ID) bool {
	if _, ok := d.cur[id]; ok {
		return true
	}
	if _, ok := d.prev[id]; ok {
		return true
	}
	if len(d.cur) >= d.size {
		if d.prev == nil {
			d.prev = make(map[audit.ID]struct{}, d.size)
		}
		d.prev, d.cur = d.cur, d.prev
		clear(d.cur)
	}
	d.cur[id] = struct{}{}
	return false
}
