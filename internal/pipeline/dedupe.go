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
//
// Every event goes through it, so each generation is an open-addressing
// table of the 16-byte IDs themselves, probed linearly, several times cheaper
// than a map. Beside each slot is a one-byte tag from the ID's hash (zero for
// an empty slot): most IDs looked up are new, and probing the small tags
// tells so without loading the large slots. Both generations hash an ID to
// the same slot and keep their tags side by side, so that the two lookups
// of a new ID read the same memory.
//
// Long-running requests counted when they started are remembered apart
// until they end (see seenStage).
type dedupe struct {
	// started holds the audit IDs of long-running requests (watches, exec)
	// counted at their ResponseStarted stage, until their ResponseComplete
	// comes: a watch may outlast the IDs the generations remember.
	started map[audit.ID]struct{}
	// startedBits has the bit of every ID in started set (and of some gone
	// since), so that the end of a request that did not start long ago,
	// most of them, is told without a lookup in the map. It is set again
	// from started every startedRebuild starts.
	startedBits [startedBitWords]uint64
	// startsToBits counts the starts left before startedBits is set again.
	startsToBits int
	size         int
	shift        uint // 64 - log2(slots)
	// tags holds, for each slot, the tag of generation 0 in the low byte and
	// of generation 1 in the high byte.
	tags []uint16
	ids  [2][]audit.ID
	n    [2]int
	cur  int // the current generation
}

// newDedupe returns a dedupe whose tables are made when the first ID comes:
// a pipeline that is drained, or never fed, holds none.
func newDedupe(size int) *dedupe { return &dedupe{size: size} }

// seen reports whether id was seen before, and remembers it. The zero ID,
// of an event without one, marks an empty slot: it is never passed.
func (d *dedupe) seen(id audit.ID) bool { return d.seenHashed(id, hashID(id)) }

// seenHashed is seen for an ID whose hashID is h.
func (d *dedupe) seenHashed(id audit.ID, h uint64) bool {
	if d.tags == nil {
		d.alloc()
	}
	tag := uint8(h>>24) | 1 // bits that do not choose the slot; never 0
	home := int(h >> d.shift)
	slot, found := d.find(d.cur, home, tag, id)
	if found {
		return true
	}
	if _, found := d.find(1-d.cur, home, tag, id); found {
		return true
	}
	if d.flipIfFull() {
		slot, _ = d.find(d.cur, home, tag, id)
	}
	d.ids[d.cur][slot] = id
	d.tags[slot] |= uint16(tag) << (8 * d.cur)
	d.n[d.cur]++
	return false
}

// maxStarted bounds the long-running requests remembered, far more than a
// cluster holds open at once; when it is reached (their ends were never
// logged) they are forgotten.
const maxStarted = 1 << 16

const (
	startedBitWords = 1 << 10 // 65,536 bits
	startedRebuild  = 1 << 13
)

// seenStage is seen for an event at a counted stage: it also tells the end
// of a long-running request from a new one, however long ago it started.
func (d *dedupe) seenStage(id audit.ID, stage audit.Stage) bool {
	h := hashID(id)
	word, bit := startedBit(h)
	if d.seenHashed(id, h) {
		if stage != audit.StageResponseStarted && d.startedBits[word]&bit != 0 {
			delete(d.started, id)
		}
		return true
	}
	if stage == audit.StageResponseStarted {
		if d.started == nil || len(d.started) >= maxStarted {
			d.started = make(map[audit.ID]struct{})
		}
		d.started[id] = struct{}{}
		if d.startsToBits--; d.startsToBits <= 0 {
			d.rebuildStartedBits()
		}
		d.startedBits[word] |= bit
		return false
	}
	if d.startedBits[word]&bit == 0 {
		return false
	}
	if _, ok := d.started[id]; ok {
		delete(d.started, id)
		return true
	}
	return false
}

// startedBit places the ID whose hashID is h in startedBits.
func startedBit(h uint64) (word int, bit uint64) {
	h >>= 64 - 16
	return int(h / 64), 1 << (h % 64)
}

// rebuildStartedBits sets startedBits from the requests still open.
func (d *dedupe) rebuildStartedBits() {
	d.startedBits = [startedBitWords]uint64{}
	for id := range d.started {
		word, bit := startedBit(hashID(id))
		d.startedBits[word] |= bit
	}
	d.startsToBits = startedRebuild
}

// alloc makes tables for size IDs per generation, at most half full so that
// probe sequences stay short.
func (d *dedupe) alloc() {
	logSlots := max(bits.Len(uint(2*d.size-1)), 3)
	d.shift = uint(64 - logSlots)
	d.tags = make([]uint16, 1<<logSlots)
	d.ids = [2][]audit.ID{make([]audit.ID, 1<<logSlots), make([]audit.ID, 1<<logSlots)}
}

// find returns the slot of generation gen holding id, or the empty slot
// where it would go.
func (d *dedupe) find(gen, home int, tag uint8, id audit.ID) (slot int, found bool) {
	mask := len(d.tags) - 1
	shift := 8 * gen
	for i := home; ; i = (i + 1) & mask {
		switch uint8(d.tags[i] >> shift) {
		case 0:
			return i, false
		case tag:
			if d.ids[gen][i] == id {
				return i, true
			}
		}
	}
}

// flipIfFull makes the previous generation, emptied, the current one when
// the current one holds size IDs.
func (d *dedupe) flipIfFull() bool {
	if d.n[d.cur] < d.size {
		return false
	}
	d.cur = 1 - d.cur
	keep := uint16(0xff) << (8 * (1 - d.cur))
	for i := range d.tags {
		d.tags[i] &= keep
	}
	d.n[d.cur] = 0
	return true
}

// len is how many IDs are remembered.
func (d *dedupe) len() int { return d.n[0] + d.n[1] }

// hashID spreads IDs over the table. Real IDs are random, but test and
// hand-made ones may differ in a byte or two: a Fibonacci hash of both
// halves spreads them.
func hashID(id audit.ID) uint64 {
	h := binary.LittleEndian.Uint64(id[:8]) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(id[8:]), 31)
	return h * 0x9e3779b97f4a7c15
}
