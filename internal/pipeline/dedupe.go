package pipeline

import (
	"encoding/binary"
	"math/bits"

	"github.com/audicia/audicia/internal/audit"
)

// dedupe remembers recent audit IDs in two generations: when the current one
// fills up it becomes the previous one and the oldest is forgotten. Memory is
// bounded by 2*size IDs, and a request's stages, written close together, are
// still recognised.
type dedupe struct {
	size      int
	cur, prev idSet
}

// newDedupe returns a dedupe whose tables are made when the first ID comes:
// a pipeline that is drained, or never fed, holds none.
func newDedupe(size int) *dedupe { return &dedupe{size: size} }

// seen reports whether id was seen before, and remembers it.
func (d *dedupe) seen(id audit.ID) bool {
	if d.cur.slots == nil {
		d.cur, d.prev = newIDSet(d.size), newIDSet(d.size)
	}
	slot, tag, found := d.cur.find(id)
	if found || d.prev.contains(id) {
		return true
	}
	if d.cur.len() >= d.size {
		d.prev, d.cur = d.cur, d.prev
		d.cur.reset()
		slot, tag, _ = d.cur.find(id)
	}
	d.cur.insert(slot, tag, id)
	return false
}

// idSet is a set of audit IDs in an open-addressing table. Every event goes
// through it, and a table of the 16-byte IDs themselves, probed linearly, is
// several times cheaper than a map. Beside each slot is a one-byte tag from
// the ID's hash (zero for an empty slot): most IDs looked up are new, and
// probing the small tags, which stay in cache, tells so without loading the
// large slots. The zero ID marks an empty slot, so it is kept aside.
type idSet struct {
	slots   []audit.ID
	tags    []uint8
	shift   uint // 64 - log2(len(slots))
	n       int
	hasZero bool
}

// newIDSet makes a set for up to size IDs, at most half full so that probe
// sequences stay short.
func newIDSet(size int) idSet {
	logSlots := max(bits.Len(uint(2*size-1)), 3)
	return idSet{slots: make([]audit.ID, 1<<logSlots), tags: make([]uint8, 1<<logSlots), shift: uint(64 - logSlots)}
}

func (s *idSet) len() int { return s.n }

// hash spreads IDs over the table. Real IDs are random, but test and
// hand-made ones may differ in a byte or two: a Fibonacci hash of both
// halves spreads them.
func hash(id audit.ID) uint64 {
	h := binary.LittleEndian.Uint64(id[:8]) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(id[8:]), 31)
	return h * 0x9e3779b97f4a7c15
}

// find returns the slot holding id, or the empty slot where it would go,
// with the tag of id.
func (s *idSet) find(id audit.ID) (slot int, tag uint8, found bool) {
	if id.IsZero() {
		return -1, 0, s.hasZero
	}
	h := hash(id)
	tag = uint8(h>>24) | 1 // bits that do not choose the slot; never 0
	mask := len(s.slots) - 1
	for i := int(h >> s.shift); ; i = (i + 1) & mask {
		switch s.tags[i] {
		case 0:
			return i, tag, false
		case tag:
			if s.slots[i] == id {
				return i, tag, true
			}
		}
	}
}

func (s *idSet) contains(id audit.ID) bool {
	_, _, found := s.find(id)
	return found
}

// insert puts id, not yet in the set, into the slot find returned for it.
func (s *idSet) insert(slot int, tag uint8, id audit.ID) {
	if slot < 0 {
		s.hasZero = true
	} else {
		s.slots[slot], s.tags[slot] = id, tag
	}
	s.n++
}

func (s *idSet) reset() {
	clear(s.tags)
	s.n, s.hasZero = 0, false
}
