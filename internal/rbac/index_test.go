package rbac

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/audicia/audicia/api/v1alpha1"
)

func rule(groups, resources, verbs []string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs}
}

func clusterRole(name string, labels map[string]string, agg []map[string]string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	cr := rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Rules: rules}
	if agg != nil {
		cr.AggregationRule = &rbacv1.AggregationRule{}
		for _, l := range agg {
			cr.AggregationRule.ClusterRoleSelectors = append(cr.AggregationRule.ClusterRoleSelectors, metav1.LabelSelector{MatchLabels: l})
		}
	}
	return cr
}

func role(ns, name string, rules ...rbacv1.PolicyRule) rbacv1.Role {
	return rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}
}

func crb(name, roleName string, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: roleName}, Subjects: subjects}
}

func rb(ns, name, roleKind, roleName string, subjects ...rbacv1.Subject) rbacv1.RoleBinding {
	return rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: roleKind, Name: roleName}, Subjects: subjects}
}

func sa(ns, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
}
func usr(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}
func grp(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

var (
	getPods     = rule([]string{""}, []string{"pods"}, []string{"get"})
	listSecrets = rule([]string{""}, []string{"secrets"}, []string{"list"})
	getDeploy   = rule([]string{"apps"}, []string{"deployments"}, []string{"get"})
	ssar        = rule([]string{"authorization.k8s.io"}, []string{"selfsubjectaccessreviews"}, []string{"create"})
	healthz     = rbacv1.PolicyRule{NonResourceURLs: []string{"/healthz"}, Verbs: []string{"get"}}

	svcWeb   = v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "shop", Name: "web"}
	alice    = v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: "alice"}
	devs     = v1alpha1.Subject{Kind: v1alpha1.SubjectKindGroup, Name: "devs"}
	anon     = v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: "system:anonymous"}
	saAsUser = v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: "system:serviceaccount:shop:web"}
)

// granted summarises grants as "binding: rule-resources@namespace[ baseline]".
func granted(gs []Grant) []string {
	var out []string
	for _, g := range gs {
		what := ""
		for _, r := range g.Rule.Resources {
			what += r + ","
		}
		for _, u := range g.Rule.NonResourceURLs {
			what += u + ","
		}
		s := g.Binding.Kind + " " + g.Binding.Name + ": " + what + "@" + g.Namespace
		if g.Baseline {
			s += " baseline"
		}
		out = append(out, s)
	}
	return out
}

func TestGrants(t *testing.T) {
	snap := Snapshot{
		ClusterRoles: []rbacv1.ClusterRole{
			clusterRole("pod-reader", nil, nil, getPods),
			clusterRole("health", nil, nil, healthz),
			clusterRole("basic", nil, nil, ssar),
			clusterRole("secret-lister", nil, nil, listSecrets),
		},
		Roles: []rbacv1.Role{
			role("shop", "deploy-reader", getDeploy),
			role("other", "deploy-reader", listSecrets),
		},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{
			crb("basic", "basic", grp("system:authenticated")),
			crb("anon-health", "health", grp("system:unauthenticated")),
			crb("all-sa", "secret-lister", grp("system:serviceaccounts")),
			crb("alice-pods", "pod-reader", usr("alice")),
			crb("devs-health", "health", grp("devs")),
			crb("sa-no-ns", "pod-reader", sa("", "web")), // names nothing
			crb("ghost", "no-such-role", usr("alice")),
		},
		RoleBindings: []rbacv1.RoleBinding{
			rb("shop", "web-deploy", "Role", "deploy-reader", sa("", "web")),         // namespace defaults to the binding's
			rb("shop", "web-pods", "ClusterRole", "pod-reader", sa("shop", "web")),   // ClusterRole scoped to shop
			rb("other", "web-elsewhere", "Role", "deploy-reader", sa("shop", "web")), // the Role of namespace other
			rb("other", "not-web", "Role", "deploy-reader", sa("", "web")),           // other/web, not shop/web
			rb("shop", "ns-group", "ClusterRole", "health", grp("system:serviceaccounts:shop")),
			rb("shop", "by-username", "ClusterRole", "secret-lister", usr("system:serviceaccount:shop:web")),
			rb("shop", "audit-group", "ClusterRole", "pod-reader", grp("auditors")),
			rb("shop", "missing-role", "Role", "nope", sa("shop", "web")),
		},
	}
	ix := NewIndex(snap)

	tests := map[string]struct {
		subject v1alpha1.Subject
		groups  []string
		want    []string
		missing []string
	}{
		"ServiceAccount: own, defaulted namespace, implicit groups, username": {
			subject: svcWeb,
			want: []string{
				"ClusterRoleBinding all-sa: secrets,@",
				"ClusterRoleBinding basic: selfsubjectaccessreviews,@ baseline",
				"RoleBinding web-elsewhere: secrets,@other",
				"RoleBinding by-username: secrets,@shop",
				"RoleBinding ns-group: /healthz,@shop",
				"RoleBinding web-deploy: deployments,@shop",
				"RoleBinding web-pods: pods,@shop",
			},
			missing: []string{"RoleBinding shop/missing-role -> Role nope"},
		},
		"ServiceAccount with an audit group": {
			subject: svcWeb, groups: []string{"auditors", "system:serviceaccounts"},
			want: []string{
				"ClusterRoleBinding all-sa: secrets,@",
				"ClusterRoleBinding basic: selfsubjectaccessreviews,@ baseline",
				"RoleBinding web-elsewhere: secrets,@other",
				"RoleBinding audit-group: pods,@shop",
				"RoleBinding by-username: secrets,@shop",
				"RoleBinding ns-group: /healthz,@shop",
				"RoleBinding web-deploy: deployments,@shop",
				"RoleBinding web-pods: pods,@shop",
			},
			missing: []string{"RoleBinding shop/missing-role -> Role nope"},
		},
		"User by name, group from audit events, missing role visible": {
			subject: alice, groups: []string{"devs", "system:authenticated"},
			want: []string{
				"ClusterRoleBinding alice-pods: pods,@",
				"ClusterRoleBinding basic: selfsubjectaccessreviews,@ baseline",
				"ClusterRoleBinding devs-health: /healthz,@",
			},
			missing: []string{"ClusterRoleBinding ghost -> ClusterRole no-such-role"},
		},
		"User without groups still in system:authenticated": {
			subject: alice,
			want: []string{
				"ClusterRoleBinding alice-pods: pods,@",
				"ClusterRoleBinding basic: selfsubjectaccessreviews,@ baseline",
			},
			missing: []string{"ClusterRoleBinding ghost -> ClusterRole no-such-role"},
		},
		"anonymous is unauthenticated, not authenticated": {
			subject: anon,
			want:    []string{"ClusterRoleBinding anon-health: /healthz,@ baseline"},
		},
		"Group report: bindings naming the group plus the baseline": {
			subject: devs, groups: []string{"ignored-for-groups"},
			want: []string{
				"ClusterRoleBinding basic: selfsubjectaccessreviews,@ baseline",
				"ClusterRoleBinding devs-health: /healthz,@",
			},
		},
		"User named like a ServiceAccount is that ServiceAccount": {
			subject: saAsUser,
			want: []string{
				"ClusterRoleBinding all-sa: secrets,@",
				"ClusterRoleBinding basic: selfsubjectaccessreviews,@ baseline",
				"RoleBinding web-elsewhere: secrets,@other",
				"RoleBinding by-username: secrets,@shop",
				"RoleBinding ns-group: /healthz,@shop",
				"RoleBinding web-deploy: deployments,@shop",
				"RoleBinding web-pods: pods,@shop",
			},
			missing: []string{"RoleBinding shop/missing-role -> Role nope"},
		},
		"unknown user holds only the baseline": {
			subject: v1alpha1.Subject{Kind: v1alpha1.SubjectKindUser, Name: "bob"},
			want:    []string{"ClusterRoleBinding basic: selfsubjectaccessreviews,@ baseline"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, granted(ix.Grants(tc.subject, tc.groups)))
			var missing []string
			for _, m := range ix.MissingRoles(tc.subject, tc.groups) {
				missing = append(missing, m.String())
			}
			assert.Equal(t, tc.missing, missing)
		})
	}
}

func TestGrantsDeterministic(t *testing.T) {
	snap := Snapshot{
		ClusterRoles: []rbacv1.ClusterRole{clusterRole("a", nil, nil, getPods, listSecrets), clusterRole("b", nil, nil, getDeploy)},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{
			crb("z", "b", usr("alice")), crb("a", "a", usr("alice")), crb("m", "a", grp("devs"), usr("alice")),
		},
	}
	want := granted(NewIndex(snap).Grants(alice, []string{"devs"}))
	require.Equal(t, []string{
		"ClusterRoleBinding a: pods,@", "ClusterRoleBinding a: secrets,@",
		"ClusterRoleBinding m: pods,@", "ClusterRoleBinding m: secrets,@",
		"ClusterRoleBinding z: deployments,@",
	}, want)
	snap.ClusterRoleBindings[0], snap.ClusterRoleBindings[2] = snap.ClusterRoleBindings[2], snap.ClusterRoleBindings[0]
	snap.ClusterRoles[0], snap.ClusterRoles[1] = snap.ClusterRoles[1], snap.ClusterRoles[0]
	assert.Equal(t, want, granted(NewIndex(snap).Grants(alice, []string{"devs", "devs"})))
}

func TestAggregation(t *testing.T) {
	agg := func(l string) map[string]string { return map[string]string{l: "true"} }
	tests := map[string]struct {
		roles []rbacv1.ClusterRole
		role  string
		want  []string // resources of the resolved rules, in order
	}{
		"unfilled aggregated role gets the matching roles' rules": {
			roles: []rbacv1.ClusterRole{
				clusterRole("view", nil, []map[string]string{agg("view")}),
				clusterRole("pods-view", agg("view"), nil, getPods),
				clusterRole("deploy-view", agg("view"), nil, getDeploy),
				clusterRole("unrelated", agg("edit"), nil, listSecrets),
			},
			role: "view", want: []string{"deployments", "pods"},
		},
		"rules already present are kept, duplicates dropped": {
			roles: []rbacv1.ClusterRole{
				clusterRole("view", nil, []map[string]string{agg("view")}, getPods),
				clusterRole("pods-view", agg("view"), nil, getPods),
				clusterRole("deploy-view", agg("view"), nil, getDeploy),
			},
			role: "view", want: []string{"pods", "deployments"},
		},
		"chain: admin aggregates edit aggregates view": {
			roles: []rbacv1.ClusterRole{
				clusterRole("admin", nil, []map[string]string{agg("admin")}),
				clusterRole("edit", agg("admin"), []map[string]string{agg("edit")}),
				clusterRole("view", agg("edit"), []map[string]string{agg("view")}),
				clusterRole("pods-view", agg("view"), nil, getPods),
				clusterRole("secrets-edit", agg("edit"), nil, listSecrets),
			},
			role: "admin", want: []string{"pods", "secrets"},
		},
		"any of several selectors": {
			roles: []rbacv1.ClusterRole{
				clusterRole("both", nil, []map[string]string{agg("a"), agg("b")}),
				clusterRole("ra", agg("a"), nil, getPods),
				clusterRole("rb", agg("b"), nil, getDeploy),
			},
			role: "both", want: []string{"pods", "deployments"},
		},
		"cycle terminates and sees every member": {
			roles: []rbacv1.ClusterRole{
				clusterRole("x", agg("z"), []map[string]string{agg("x")}, getPods),
				clusterRole("y", agg("x"), []map[string]string{agg("y")}, getDeploy),
				clusterRole("z", agg("y"), []map[string]string{agg("z")}, listSecrets),
			},
			role: "z", want: []string{"secrets", "pods", "deployments"},
		},
		"a role does not aggregate itself": {
			roles: []rbacv1.ClusterRole{clusterRole("self", agg("s"), []map[string]string{agg("s")}, getPods)},
			role:  "self", want: []string{"pods"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ix := NewIndex(Snapshot{ClusterRoles: tc.roles, ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("b", tc.role, usr("alice"))}})
			var got []string
			for _, g := range ix.Grants(alice, nil) {
				got = append(got, g.Rule.Resources...)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestSubjects(t *testing.T) {
	ix := NewIndex(Snapshot{
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{
			crb("a", "x", usr("alice"), grp("devs"), sa("kube-system", "ctrl"), sa("", "nowhere")),
			crb("b", "x", usr("alice")),
		},
		RoleBindings: []rbacv1.RoleBinding{
			rb("shop", "dormant", "Role", "x", sa("", "batch")),
			rb("shop", "other", "Role", "x", sa("shop", "batch"), rbacv1.Subject{Kind: "Unknown", Name: "?"}),
		},
	})
	assert.Equal(t, []v1alpha1.Subject{
		{Kind: v1alpha1.SubjectKindGroup, Name: "devs"},
		{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "kube-system", Name: "ctrl"},
		{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "shop", Name: "batch"},
		{Kind: v1alpha1.SubjectKindUser, Name: "alice"},
	}, ix.Subjects())
}

func TestIndexDoesNotAliasSnapshot(t *testing.T) {
	cr := clusterRole("r", nil, nil, rule([]string{""}, []string{"pods"}, []string{"get"}))
	snap := Snapshot{ClusterRoles: []rbacv1.ClusterRole{cr}, ClusterRoleBindings: []rbacv1.ClusterRoleBinding{crb("b", "r", usr("alice"))}}
	ix := NewIndex(snap)
	snap.ClusterRoles[0].Rules[0].Resources[0] = "secrets"
	assert.Equal(t, []string{"pods"}, ix.Grants(alice, nil)[0].Rule.Resources)
}

// The cluster's own default bindings for every ServiceAccount are baseline;
// a binding someone made for every ServiceAccount is scored.
func TestDefaultBindingsForEveryServiceAccountAreBaseline(t *testing.T) {
	made := crb("all-sa", "secret-lister", grp("system:serviceaccounts"))
	builtin := crb("system:service-account-issuer-discovery", "secret-lister", grp("system:serviceaccounts"))
	builtin.Labels = map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"}
	ix := NewIndex(Snapshot{
		ClusterRoles:        []rbacv1.ClusterRole{clusterRole("secret-lister", nil, nil, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list"}})},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{made, builtin},
	})
	baseline := map[string]bool{}
	for _, g := range ix.Grants(v1alpha1.Subject{Kind: v1alpha1.SubjectKindServiceAccount, Namespace: "shop", Name: "web"}, nil) {
		baseline[g.Binding.Name] = g.Baseline
	}
	assert.Equal(t, map[string]bool{"all-sa": false, "system:service-account-issuer-discovery": true}, baseline)
}
