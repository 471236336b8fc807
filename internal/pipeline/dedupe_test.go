package pipeline

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/audicia/audicia/internal/audit"
)

// mapDedupe is dedupe's behaviour written with maps: two generations of
// IDs, the older forgotten when the newer holds size.
type mapDedupe struct {
	size      int
	cur, prev map[audit.ID]bool
}

func (m *mapDedupe) seen(id audit.ID) bool {
	if m.cur[id] || m.prev[id] {
		return true
	}
	if len(m.cur) >= m.size {
		m.prev, m.cur = m.cur, map[audit.ID]bool{}
	}
	m.cur[id] = true
	return false
}

func TestDedupeAgreesWithMaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	// A pool of IDs drawn from again and again: random ones, and hand-made
	// ones that differ in one byte.
	var pool []audit.ID
	for i := range 3000 {
		var id audit.ID
		if i%3 == 0 {
			id[i%16] = byte(i/16) + 1
		} else {
			for j := range id {
				id[j] = byte(rng.Uint32())
			}
		}
		pool = append(pool, id)
	}
	for _, size := range []int{1, 7, 100, 1000} {
		d := newDedupe(size)
		m := &mapDedupe{size: size, cur: map[audit.ID]bool{}, prev: map[audit.ID]bool{}}
		for i := range 200000 {
			id := pool[rng.IntN(len(pool))]
			require.Equal(t, m.seen(id), d.seen(id), "size %d, event %d, id %s", size, i, id)
		}
	}
}

// TestStartedRequestsAcrossRebuilds opens more long-running requests than
// the bits of startedBits are set again after, with a window of two IDs:
// each end is told from the start it belongs to, and ends without a start
// are new requests.
func TestStartedRequestsAcrossRebuilds(t *testing.T) {
	d := newDedupe(2)
	id := func(i int) audit.ID { return audit.ID{1, byte(i), byte(i >> 8), byte(i >> 16)} }
	n := 3 * startedRebuild
	for i := range n {
		require.False(t, d.seenStage(id(i), audit.StageResponseStarted), "start of %d", i)
	}
	for i := range n {
		require.True(t, d.seenStage(id(i), audit.StageResponseComplete), "end of %d", i)
		require.False(t, d.seenStage(id(n+i), audit.StageResponseComplete), "a request that did not start long ago: %d", n+i)
	}
	require.Empty(t, d.started)
}
