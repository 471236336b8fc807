package rbac

import (
	"fmt"
	"testing"

	"github.com/audicia/audicia/api/v1alpha1"
)

// benchSnapshot is a large cluster: 500 namespaces with 4 RoleBindings each,
// 300 ClusterRoles (20 aggregated), 400 ClusterRoleBindings.
func benchSnapshot() Snapshot {
	var s Snapshot
	for i := 0; i < 300; i++ {
		var agg []map[string]string
		labels := map[string]string{fmt.Sprintf("agg-%d", i%20): "true"}
		if i < 20 {
			agg = []map[string]string{{fmt.Sprintf("agg-%d", i): "true"}}
			labels = nil
		}
		s.ClusterRoles = append(s.ClusterRoles, clusterRole(fmt.Sprintf("cr-%d", i), labels, agg, getPods, listSecrets))
	}
	for i := 0; i < 400; i++ {
		s.ClusterRoleBindings = append(s.ClusterRoleBindings, crb(fmt.Sprintf("crb-%d", i), fmt.Sprintf("cr-%d", i%300),
			usr(fmt.Sprintf("user-%d", i)), grp(fmt.Sprintf("team-%d", i%50))))
	}
	for n := 0; n < 500; n++ {
		ns := fmt.Sprintf("ns-%d", n)
		s.Roles = append(s.Roles, role(ns, "app", getDeploy))
		for j := 0; j < 4; j++ {
			s.RoleBindings = append(s.RoleBindings, rb(ns, fmt.Sprintf("rb-%d", j), "Role", "app", sa("", fmt.Sprintf("sa-%d", j))))
		}
	}
	return s
}

func BenchmarkNewIndex(b *testing.B) {
	s := benchSnapshot()
	b.ReportAllocs()
	for b.Loop() {
		NewIndex(s)
	}
}

func BenchmarkGrants(b *testing.B) {
	ix := NewIndex(benchSnapshot())
	subject := v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "ns-7", Name: "sa-1"}
	groups := []string{"team-3", "team-9"}
	b.ReportAllocs()
	for b.Loop() {
		if len(ix.Grants(subject, groups)) == 0 {
			b.Fatal("no grants")
		}
	}
}
