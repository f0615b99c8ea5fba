package agentid_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid"
)

func TestTokenCache(t *testing.T) {
	ti := newTestIssuer(t)
	clk := newFakeClock(testNow)
	v := newVerifier(t, ti.Issuer(), agentid.WithClock(clk.Now), agentid.WithTokenCache(4))
	ctx := context.Background()
	tok := ti.token(t, "RS256", ti.claims(testNow, map[string]any{"exp": testNow.Add(10 * time.Minute).Unix()}), nil)

	p1, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatalf("Verify() = %v", err)
	}
	p2, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatalf("Verify() again = %v", err)
	}
	if p1 != p2 {
		t.Errorf("Verify() again returned another Principal: want the cached one")
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = v.Verify(ctx, tok) }); allocs != 0 {
		t.Errorf("Verify() of a cached token: %v allocs, want 0", allocs)
	}

	// A different token with the same claims is not a hit.
	other := ti.token(t, "ES256", ti.claims(testNow, nil), nil)
	p3, err := v.Verify(ctx, other)
	if err != nil || p3 == p1 {
		t.Errorf("Verify(other token) = %p, %v; want a new Principal", p3, err)
	}

	// The entry expires at the token's exp: past it (and past the
	// leeway) the token is verified again, and rejected.
	clk.Advance(10*time.Minute + 2*time.Minute)
	if _, err := v.Verify(ctx, tok); !errors.Is(err, agentid.ErrTokenExpired) {
		t.Errorf("Verify(cached token past exp) = %v, want ErrTokenExpired", err)
	}

	// The cache is bounded.
	for i := range 20 {
		tok := ti.token(t, "ES256", ti.claims(clk.Now(), map[string]any{"jti": strconv.Itoa(i)}), nil)
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("Verify(token %d) = %v", i, err)
		}
	}
	if n := v.CacheLen(); n > 4 {
		t.Errorf("cache holds %d tokens, want at most 4", n)
	}
}

// TestTokenCacheWithinLeeway: a token verified within the exp leeway is
// not cached (its exp is past), so it is checked again each time.
func TestTokenCacheWithinLeeway(t *testing.T) {
	ti := newTestIssuer(t)
	v := newVerifier(t, ti.Issuer(), agentid.WithClock(func() time.Time { return testNow }), agentid.WithTokenCache(4))
	tok := ti.token(t, "RS256", ti.claims(testNow, map[string]any{"exp": testNow.Add(-30 * time.Second).Unix()}), nil)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("Verify() = %v", err)
	}
	if n := v.CacheLen(); n != 0 {
		t.Errorf("cache holds %d tokens, want 0", n)
	}
}
