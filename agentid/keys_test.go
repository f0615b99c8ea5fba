package agentid_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid"
)

// TestVerifyUnknownKidFlood: a flood of tokens with random kids makes the
// Verifier fetch the JWKS at most once per key refresh interval.
func TestVerifyUnknownKidFlood(t *testing.T) {
	ti := newTestIssuer(t)
	clk := newFakeClock(testNow)
	v := newVerifier(t, ti.Issuer(), agentid.WithClock(clk.Now), agentid.WithKeyRefreshInterval(time.Minute))
	if n := ti.jwksHits.Load(); n != 1 {
		t.Fatalf("JWKS fetches after NewVerifier = %d, want 1", n)
	}
	attacker := mustRSAKey(t)
	flood := func() {
		t.Helper()
		var wg sync.WaitGroup
		for i := range 200 {
			kid := "random-" + rand.Text()
			tok := signJWT(t, map[string]any{"alg": "RS256", "kid": kid}, ti.claims(testNow, nil), "RS256", attacker)
			wg.Go(func() {
				_, err := v.Verify(context.Background(), tok)
				if !errors.Is(err, agentid.ErrUnknownKey) || checkOf(err) != agentid.CheckKey {
					t.Errorf("Verify(random kid %d) = %v, want ErrUnknownKey", i, err)
				}
			})
		}
		wg.Wait()
	}

	flood()
	if n := ti.jwksHits.Load(); n != 2 {
		t.Errorf("JWKS fetches after the first flood = %d, want 2", n)
	}
	clk.Advance(30 * time.Second)
	flood()
	if n := ti.jwksHits.Load(); n != 2 {
		t.Errorf("JWKS fetches after a second flood within the interval = %d, want 2", n)
	}
	clk.Advance(31 * time.Second)
	flood()
	if n := ti.jwksHits.Load(); n != 3 {
		t.Errorf("JWKS fetches after a flood in the next interval = %d, want 3", n)
	}
}

// TestVerifyKeyRotation: a token signed with a new key verifies after one
// refresh; once the old key leaves the JWKS, the old token is refused,
// even from the token cache.
func TestVerifyKeyRotation(t *testing.T) {
	ti := newTestIssuer(t)
	clk := newFakeClock(testNow)
	v := newVerifier(t, ti.Issuer(), agentid.WithClock(clk.Now), agentid.WithTokenCache(100))
	ctx := context.Background()
	oldTok := ti.token(t, "RS256", ti.claims(testNow, nil), nil)
	if _, err := v.Verify(ctx, oldTok); err != nil {
		t.Fatalf("Verify(old token) = %v", err)
	}

	// Rotate: a new key only.
	newKey := mustRSAKey(t)
	ti.setKeys(rsaJWK(&newKey.PublicKey, "rotated", "RS256"))
	newTok := signJWT(t, map[string]any{"alg": "RS256", "kid": "rotated"}, ti.claims(testNow, nil), "RS256", newKey)
	if _, err := v.Verify(ctx, newTok); err != nil {
		t.Fatalf("Verify(token of the new key) = %v", err)
	}
	if _, err := v.Verify(ctx, oldTok); !errors.Is(err, agentid.ErrUnknownKey) {
		t.Errorf("Verify(old token after its key left the JWKS) = %v, want ErrUnknownKey", err)
	}
}

// TestVerifyAgainstAuthorityRotation runs rotation against the local
// authority.
func TestVerifyAgainstAuthorityRotation(t *testing.T) {
	a := newAuthority(t)
	v := newVerifier(t, a.Issuer())
	ctx := context.Background()
	iat := time.Now()
	before := issueAgentToken(t, a, tokenAutonomous, iat)
	if _, err := v.Verify(ctx, before); err != nil {
		t.Fatalf("Verify(before rotation) = %v", err)
	}
	a.RotateKeys()
	after := issueAgentToken(t, a, tokenAutonomous, iat)
	if _, err := v.Verify(ctx, after); err != nil {
		t.Fatalf("Verify(after rotation) = %v", err)
	}
	if _, err := v.Verify(ctx, before); err != nil {
		t.Errorf("Verify(before rotation, old key still published) = %v", err)
	}
}
