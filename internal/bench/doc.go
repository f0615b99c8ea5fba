// Package bench compares parts of the module with their peers on the
// same inputs, in the same run. It is a nested module so that the peers
// stay out of the main module's dependencies; it holds benchmarks and
// tests only.
//
//   - BenchmarkVerify: the token verification of package agentid and
//     github.com/golang-jwt/jwt/v5, on the same tokens and keys.
//   - BenchmarkDecide: the policy engine of package policy and the Open
//     Policy Agent (github.com/open-policy-agent/opa) with a prepared
//     query, on the same policies (Cedar, and their Rego translation)
//     and the same request; TestSameDecisions checks that the two
//     translations decide alike.
//
// Run them from this directory:
//
//	go test -run='^$' -bench=BenchmarkVerify -count=5 .
//	go test -run='^$' -bench=BenchmarkDecide -count=5 .
package bench
