package pipeline

import "math/bits"

// ruleTable holds a subject's rules, found by their atom. Every counted
// request looks one up, so it is a flat open-addressing table of the rules
// themselves, probed linearly, cheaper than a map: one multiplication to
// hash, and the probe reads the rule it finds, where a separate index would
// make it two places in memory. It is at most three quarters full.
type ruleTable struct {
	slots []ruleStats // a slot whose key is 0 is empty
	n     int
}

// smallestRuleTable is the size of a subject's first table: most subjects
// have few rules.
const smallestRuleTable = 8

func (t *ruleTable) home(id atomID) int {
	return int((uint32(id) * 0x9e3779b9) >> (32 - bits.TrailingZeros(uint(len(t.slots)))))
}

// get returns the rule of the atom, or nil.
func (t *ruleTable) get(id atomID) *ruleStats {
	if len(t.slots) == 0 {
		return nil
	}
	key := uint32(id) + 1
	mask := len(t.slots) - 1
	for i := t.home(id); ; i = (i + 1) & mask {
		switch t.slots[i].key {
		case key:
			return &t.slots[i]
		case 0:
			return nil
		}
	}
}

// add adds an empty rule for an atom that has none yet. The rule's place
// holds until the next add.
func (t *ruleTable) add(id atomID) *ruleStats {
	if 4*(t.n+1) > 3*len(t.slots) {
		t.rebuild(2*len(t.slots), func(rs *ruleStats) (atomID, bool) { return rs.atom(), true })
	}
	mask := len(t.slots) - 1
	i := t.home(id)
	for t.slots[i].key != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = ruleStats{key: uint32(id) + 1}
	t.n++
	return &t.slots[i]
}

// rebuild makes the table again, of at least size slots, from the rules
// keep keeps, each under the atom it returns.
func (t *ruleTable) rebuild(size int, keep func(*ruleStats) (atomID, bool)) {
	old := t.slots
	t.slots, t.n = make([]ruleStats, max(smallestRuleTable, size)), 0
	for i := range old {
		if old[i].key == 0 {
			continue
		}
		if id, ok := keep(&old[i]); ok {
			rs := t.add(id)
			key := rs.key
			*rs = old[i]
			rs.key = key
		}
	}
}

// each calls fn with every rule, in no particular order.
func (t *ruleTable) each(fn func(*ruleStats)) {
	for i := range t.slots {
		if t.slots[i].key != 0 {
			fn(&t.slots[i])
		}
	}
}
