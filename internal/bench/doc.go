// Package bench compares the token verification of package agentid with
// github.com/golang-jwt/jwt/v5 on the same tokens and keys, in the same
// run. It is a nested module so that golang-jwt stays out of the main
// module's dependencies; it holds benchmarks and tests only.
//
//	cd internal/bench && go test -run='^$' -bench=BenchmarkVerify -count=5 .
package bench
