package bench_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/agentid/agentidtest"
)

const audience = "api://orders"

// fixture is one authority, one token of it, and both verifiers set up
// alike: the same issuer, audience, algorithm allowlist and leeway, exp
// required, the key chosen by kid.
type fixture struct {
	token    string
	passport *agentid.Verifier
	gjwt     *jwt.Parser
	keyfunc  jwt.Keyfunc
}

// agentClaims are, for golang-jwt, the claims agentid decodes: the
// registered ones and those of an Entra agent token.
type agentClaims struct {
	jwt.RegisteredClaims
	Azp       string    `json:"azp"`
	AppID     string    `json:"appid"`
	ClientID  string    `json:"client_id"`
	Idtyp     string    `json:"idtyp"`
	Oid       string    `json:"oid"`
	Tid       string    `json:"tid"`
	Uti       string    `json:"uti"`
	Upn       string    `json:"upn"`
	Scp       string    `json:"scp"`
	Scope     string    `json:"scope"`
	Roles     []string  `json:"roles"`
	Blueprint string    `json:"xms_par_app_azp"`
	ActFct    string    `json:"xms_act_fct"`
	SubFct    string    `json:"xms_sub_fct"`
	Act       *actClaim `json:"act"`
}

type actClaim struct {
	Sub string    `json:"sub"`
	Act *actClaim `json:"act"`
}

func newFixture(tb testing.TB, alg string) *fixture {
	tb.Helper()
	a := agentidtest.NewAuthority(tb, agentidtest.WithTenantID("contoso"), agentidtest.WithSigningAlgorithm(alg))
	now := time.Now()
	tok, err := a.IssueToken(map[string]any{
		"iss": a.Issuer(), "aud": audience, "tid": a.TenantID(), "ver": "2.0",
		"iat": now, "nbf": now, "exp": now.Add(time.Hour),
		"idtyp": "app", "azp": "a9a9a9a9-0000-4000-8000-000000000002", "appid": "a9a9a9a9-0000-4000-8000-000000000002",
		"oid": "5b5b5b5b-0000-4000-8000-000000000003", "sub": "5b5b5b5b-0000-4000-8000-000000000003",
		"xms_par_app_azp": "b1b1b1b1-0000-4000-8000-000000000001", "xms_act_fct": "11", "xms_sub_fct": "11",
		"roles": []string{"Orders.Read", "Orders.Write"}, "uti": "uti-0000000000000001",
	})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := agentid.NewVerifier(ctx, a.Issuer(), agentid.WithAudience(audience), agentid.WithAlgorithms(alg))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = v.Close() })

	set, err := jwk.Fetch(ctx, a.JWKSURL())
	if err != nil {
		tb.Fatal(err)
	}
	keys := map[string]any{}
	for i := range set.Len() {
		k, _ := set.Key(i)
		kid, _ := k.KeyID()
		var raw any
		if err := jwk.Export(k, &raw); err != nil {
			tb.Fatal(err)
		}
		keys[kid] = raw
	}
	return &fixture{
		token:    tok,
		passport: v,
		gjwt: jwt.NewParser(
			jwt.WithValidMethods([]string{alg}),
			jwt.WithIssuer(a.Issuer()),
			jwt.WithAudience(audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(time.Minute),
		),
		keyfunc: func(t *jwt.Token) (any, error) {
			kid, _ := t.Header["kid"].(string)
			if k, ok := keys[kid]; ok {
				return k, nil
			}
			return nil, errors.New("unknown kid")
		},
	}
}

func (f *fixture) verifyGolangJWT(token string) (*agentClaims, error) {
	var c agentClaims
	if _, err := f.gjwt.ParseWithClaims(token, &c, f.keyfunc); err != nil {
		return nil, err
	}
	return &c, nil
}

// BenchmarkVerify compares agentid.Verifier with golang-jwt/v5 on the
// same token and key, and measures a hit of agentid's token cache.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	for _, alg := range []string{"RS256", "ES256"} {
		f := newFixture(b, alg)
		b.Run(alg+"/passport", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.passport.Verify(ctx, f.token); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/golang-jwt", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.verifyGolangJWT(f.token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}

	f := newFixture(b, "RS256")
	v, err := agentid.NewVerifier(ctx, f.passport.Issuer(), agentid.WithAudience(audience), agentid.WithTokenCache(1000))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = v.Close() })
	if _, err := v.Verify(ctx, f.token); err != nil {
		b.Fatal(err)
	}
	b.Run("cached/passport", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ctx, f.token); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestSameVerdicts: both verifiers accept the benchmark token and read
// the same identity from it, and both reject it once tampered with, so
// the benchmark compares verifications that really verify.
func TestSameVerdicts(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t, alg)
			p, err := f.passport.Verify(context.Background(), f.token)
			if err != nil {
				t.Fatalf("passport: Verify() = %v", err)
			}
			c, err := f.verifyGolangJWT(f.token)
			if err != nil {
				t.Fatalf("golang-jwt: Parse() = %v", err)
			}
			if p.AgentID != c.Azp || p.BlueprintID != c.Blueprint || p.Subject != c.Subject {
				t.Errorf("identities differ: passport %v, golang-jwt %+v", p, c)
			}

			for name, bad := range map[string]string{
				"bad signature":   tamperSignature(f.token),
				"swapped payload": swapPayload(t, f.token),
			} {
				if _, err := f.passport.Verify(context.Background(), bad); err == nil {
					t.Errorf("passport accepts a token with a %s", name)
				}
				if _, err := f.verifyGolangJWT(bad); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
					t.Errorf("golang-jwt: Parse(token with a %s) = %v, want ErrTokenSignatureInvalid", name, err)
				}
			}
		})
	}
}

// tamperSignature flips bits in the middle of the signature.
func tamperSignature(tok string) string {
	i := strings.LastIndexByte(tok, '.') + 10
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

// swapPayload replaces the payload with another valid claims set.
func swapPayload(tb testing.TB, tok string) string {
	parts := strings.Split(tok, ".")
	var claims map[string]any
	raw, err := jwt.NewParser().DecodeSegment(parts[1])
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		tb.Fatal(err)
	}
	claims["roles"] = []string{"Orders.Admin"}
	b, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}
