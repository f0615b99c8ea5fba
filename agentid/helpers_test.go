package agentid_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/agentid/agentidtest"
)

// testAudience is the audience of every test token and verifier.
const testAudience = "api://orders"

// testNow is the fixed time of tests that control the clock.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixedClock returns a clock that reads *now; the pointer lets a test
// move time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testIssuer is a minimal OpenID Connect issuer whose keys the test
// holds, so that it can sign any header and claims, valid or not. It
// counts the requests for its JWKS.
type testIssuer struct {
	srv      *httptest.Server
	rsaKey   *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
	rsaKid   string
	ecKid    string
	jwksHits atomic.Int64

	mu   sync.Mutex // guards keys
	keys []map[string]any
}

// newTestIssuer starts a testIssuer with a fresh RSA-2048 key (no JWK
// alg, so it verifies RS* and PS*) and a P-256 key (JWK alg ES256).
func newTestIssuer(tb testing.TB) *testIssuer {
	tb.Helper()
	ti := &testIssuer{rsaKey: mustRSAKey(tb), ecKey: mustECKey(tb)}
	ti.rsaKid = "rsa-" + rand.Text()[:8]
	ti.ecKid = "ec-" + rand.Text()[:8]
	ti.keys = []map[string]any{
		rsaJWK(&ti.rsaKey.PublicKey, ti.rsaKid, ""),
		ecJWK(&ti.ecKey.PublicKey, ti.ecKid, "ES256"),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"issuer": ti.Issuer(), "jwks_uri": ti.JWKSURL()})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		ti.jwksHits.Add(1)
		ti.mu.Lock()
		keys := ti.keys
		ti.mu.Unlock()
		w.Header().Set("Cache-Control", "no-cache")
		writeJSON(w, map[string]any{"keys": keys})
	})
	ti.srv = httptest.NewServer(mux)
	tb.Cleanup(ti.srv.Close)
	return ti
}

func (ti *testIssuer) Issuer() string  { return ti.srv.URL }
func (ti *testIssuer) JWKSURL() string { return ti.srv.URL + "/jwks" }

// setKeys replaces the published JWKS keys.
func (ti *testIssuer) setKeys(keys ...map[string]any) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.keys = keys
}

// claims returns valid claims at now, with overrides applied (a nil
// value deletes the claim).
func (ti *testIssuer) claims(now time.Time, overrides map[string]any) map[string]any {
	c := map[string]any{
		"iss":   ti.Issuer(),
		"aud":   testAudience,
		"sub":   "agent-sp-oid",
		"azp":   "agent-app-id",
		"idtyp": "app",
		"iat":   now.Unix(),
		"nbf":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
		"jti":   "jti-1",
	}
	for k, v := range overrides {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// token signs claims with the issuer's key for alg, under a header of
// alg, kid (of that key) and typ JWT, with extra header fields merged
// (a nil value deletes the field).
func (ti *testIssuer) token(tb testing.TB, alg string, claims map[string]any, extra map[string]any) string {
	tb.Helper()
	kid := ti.rsaKid
	if alg == "ES256" {
		kid = ti.ecKid
	}
	hdr := map[string]any{"alg": alg, "kid": kid, "typ": "JWT"}
	for k, v := range extra {
		if v == nil {
			delete(hdr, k)
		} else {
			hdr[k] = v
		}
	}
	var key crypto.Signer = ti.rsaKey
	if alg == "ES256" {
		key = ti.ecKey
	}
	return signJWT(tb, hdr, claims, alg, key)
}

// signJWT returns a compact JWS of hdr and claims, signed by hand with
// key for alg ("none" gives an empty signature; HS256 takes the HMAC key
// as the []byte in hmacKey).
func signJWT(tb testing.TB, hdr, claims map[string]any, alg string, key crypto.Signer) string {
	tb.Helper()
	input := segment(tb, hdr) + "." + segment(tb, claims)
	return input + "." + base64.RawURLEncoding.EncodeToString(signature(tb, input, alg, key, nil))
}

// signature signs input for alg.
func signature(tb testing.TB, input, alg string, key crypto.Signer, hmacKey []byte) []byte {
	tb.Helper()
	digest := sha256.Sum256([]byte(input))
	switch alg {
	case "none":
		return nil
	case "HS256":
		m := hmac.New(sha256.New, hmacKey)
		m.Write([]byte(input))
		return m.Sum(nil)
	case "RS256":
		sig, err := rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, digest[:])
		if err != nil {
			tb.Fatal(err)
		}
		return sig
	case "PS256":
		sig, err := rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, digest[:],
			&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			tb.Fatal(err)
		}
		return sig
	case "ES256":
		r, s, err := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), digest[:])
		if err != nil {
			tb.Fatal(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig
	}
	tb.Fatalf("signature: unsupported alg %q", alg)
	return nil
}

// segment returns v as JSON in base64url.
func segment(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func mustRSAKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func mustECKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// rsaJWK is the public JWK of k; alg is left out when empty.
func rsaJWK(k *rsa.PublicKey, kid, alg string) map[string]any {
	m := map[string]any{
		"kty": "RSA", "kid": kid, "use": "sig",
		"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes()),
	}
	if alg != "" {
		m["alg"] = alg
	}
	return m
}

// ecJWK is the public JWK of a P-256 key; alg is left out when empty.
func ecJWK(k *ecdsa.PublicKey, kid, alg string) map[string]any {
	raw, err := k.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	m := map[string]any{
		"kty": "EC", "kid": kid, "use": "sig", "crv": "P-256",
		"x": b64(raw[1:33]), "y": b64(raw[33:]),
	}
	if alg != "" {
		m["alg"] = alg
	}
	return m
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// newVerifier returns a Verifier for ti with the test audience, closed
// when the test ends.
func newVerifier(tb testing.TB, issuer string, opts ...agentid.VerifierOption) *agentid.Verifier {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := agentid.NewVerifier(ctx, issuer, append([]agentid.VerifierOption{agentid.WithAudience(testAudience)}, opts...)...)
	if err != nil {
		tb.Fatalf("NewVerifier(%q) = %v", issuer, err)
	}
	tb.Cleanup(func() {
		if err := v.Close(); err != nil {
			tb.Errorf("Close() = %v", err)
		}
	})
	return v
}

// newAuthority starts a local authority for the test tenant.
func newAuthority(tb testing.TB, opts ...agentidtest.Option) *agentidtest.Authority {
	tb.Helper()
	return agentidtest.NewAuthority(tb, append([]agentidtest.Option{agentidtest.WithTenantID(testTenant)}, opts...)...)
}

// merge returns a copy of base with over applied.
func merge(base, over map[string]any) map[string]any {
	m := maps.Clone(base)
	maps.Copy(m, over)
	return m
}

// checkOf returns the Check of err, or 0 if err is not a *VerifyError.
func checkOf(err error) agentid.Check {
	if ve, ok := errors.AsType[*agentid.VerifyError](err); ok {
		return ve.Check
	}
	return 0
}
