package pipeline

import "math/bits"

// ruleIndex finds a subject's rule by its atom. Every counted request looks
// one up, so it is a flat open-addressing table of packed (atom, position)
// pairs probed linearly, cheaper than a map: one multiplication to hash, one
// word to compare per probe. It is at most half full.
type ruleIndex struct {
	slots []uint64 // atom+1 in the high half, position in the low; 0 is empty
	n     int
}

// smallestIndex is the size of a subject's first table: most subjects have
// few rules.
const smallestIndex = 8

func (x *ruleIndex) home(id atomID) int {
	return int((uint32(id) * 0x9e3779b9) >> (32 - bits.TrailingZeros(uint(len(x.slots)))))
}

// get returns the position of the atom's rule.
func (x *ruleIndex) get(id atomID) (int32, bool) {
	if len(x.slots) == 0 {
		return 0, false
	}
	key := uint64(id) + 1
	mask := len(x.slots) - 1
	for i := x.home(id); ; i = (i + 1) & mask {
		switch slot := x.slots[i]; slot >> 32 {
		case key:
			return int32(uint32(slot)), true
		case 0:
			return 0, false
		}
	}
}

// put adds the position of a rule whose atom is not in the index yet.
func (x *ruleIndex) put(id atomID, pos int32) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	mask := len(x.slots) - 1
	i := x.home(id)
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = (uint64(id)+1)<<32 | uint64(uint32(pos))
	x.n++
}

func (x *ruleIndex) grow() {
	old := x.slots
	x.slots, x.n = make([]uint64, max(smallestIndex, 2*len(old))), 0
	for _, slot := range old {
		if slot != 0 {
			x.put(atomID(slot>>32-1), int32(uint32(slot)))
		}
	}
}

// reset empties the index and keeps its table.
func (x *ruleIndex) reset() {
	clear(x.slots)
	x.n = 0
}
