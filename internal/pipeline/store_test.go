package pipeline

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/audit"
	"github.com/audicia/audicia/internal/policy"
)

// TestTargetMemo holds the memo of targets to atomOf on events made of a
// few shared strings and of copies of them, so that hits, misses, slots
// taken over and equal strings in other places all occur; and checks that
// what the memo does not key on does not change the atom.
func TestTargetMemo(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	pick := func(values ...string) string {
		v := values[r.IntN(len(values))]
		if r.IntN(4) == 0 {
			v = strings.Clone(v) // equal, elsewhere
		}
		return v
	}
	atoms := newAtomTable()
	var memo targetMemo
	for range 100000 {
		ev := audit.Event{Verb: pick("get", "list", "create", "frobnicate", "")}
		if r.IntN(5) == 0 {
			ev.RequestPath = pick("/healthz", "/metrics", "", "nope")
		} else {
			ev.HasObjectRef = true
			ev.ObjectRef = audit.ObjectRef{
				APIGroup:    pick("", "apps", "extensions"),
				Resource:    pick("pods", "deployments", "namespaces", "ingresses", ""),
				Subresource: pick("", "", "status", "exec"),
				Namespace:   pick("", "a", "b"),
			}
		}
		want, wantOK := atomOf(&ev, true)
		// Fields the memo does not key on.
		ev.ObjectRef.Name, ev.Code, ev.Decision = pick("x", "y"), int32(r.IntN(500)), audit.Decision(r.IntN(3))
		ev.User.Username, ev.Stage, ev.RequestReceivedNanos = pick("u", "v"), audit.Stage(r.IntN(5)), r.Int64()
		got, gotOK := atomOf(&ev, true)
		require.Equal(t, want, got)
		require.Equal(t, wantOK, gotOK)

		tgt := memo.target(&ev, atoms, true)
		require.Equal(t, wantOK, tgt.ok, "%+v", ev)
		if wantOK {
			require.Equal(t, want, tgt.atom, "%+v", ev)
			require.Equal(t, policy.NamesApply(want.Verb, want.Resource), tgt.namesApply)
			// Numbered once, in the memo's table.
			if !tgt.numbered {
				tgt.id, tgt.numbered = atoms.id(tgt.atom), true
			}
			require.Equal(t, want, atoms.atoms[tgt.id], "%+v", ev)
		}
		// A new table (forgotten rules renumber the atoms) empties the memo.
		if r.IntN(1000) == 0 {
			atoms = newAtomTable()
		}
	}
}

// TestIgnoredRequestsTakeNoAtoms checks that requests the filters drop, or
// the limits, leave nothing in the atom table: a long-running operator
// would otherwise keep every target it ever ignored.
func TestIgnoredRequestsTakeNoAtoms(t *testing.T) {
	p, err := New(Options{
		Filters:            []v1alpha1.FilterRule{{Action: v1alpha1.FilterActionDeny, Namespace: "ci-.*"}},
		MaxSubjects:        1,
		MaxRulesPerSubject: 2,
	})
	require.NoError(t, err)
	for i := range 3000 {
		ns := fmt.Sprintf("ci-%d", i)
		if i%3 == 0 {
			ns = fmt.Sprintf("app-%d", i) // kept by the filter, dropped by a limit past the first
		}
		p.Observe(&audit.Event{
			AuditID: audit.ID{byte(i), byte(i >> 8), 1}, Stage: audit.StageResponseComplete, Code: 200,
			Verb: "get", HasObjectRef: true, ObjectRef: audit.ObjectRef{Resource: "pods", Namespace: ns},
			User: audit.UserInfo{Username: fmt.Sprintf("user-%d", i%20)},
		})
	}
	c := p.Counters()
	require.Equal(t, int64(2), c.Processed, "the first subject's two rules")
	require.Equal(t, int64(2000), c.Filtered)
	require.Equal(t, int64(998), c.Dropped)
	require.Len(t, p.store.atoms.atoms, 2)
}
