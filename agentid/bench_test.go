package agentid_test

import (
	"context"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/agentid/agentidtest"
)

// BenchmarkVerify measures Verify on an Entra-shaped autonomous agent
// token of the local authority: a full verification for RS256 and
// ES256, and a hit of the verified-token cache. The comparison with
// golang-jwt/v5 on the same token lives in the internal/bench module.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	for _, alg := range []string{"RS256", "ES256"} {
		a := newAuthority(b, agentidtest.WithSigningAlgorithm(alg))
		v := newVerifier(b, a.Issuer())
		tok := issueAgentToken(b, a, tokenAutonomous, time.Now())
		b.Run(alg+"/passport", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}

	a := newAuthority(b)
	v := newVerifier(b, a.Issuer(), agentid.WithTokenCache(1000))
	tok := issueAgentToken(b, a, tokenAutonomous, time.Now())
	if _, err := v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.Run("cached/passport", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached-parallel/passport", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
