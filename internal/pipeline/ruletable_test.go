package pipeline

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRuleTableAgreesWithMap fills tables with atoms in random order, from
// few small numbers (as a young atom table hands out) to many large ones,
// and checks every lookup against a map, across growth and rebuilds that
// drop and renumber rules.
func TestRuleTableAgreesWithMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, spread := range []uint32{64, 4096, 1 << 31} {
		var x ruleTable
		want := map[atomID]int64{}
		for step := range 20000 {
			if step%5000 == 4999 {
				// Drop the odd counts; move the rest to the atom after.
				x.rebuild(len(x.slots), func(rs *ruleStats) (atomID, bool) { return rs.atom() + 1, rs.count%2 == 0 })
				moved := map[atomID]int64{}
				for id, count := range want {
					if count%2 == 0 {
						moved[id+1] = count
					}
				}
				want = moved
			}
			id := atomID(rng.Uint32N(spread))
			rs := x.get(id)
			wantCount, wantFound := want[id]
			require.Equal(t, wantFound, rs != nil, "atom %d", id)
			if rs == nil {
				rs = x.add(id)
				rs.count = int64(rng.Int32())
				want[id] = rs.count
			} else {
				require.Equal(t, wantCount, rs.count, "atom %d", id)
				require.Equal(t, id, rs.atom())
			}
		}
		require.Equal(t, len(want), x.n)
		seen := 0
		x.each(func(rs *ruleStats) {
			seen++
			require.Equal(t, want[rs.atom()], rs.count)
		})
		require.Equal(t, len(want), seen)
	}
}
