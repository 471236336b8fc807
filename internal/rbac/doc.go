// Package rbac owns a subject's effective permissions as live RBAC grants them:
// from plain lists of ClusterRoles, Roles, ClusterRoleBindings and RoleBindings
// (the controller passes its informer caches) it resolves aggregated
// ClusterRoles even where no controller filled them, matches binding subjects
// the way Kubernetes' authorizer does (users by name, groups by membership,
// including the implicit system:authenticated and ServiceAccount groups), and
// returns each granted rule with the binding and namespace scope it comes from.
// It never talks to the API server: values in, values out.
package rbac
