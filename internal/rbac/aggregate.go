package rbac

import (
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// resolveClusterRoles returns the rules of every ClusterRole by name, with
// aggregationRule resolved as Kubernetes' aggregation controller fills it,
// whether or not a controller has: the rules of every other ClusterRole whose
// labels match one of the selectors, transitively (an aggregated role may be
// aggregated into another) and safe against cycles. Rules already on an
// aggregated role are kept and come first; the others follow by role name;
// duplicates are dropped.
func resolveClusterRoles(in []rbacv1.ClusterRole) map[string][]rbacv1.PolicyRule {
	sorted := make([]*rbacv1.ClusterRole, len(in))
	for i := range in {
		sorted[i] = &in[i]
	}
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })

	// edges[i] are the roles aggregated directly into role i.
	edges := make(map[int][]int)
	for i, cr := range sorted {
		if cr.AggregationRule == nil {
			continue
		}
		var sels []labels.Selector
		for j := range cr.AggregationRule.ClusterRoleSelectors {
			// An empty selector selects every ClusterRole, as in Kubernetes'
			// controller. An invalid one (which the controller stops at,
			// leaving the role as it was) selects nothing here.
			if sel, err := metav1.LabelSelectorAsSelector(&cr.AggregationRule.ClusterRoleSelectors[j]); err == nil {
				sels = append(sels, sel)
			}
		}
		for j, other := range sorted {
			if j != i && matchesAny(sels, other.Labels) {
				edges[i] = append(edges[i], j)
			}
		}
	}

	out := make(map[string][]rbacv1.PolicyRule, len(sorted))
	for i, cr := range sorted {
		if _, ok := edges[i]; !ok {
			out[cr.Name] = copyRules(cr.Rules)
			continue
		}
		// Every role reachable from i, each once (the visited set makes
		// cycles harmless).
		reached := map[int]bool{i: true}
		queue := []int{i}
		for len(queue) > 0 {
			n := queue[0]
			queue = queue[1:]
			for _, m := range edges[n] {
				if !reached[m] {
					reached[m] = true
					queue = append(queue, m)
				}
			}
		}
		order := make([]int, 0, len(reached))
		for n := range reached {
			if n != i {
				order = append(order, n)
			}
		}
		sort.Ints(order) // by role name
		rules := copyRules(cr.Rules)
		seen := map[string]bool{}
		for _, r := range rules {
			seen[ruleKey(r)] = true
		}
		for _, n := range order {
			for _, r := range sorted[n].Rules {
				if k := ruleKey(r); !seen[k] {
					seen[k] = true
					rules = append(rules, *r.DeepCopy())
				}
			}
		}
		out[cr.Name] = rules
	}
	return out
}

func matchesAny(sels []labels.Selector, l map[string]string) bool {
	set := labels.Set(l)
	for _, s := range sels {
		if s.Matches(set) {
			return true
		}
	}
	return false
}
