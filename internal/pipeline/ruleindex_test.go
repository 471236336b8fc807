package pipeline

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRuleIndexAgreesWithMap fills indexes with atoms in random order, from
// few small numbers (as a young atom table hands out) to many large ones,
// and checks every lookup against a map, across growth and resets.
func TestRuleIndexAgreesWithMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, spread := range []uint32{64, 4096, 1 << 31} {
		var x ruleIndex
		want := map[atomID]int32{}
		for step := range 20000 {
			if step%5000 == 4999 {
				x.reset()
				clear(want)
			}
			id := atomID(rng.Uint32N(spread))
			pos, found := x.get(id)
			wantPos, wantFound := want[id]
			require.Equal(t, wantFound, found, "atom %d", id)
			require.Equal(t, wantPos, pos, "atom %d", id)
			if !found {
				p := int32(rng.Int32())
				x.put(id, p)
				want[id] = p
			}
		}
		require.Equal(t, len(want), x.n)
	}
}
