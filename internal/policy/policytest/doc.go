// Package policytest helps tests check rendered RBAC the way the API server
// would: it parses a suggested manifest back into typed rbac/v1 objects and
// decides, with Kubernetes' own rule-matching code, whether those objects let
// a subject make an observed request. It is for tests only.
package policytest
