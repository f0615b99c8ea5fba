package agentid_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid"
)

// TestVerifyAttacks is the JWT attack table: each token is rejected with
// the check and sentinel that name the attack.
func TestVerifyAttacks(t *testing.T) {
	ti := newTestIssuer(t)
	other := newTestIssuer(t) // another issuer, whose RSA key we give ti's kid
	attacker := mustRSAKey(t)
	attackerKid := "attacker-key"

	// The attacker's own key server: the verifier must never call it.
	var attackerHits atomic.Int64
	attackerSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attackerHits.Add(1)
		writeJSON(w, map[string]any{"keys": []any{rsaJWK(&attacker.PublicKey, attackerKid, "RS256")}})
	}))
	t.Cleanup(attackerSrv.Close)

	v := newVerifier(t, ti.Issuer(), agentid.WithClock(func() time.Time { return testNow }))
	valid := ti.claims(testNow, nil)
	rsaHeader := func(extra map[string]any) map[string]any {
		return merge(map[string]any{"alg": "RS256", "kid": ti.rsaKid, "typ": "JWT"}, extra)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&ti.rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hmacToken := func(key []byte) string {
		input := segment(t, rsaHeader(map[string]any{"alg": "HS256"})) + "." + segment(t, valid)
		return input + "." + b64(signature(t, input, "HS256", nil, key))
	}
	good := ti.token(t, "RS256", valid, nil)
	hdrSeg, rest, _ := strings.Cut(good, ".")
	paySeg, sigSeg, _ := strings.Cut(rest, ".")

	tests := []struct {
		name  string
		token string
		check agentid.Check
		err   error
	}{
		// Algorithm confusion.
		{
			name:  "alg none, empty signature",
			token: segment(t, rsaHeader(map[string]any{"alg": "none"})) + "." + segment(t, valid) + ".",
			check: agentid.CheckAlgorithm, err: agentid.ErrAlgorithm,
		},
		{
			name:  "alg none over a real signature",
			token: segment(t, rsaHeader(map[string]any{"alg": "none"})) + "." + paySeg + "." + sigSeg,
			check: agentid.CheckAlgorithm, err: agentid.ErrAlgorithm,
		},
		{
			name:  "alg None (case variant)",
			token: segment(t, rsaHeader(map[string]any{"alg": "None"})) + "." + segment(t, valid) + ".",
			check: agentid.CheckAlgorithm, err: agentid.ErrAlgorithm,
		},
		{
			name:  "no alg",
			token: ti.token(t, "RS256", valid, map[string]any{"alg": nil}),
			check: agentid.CheckAlgorithm, err: agentid.ErrAlgorithm,
		},
		{
			name:  "HS256 signed with the RSA public key PEM",
			token: hmacToken(pubPEM),
			check: agentid.CheckAlgorithm, err: agentid.ErrAlgorithm,
		},
		{
			name:  "HS256 signed with the RSA public key DER",
			token: hmacToken(pubDER),
			check: agentid.CheckAlgorithm, err: agentid.ErrAlgorithm,
		},
		{
			name:  "alg not in the allowlist (RS512)",
			token: signJWT(t, rsaHeader(map[string]any{"alg": "RS512"}), valid, "RS256", ti.rsaKey),
			check: agentid.CheckAlgorithm, err: agentid.ErrAlgorithm,
		},
		{
			name:  "alg of another key type (RS256 with the EC key's kid)",
			token: signJWT(t, rsaHeader(map[string]any{"kid": ti.ecKid}), valid, "RS256", ti.rsaKey),
			check: agentid.CheckAlgorithm, err: agentid.ErrAlgorithm,
		},
		// Key selection.
		{
			name:  "wrong kid",
			token: signJWT(t, rsaHeader(map[string]any{"kid": "no-such-kid"}), valid, "RS256", attacker),
			check: agentid.CheckKey, err: agentid.ErrUnknownKey,
		},
		{
			name:  "no kid",
			token: signJWT(t, rsaHeader(map[string]any{"kid": nil}), valid, "RS256", ti.rsaKey),
			check: agentid.CheckKey, err: agentid.ErrUnknownKey,
		},
		{
			name:  "jku pointing at an attacker key",
			token: signJWT(t, rsaHeader(map[string]any{"kid": attackerKid, "jku": attackerSrv.URL}), valid, "RS256", attacker),
			check: agentid.CheckKey, err: agentid.ErrUnknownKey,
		},
		{
			name:  "x5u pointing at an attacker key",
			token: signJWT(t, rsaHeader(map[string]any{"kid": attackerKid, "x5u": attackerSrv.URL}), valid, "RS256", attacker),
			check: agentid.CheckKey, err: agentid.ErrUnknownKey,
		},
		{
			name:  "embedded jwk of an attacker key",
			token: signJWT(t, rsaHeader(map[string]any{"kid": attackerKid, "jwk": rsaJWK(&attacker.PublicKey, attackerKid, "RS256")}), valid, "RS256", attacker),
			check: agentid.CheckKey, err: agentid.ErrUnknownKey,
		},
		{
			name:  "embedded jwk of an attacker key, with the issuer's kid",
			token: signJWT(t, rsaHeader(map[string]any{"jwk": rsaJWK(&attacker.PublicKey, ti.rsaKid, "RS256")}), valid, "RS256", attacker),
			check: agentid.CheckSignature, err: agentid.ErrInvalidSignature,
		},
		{
			name:  "x5c of an attacker certificate, with the issuer's kid",
			token: signJWT(t, rsaHeader(map[string]any{"x5c": []string{attackerCert(t, attacker)}}), valid, "RS256", attacker),
			check: agentid.CheckSignature, err: agentid.ErrInvalidSignature,
		},
		{
			name:  "valid signature of another issuer with the same kid",
			token: signJWT(t, rsaHeader(nil), other.claims(testNow, nil), "RS256", other.rsaKey),
			check: agentid.CheckSignature, err: agentid.ErrInvalidSignature,
		},
		{
			name:  "another issuer's claims signed with the same kid, iss rewritten",
			token: signJWT(t, rsaHeader(nil), valid, "RS256", other.rsaKey),
			check: agentid.CheckSignature, err: agentid.ErrInvalidSignature,
		},
		{
			name:  "signature cut short",
			token: shortSignature(t, good),
			check: agentid.CheckSignature, err: agentid.ErrInvalidSignature,
		},
		{
			name:  "payload swapped under a valid signature",
			token: hdrSeg + "." + segment(t, merge(valid, map[string]any{"roles": []string{"Admin"}})) + "." + sigSeg,
			check: agentid.CheckSignature, err: agentid.ErrInvalidSignature,
		},
		// Header rules, with valid signatures.
		{
			name:  "crit with an unknown header",
			token: ti.token(t, "RS256", valid, map[string]any{"crit": []string{"urn:example:must"}, "urn:example:must": true}),
			check: agentid.CheckHeader, err: agentid.ErrUnsupportedHeader,
		},
		{
			name:  "empty crit",
			token: ti.token(t, "RS256", valid, map[string]any{"crit": []string{}}),
			check: agentid.CheckHeader, err: agentid.ErrUnsupportedHeader,
		},
		{
			name:  "b64 false",
			token: ti.token(t, "RS256", valid, map[string]any{"b64": false, "crit": nil}),
			check: agentid.CheckHeader, err: agentid.ErrUnsupportedHeader,
		},
		{
			name:  "nested JWT (cty JWT)",
			token: ti.token(t, "RS256", valid, map[string]any{"cty": "JWT"}),
			check: agentid.CheckHeader, err: agentid.ErrUnsupportedHeader,
		},
		{
			name:  "JWE header fields",
			token: ti.token(t, "RS256", valid, map[string]any{"enc": "A256GCM"}),
			check: agentid.CheckHeader, err: agentid.ErrUnsupportedHeader,
		},
		{
			name:  "typ of another kind of JWT",
			token: ti.token(t, "RS256", valid, map[string]any{"typ": "dpop+jwt"}),
			check: agentid.CheckHeader, err: agentid.ErrUnsupportedHeader,
		},
		// Claims, with valid signatures.
		{
			name:  "expired beyond leeway",
			token: ti.token(t, "RS256", merge(valid, map[string]any{"exp": testNow.Add(-61 * time.Second).Unix()}), nil),
			check: agentid.CheckExpiry, err: agentid.ErrTokenExpired,
		},
		{
			name:  "not yet valid beyond leeway",
			token: ti.token(t, "RS256", merge(valid, map[string]any{"nbf": testNow.Add(61 * time.Second).Unix()}), nil),
			check: agentid.CheckNotBefore, err: agentid.ErrTokenNotYetValid,
		},
		{
			name:  "issued in the future beyond leeway",
			token: ti.token(t, "RS256", merge(valid, map[string]any{"iat": testNow.Add(61 * time.Second).Unix(), "nbf": testNow.Unix()}), nil),
			check: agentid.CheckIssuedAt, err: agentid.ErrIssuedInFuture,
		},
		{
			name:  "wrong iss",
			token: ti.token(t, "RS256", merge(valid, map[string]any{"iss": other.Issuer()}), nil),
			check: agentid.CheckIssuer, err: agentid.ErrWrongIssuer,
		},
		{
			name:  "iss with a trailing slash",
			token: ti.token(t, "RS256", merge(valid, map[string]any{"iss": ti.Issuer() + "/"}), nil),
			check: agentid.CheckIssuer, err: agentid.ErrWrongIssuer,
		},
		{
			name:  "wrong aud",
			token: ti.token(t, "RS256", merge(valid, map[string]any{"aud": []string{"api://payments", "api://orders/"}}), nil),
			check: agentid.CheckAudience, err: agentid.ErrWrongAudience,
		},
		{
			name:  "missing exp",
			token: ti.token(t, "RS256", ti.claims(testNow, map[string]any{"exp": nil}), nil),
			check: agentid.CheckRequiredClaim, err: agentid.ErrMissingClaim,
		},
		{
			name:  "null exp",
			token: ti.token(t, "RS256", merge(valid, map[string]any{"exp": nil}), nil),
			check: agentid.CheckRequiredClaim, err: agentid.ErrMissingClaim,
		},
		{
			name:  "missing iss",
			token: ti.token(t, "RS256", ti.claims(testNow, map[string]any{"iss": nil}), nil),
			check: agentid.CheckRequiredClaim, err: agentid.ErrMissingClaim,
		},
		{
			name:  "missing aud",
			token: ti.token(t, "RS256", ti.claims(testNow, map[string]any{"aud": nil}), nil),
			check: agentid.CheckRequiredClaim, err: agentid.ErrMissingClaim,
		},
		// Size and shape.
		{
			name:  "oversized token",
			token: ti.token(t, "RS256", merge(valid, map[string]any{"pad": strings.Repeat("x", 16<<10)}), nil),
			check: agentid.CheckSize, err: agentid.ErrTokenTooLarge,
		},
		{name: "empty", token: "", check: agentid.CheckMalformed, err: agentid.ErrMalformedToken},
		{name: "garbage", token: "not a token", check: agentid.CheckMalformed, err: agentid.ErrMalformedToken},
		{name: "two segments", token: hdrSeg + "." + paySeg, check: agentid.CheckMalformed, err: agentid.ErrMalformedToken},
		{name: "four segments", token: good + "." + sigSeg, check: agentid.CheckMalformed, err: agentid.ErrMalformedToken},
		{name: "five segments (JWE)", token: hdrSeg + ".." + paySeg + "." + sigSeg + ".", check: agentid.CheckMalformed, err: agentid.ErrMalformedToken},
		{name: "signature dropped", token: hdrSeg + "." + paySeg + ".", check: agentid.CheckMalformed, err: agentid.ErrMalformedToken},
		{name: "empty header", token: "." + paySeg + "." + sigSeg, check: agentid.CheckMalformed, err: agentid.ErrMalformedToken},
		{name: "header not base64url", token: "!!!!." + paySeg + "." + sigSeg, check: agentid.CheckMalformed, err: agentid.ErrMalformedToken},
		{name: "header padded", token: b64pad(t, rsaHeader(nil)) + "." + paySeg + "." + sigSeg, check: agentid.CheckMalformed, err: agentid.ErrMalformedToken},
		{name: "header not JSON", token: b64([]byte("{alg:RS256}")) + "." + paySeg + "." + sigSeg, check: agentid.CheckMalformed, err: agentid.ErrMalformedToken},
		{name: "header a JSON array", token: b64([]byte(`["RS256"]`)) + "." + paySeg + "." + sigSeg, check: agentid.CheckMalformed, err: agentid.ErrMalformedToken},
		{name: "payload in the standard alphabet", token: hdrSeg + "." + stdAlphabet(paySeg) + "." + sigSeg, check: agentid.CheckMalformed, err: agentid.ErrMalformedToken},
		{name: "signature with stray bits", token: hdrSeg + "." + paySeg + "." + strayBits(sigSeg), check: agentid.CheckMalformed, err: agentid.ErrMalformedToken},
		{name: "truncated to a bad base64 length", token: badLength(good), check: agentid.CheckMalformed, err: agentid.ErrMalformedToken},
		{
			name:  "payload not JSON under a valid signature",
			token: signRaw(t, ti, segment(t, rsaHeader(nil))+"."+b64([]byte("not json"))),
			check: agentid.CheckMalformed, err: agentid.ErrMalformedToken,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.token)
			if err == nil {
				t.Fatalf("Verify() = %v, nil; want a %v error", p, tt.check)
			}
			if ve, ok := errors.AsType[*agentid.VerifyError](err); !ok || ve.Check != tt.check {
				t.Errorf("Verify() = %v (check %v), want check %v", err, checkOf(err), tt.check)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("Verify() = %v, want errors.Is %v", err, tt.err)
			}
			if tt.token != "" && (strings.Contains(err.Error(), tt.token) || strings.Contains(err.Error(), sigSeg)) {
				t.Errorf("Verify() error contains the token: %v", err)
			}
		})
	}
	if n := attackerHits.Load(); n != 0 {
		t.Errorf("the attacker's key server got %d requests, want 0", n)
	}
}

// TestVerifyAccepts: valid tokens of each allowed algorithm and header
// shape pass, and leeway applies.
func TestVerifyAccepts(t *testing.T) {
	ti := newTestIssuer(t)
	v := newVerifier(t, ti.Issuer(), agentid.WithClock(func() time.Time { return testNow }))
	valid := ti.claims(testNow, nil)
	tests := []struct {
		name   string
		alg    string
		claims map[string]any
		header map[string]any
	}{
		{name: "RS256", alg: "RS256"},
		{name: "PS256", alg: "PS256"},
		{name: "ES256", alg: "ES256"},
		{name: "no typ", alg: "RS256", header: map[string]any{"typ": nil}},
		{name: "typ at+jwt", alg: "RS256", header: map[string]any{"typ": "at+jwt"}},
		{name: "x5t and unknown headers ignored", alg: "RS256", header: map[string]any{"x5t": "abc", "x-custom": 1}},
		{name: "expired within leeway", alg: "RS256", claims: map[string]any{"exp": testNow.Add(-59 * time.Second).Unix()}},
		{name: "nbf within leeway", alg: "RS256", claims: map[string]any{"nbf": testNow.Add(59 * time.Second).Unix()}},
		{name: "iat within leeway", alg: "RS256", claims: map[string]any{"iat": testNow.Add(59 * time.Second).Unix()}},
		{name: "no nbf, no iat", alg: "RS256", claims: map[string]any{"nbf": nil, "iat": nil}},
		{name: "aud among several", alg: "ES256", claims: map[string]any{"aud": []string{"api://x", testAudience}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			if tt.claims != nil {
				c = ti.claims(testNow, tt.claims)
			}
			if _, err := v.Verify(context.Background(), ti.token(t, tt.alg, c, tt.header)); err != nil {
				t.Errorf("Verify() = %v, want nil", err)
			}
		})
	}
}

// TestVerifyOptions covers WithLeeway, WithRequiredClaims,
// WithMaxTokenSize, WithAlgorithms, WithoutAudienceCheck and WithJWKSURL.
func TestVerifyOptions(t *testing.T) {
	ti := newTestIssuer(t)
	clock := agentid.WithClock(func() time.Time { return testNow })
	ctx := context.Background()

	t.Run("leeway 0", func(t *testing.T) {
		v := newVerifier(t, ti.Issuer(), clock, agentid.WithLeeway(0))
		_, err := v.Verify(ctx, ti.token(t, "RS256", ti.claims(testNow, map[string]any{"exp": testNow.Unix()}), nil))
		if !errors.Is(err, agentid.ErrTokenExpired) {
			t.Errorf("Verify(exp = now) = %v, want ErrTokenExpired", err)
		}
	})
	t.Run("required claims", func(t *testing.T) {
		v := newVerifier(t, ti.Issuer(), clock, agentid.WithRequiredClaims("sub", "tid", "xms_custom"))
		for _, tc := range []struct {
			claims map[string]any
			ok     bool
		}{
			{map[string]any{"tid": "t", "xms_custom": 0}, true},
			{map[string]any{"tid": "t", "xms_custom": ""}, false},
			{map[string]any{"tid": "t", "xms_custom": nil}, false},
			{map[string]any{"xms_custom": true}, false},
			{map[string]any{"tid": "t", "xms_custom": 1, "sub": ""}, false},
		} {
			_, err := v.Verify(ctx, ti.token(t, "RS256", ti.claims(testNow, tc.claims), nil))
			if tc.ok && err != nil {
				t.Errorf("Verify(%v) = %v, want nil", tc.claims, err)
			}
			if !tc.ok && (checkOf(err) != agentid.CheckRequiredClaim || !errors.Is(err, agentid.ErrMissingClaim)) {
				t.Errorf("Verify(%v) = %v, want a CheckRequiredClaim error", tc.claims, err)
			}
		}
	})
	t.Run("max token size", func(t *testing.T) {
		v := newVerifier(t, ti.Issuer(), clock, agentid.WithMaxTokenSize(600))
		_, err := v.Verify(ctx, ti.token(t, "RS256", ti.claims(testNow, nil), nil))
		if !errors.Is(err, agentid.ErrTokenTooLarge) {
			t.Errorf("Verify(~700-byte token) = %v, want ErrTokenTooLarge", err)
		}
	})
	t.Run("algorithms", func(t *testing.T) {
		v := newVerifier(t, ti.Issuer(), clock, agentid.WithAlgorithms("ES256"))
		if _, err := v.Verify(ctx, ti.token(t, "ES256", ti.claims(testNow, nil), nil)); err != nil {
			t.Errorf("Verify(ES256) = %v", err)
		}
		if _, err := v.Verify(ctx, ti.token(t, "RS256", ti.claims(testNow, nil), nil)); checkOf(err) != agentid.CheckAlgorithm {
			t.Errorf("Verify(RS256) = %v, want CheckAlgorithm", err)
		}
	})
	t.Run("without audience check", func(t *testing.T) {
		v, err := agentid.NewVerifier(ctx, ti.Issuer(), clock, agentid.WithoutAudienceCheck())
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		if _, err := v.Verify(ctx, ti.token(t, "RS256", ti.claims(testNow, map[string]any{"aud": nil}), nil)); err != nil {
			t.Errorf("Verify(no aud) = %v, want nil", err)
		}
	})
	t.Run("static JWKS URL, no discovery", func(t *testing.T) {
		v := newVerifier(t, "https://issuer.example/", clock, agentid.WithJWKSURL(ti.JWKSURL()))
		c := ti.claims(testNow, map[string]any{"iss": "https://issuer.example/"})
		if _, err := v.Verify(ctx, ti.token(t, "RS256", c, nil)); err != nil {
			t.Errorf("Verify() = %v, want nil", err)
		}
	})
}

func TestNewVerifierErrors(t *testing.T) {
	ti := newTestIssuer(t)
	wrongIssuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"issuer": "https://elsewhere.example", "jwks_uri": ti.JWKSURL()})
	}))
	t.Cleanup(wrongIssuer.Close)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)

	aud := agentid.WithAudience(testAudience)
	tests := []struct {
		name   string
		issuer string
		opts   []agentid.VerifierOption
	}{
		{"no audience", ti.Issuer(), nil},
		{"audience and no audience check", ti.Issuer(), []agentid.VerifierOption{aud, agentid.WithoutAudienceCheck()}},
		{"empty audience", ti.Issuer(), []agentid.VerifierOption{agentid.WithAudience("")}},
		{"alg none", ti.Issuer(), []agentid.VerifierOption{aud, agentid.WithAlgorithms("none")}},
		{"alg HS256", ti.Issuer(), []agentid.VerifierOption{aud, agentid.WithAlgorithms("RS256", "HS256")}},
		{"no algorithm", ti.Issuer(), []agentid.VerifierOption{aud, agentid.WithAlgorithms()}},
		{"leeway too large", ti.Issuer(), []agentid.VerifierOption{aud, agentid.WithLeeway(6 * time.Minute)}},
		{"negative leeway", ti.Issuer(), []agentid.VerifierOption{aud, agentid.WithLeeway(-time.Second)}},
		{"size too small", ti.Issuer(), []agentid.VerifierOption{aud, agentid.WithMaxTokenSize(10)}},
		{"negative cache", ti.Issuer(), []agentid.VerifierOption{aud, agentid.WithTokenCache(-1)}},
		{"refresh interval too short", ti.Issuer(), []agentid.VerifierOption{aud, agentid.WithKeyRefreshInterval(time.Millisecond)}},
		{"empty required claim", ti.Issuer(), []agentid.VerifierOption{aud, agentid.WithRequiredClaims("")}},
		{"nil clock", ti.Issuer(), []agentid.VerifierOption{aud, agentid.WithClock(nil)}},
		{"empty issuer", "", []agentid.VerifierOption{aud}},
		{"plain http issuer off loopback", "http://issuer.example", []agentid.VerifierOption{aud}},
		{"plain http JWKS off loopback", ti.Issuer(), []agentid.VerifierOption{aud, agentid.WithJWKSURL("http://keys.example/jwks")}},
		{"discovery names another issuer", wrongIssuer.URL, []agentid.VerifierOption{aud}},
		{"discovery fails", broken.URL, []agentid.VerifierOption{aud}},
		{"JWKS fails", ti.Issuer(), []agentid.VerifierOption{aud, agentid.WithJWKSURL(broken.URL + "/jwks")}},
		{"no JWKS key for the algorithms", ti.Issuer(), []agentid.VerifierOption{aud, agentid.WithAlgorithms("EdDSA")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			v, err := agentid.NewVerifier(ctx, tt.issuer, tt.opts...)
			if err == nil {
				v.Close()
				t.Fatalf("NewVerifier() = %v, nil; want an error", v)
			}
			if !strings.HasPrefix(err.Error(), "agentid: ") {
				t.Errorf("NewVerifier() = %q, want the agentid: prefix", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("NewVerifier() took %v to fail", d)
			}
		})
	}
}

func TestVerifyConcurrentSafe(t *testing.T) {
	ti := newTestIssuer(t)
	v := newVerifier(t, ti.Issuer(), agentid.WithClock(func() time.Time { return testNow }), agentid.WithTokenCache(8))
	toks := make([]string, 16)
	for i := range toks {
		toks[i] = ti.token(t, "ES256", ti.claims(testNow, map[string]any{"jti": strconv.Itoa(i)}), nil)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				if _, err := v.Verify(context.Background(), toks[(g+i)%len(toks)]); err != nil {
					t.Errorf("Verify() = %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestVerifyAfterClose(t *testing.T) {
	ti := newTestIssuer(t)
	v, err := agentid.NewVerifier(context.Background(), ti.Issuer(), agentid.WithAudience(testAudience))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := v.Close(); err != nil {
		t.Fatalf("second Close() = %v", err)
	}
	if _, err := v.Verify(context.Background(), ti.token(t, "RS256", ti.claims(time.Now(), nil), nil)); !errors.Is(err, agentid.ErrClosed) {
		t.Errorf("Verify() after Close = %v, want ErrClosed", err)
	}
}

// b64pad is segment with '=' padding, which JWS forbids.
func b64pad(tb testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	if len(b)%3 == 0 {
		b = append(b, ' ') // JSON whitespace, so that the encoding needs padding
	}
	return base64.URLEncoding.EncodeToString(b)
}

// stdAlphabet rewrites a base64url segment in the standard alphabet.
func stdAlphabet(s string) string {
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	if !strings.ContainsAny(s, "+/") {
		s = "+" + s[1:]
	}
	return s
}

// strayBits sets unused low bits in the last character of a base64url
// segment: another encoding of the same bytes.
func strayBits(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(s)%4 == 0 {
		panic("strayBits: segment has no unused bits")
	}
	last := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[last|1])
}

// signRaw signs an already encoded "header.payload" with ti's RSA key.
func signRaw(tb testing.TB, ti *testIssuer, input string) string {
	return input + "." + b64(signature(tb, input, "RS256", ti.rsaKey, nil))
}

// attackerCert returns a self-signed certificate of key, base64 DER as in
// x5c.
func attackerCert(tb testing.TB, key *rsa.PrivateKey) string {
	tb.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "attacker"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// shortSignature re-encodes the first bytes of tok's signature: a
// well-formed segment that cannot verify.
func shortSignature(tb testing.TB, tok string) string {
	tb.Helper()
	i := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		tb.Fatal(err)
	}
	return tok[:i+1] + b64(sig[:len(sig)-8])
}

// badLength cuts tok's signature to a length no base64 encoding has.
func badLength(tok string) string {
	i := strings.LastIndexByte(tok, '.')
	for (len(tok)-i-1)%4 != 1 {
		tok = tok[:len(tok)-1]
	}
	return tok
}
